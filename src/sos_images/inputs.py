"""Input digest of a build: what reaches BuildKit, hashed, so an unchanged image is reported up to date without
a BuildKit request (as Skaffold's artifact cache and Nx's computation cache do).

Read from the BuildPlan's argv (Dockerfile, context, named contexts, target, platforms, build args, labels) and
the files each context sends under its .dockerignore rules, plus the local image ids of the base images the build
arguments name. Pure but for file reads; the engine is asked once per image (up_to_date).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .affected import parse_ignore
from .engine import Engine
from .plans import BuildOptions, BuildPlan

LABEL = "io.sos-app.inputs"
BASE_SUFFIX = "_IMAGE"  # GO_IMAGE, ALPINE_IMAGE, NODE_IMAGE: build args that name base images
VALUE_FLAGS = ("--file", "--target", "--tag")
NEUTRAL = (f"--label={LABEL}=", "--progress=")  # flags that do not change the image


@dataclass
class Argv:
    """A build argv read back: Dockerfile, target, contexts (name '' = the main one), the other flags."""

    file: str | None = None
    target: str = ""
    contexts: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


def parse(plan: BuildPlan) -> Argv:
    argv, found = list(plan.argv), Argv()
    i = 2 if argv[1:2] == ["build"] else 3
    while i < len(argv):
        arg = argv[i]
        key, eq, value = arg.partition("=")
        if key in VALUE_FLAGS and not eq:  # --file PATH
            value, i = argv[i + 1], i + 1
        if key in VALUE_FLAGS:
            if key != "--tag":
                setattr(found, key.lstrip("-"), value)
        elif key == "--build-context":
            name, _, path = value.partition("=")
            found.contexts[name] = path
        elif arg.startswith("--"):
            found.flags.append(arg)
        else:
            found.contexts[""] = arg
        i += 1
    return found


def _stable(flag: str) -> str:
    """An --output's dest is a per-process scratch file: the kind of output counts, not where it goes."""
    if not flag.startswith("--output="):
        return flag
    return ",".join(p for p in flag.removeprefix("--output=").split(",") if not p.startswith("dest="))


def ignore_rules(context: Path, dockerfile: Path | None) -> str:
    """BuildKit's choice: <Dockerfile>.dockerignore beside the Dockerfile, else .dockerignore in the context."""
    for candidate in ([dockerfile.parent / f"{dockerfile.name}.dockerignore"] if dockerfile else []) + [
        context / ".dockerignore"
    ]:
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    return ""


def context_files(context: Path, rules: str) -> Iterator[tuple[str, Path]]:
    """(relative path, file) of every file the context sends, in a stable order; excluded folders are pruned
    unless a '!' rule could bring something back."""
    matcher = parse_ignore(rules)
    exceptions = "!" in rules
    for top, dirs, files in os.walk(context):
        rel_top = Path(top).relative_to(context).as_posix()
        rel = "" if rel_top == "." else rel_top + "/"
        dirs.sort()
        if not exceptions:
            dirs[:] = [d for d in dirs if not matcher.matches(rel + d)]
        for name in sorted(files):
            if not matcher.matches(rel + name):
                yield rel + name, Path(top) / name


def digest(plan: BuildPlan, base_ids: Mapping[str, str]) -> str:
    """sha256 over everything that decides the image; the inputs label itself is left out."""
    parsed = parse(plan)
    h = hashlib.sha256()

    def add(*parts: str) -> None:
        h.update("\0".join(parts).encode() + b"\n")

    dockerfile = Path(parsed.file) if parsed.file else None
    add("target", parsed.target)
    for flag in sorted(_stable(f) for f in parsed.flags if not f.startswith(NEUTRAL)):
        add("flag", flag)
    contexts = parsed.contexts
    if dockerfile is None and "" in contexts:
        dockerfile = Path(contexts[""]) / "Dockerfile"
    if dockerfile is not None:
        add("dockerfile", h_bytes(dockerfile.read_bytes()))
    for name, base in sorted(base_ids.items()):
        add("base", name, base)
    for name, path in sorted(contexts.items()):
        root = Path(path)
        if not root.is_dir():  # docker-image://, target:, a URL: its reference is the input
            add("context-ref", name, path)
            continue
        rules = ignore_rules(root, dockerfile if name == "" else None)
        add("context", name, hashlib.sha256(rules.encode()).hexdigest())
        for rel, file in context_files(root, rules):
            add("file", name, rel, h_bytes(file.read_bytes()), oct(file.stat().st_mode & 0o111))
    return "sha256:" + h.hexdigest()


def h_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def base_images(plan: BuildPlan) -> dict[str, str]:
    """The base-image build args: name -> image reference."""
    return {k: v for k, v in plan.build_args if k.endswith(BASE_SUFFIX) and v}


def with_label(plan: BuildPlan, value: str) -> BuildPlan:
    """The plan with the inputs label before its context argument (last)."""
    argv = [*plan.argv[:-1], f"--label={LABEL}={value}", plan.argv[-1]]
    return replace(plan, argv=tuple(argv))


def labelled(options: BuildOptions, plan: BuildPlan) -> bool:
    """Only a plain local build carries the label: a release, an OCI archive or layout is a product whose digest
    a rebuild elsewhere (verify --reproduce) must match, and that rebuild knows no local image ids."""
    return not (options.release or options.oci_layout or plan.oci_archive)


def may_skip(options: BuildOptions, plan: BuildPlan) -> bool:
    return labelled(options, plan) and not (options.no_cache or options.rebuild)


def check(plan: BuildPlan, engine: Engine) -> tuple[BuildPlan, bool]:
    """The plan carrying its inputs label, and whether the local image already has that label (up to date).
    A base image missing locally counts as 'unknown' (BuildKit will pull or fail on its own)."""
    bases = {}
    for arg, ref in base_images(plan).items():
        data = engine.inspect_image(ref)
        bases[arg] = f"{ref}@{data['Id'] if data else 'unknown'}"
    value = digest(plan, bases)
    current = engine.inspect_image(plan.image) or {}
    labels = (current.get("Config") or {}).get("Labels") or {}
    return with_label(plan, value), labels.get(LABEL) == value
