"""Rebuilds checked against the registry: `verify --reproduce` (is the published image what this commit builds?)
and `publish --if-changed` (the weekly refresh of released lines overwrites a version only when it changed)."""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import process, reproduce
from .build import BuildResult, make_plan, run_build
from .catalog import Catalog, load_catalog
from .engine import Engine
from .errors import CheckFailed, EnvironmentProblem, UsageError
from .plans import BuildOptions
from .refs import ImageRef
from .report import Reporter
from .tags import SEMVER


def published_digests(reference: str, engine: Engine) -> dict[str, str]:
    """Per-platform manifest digests the registry holds under a tag ({} when it has no such tag).

    The index is read with `buildx imagetools inspect --raw`; a one-platform tag through the engine, which
    names its platform. Attestation manifests are left out: they record build times."""
    argv = ["docker", "buildx", "imagetools", "inspect", "--raw", reference]
    proc = process.run(argv, capture=True, echo=False, check=False)
    if proc.returncode == 0 and '"manifests"' in proc.stdout:
        return reproduce.platform_digests(json.loads(proc.stdout))
    data = engine.distribution(reference) or {}
    descriptor = data.get("Descriptor") or {}
    if not descriptor:
        return {}
    if descriptor.get("mediaType") in reproduce.INDEX_TYPES:
        raise EnvironmentProblem(f"cannot read the index of {reference} with buildx imagetools: log in or trust its CA")
    entries = [{"digest": descriptor["digest"], "platform": p} for p in data.get("Platforms") or []]
    return dict(list(reproduce.platform_digests({"manifests": entries}).items())[:1])


def verify_reproduce(catalog: Catalog, ref: ImageRef, out: Reporter, engine: Engine | None = None) -> dict[str, Any]:
    """Rebuild ref from the checked-out commit, reproducibly and without tagging anything, and compare each
    platform with the registry's digest: one line per platform, exit 1 when any differs."""
    engine = engine or Engine()
    engine.ping()
    remote = f"{ref.repository}:{ref.tag}"
    published = published_digests(remote, engine)
    if not published:
        raise CheckFailed(f"{remote} is not in the registry: check --version and --registry, or push it first")
    options = BuildOptions(
        version=ref.version,
        target=ref.target,
        registry=ref.registry.name if ref.explicit_registry else None,
        platforms=tuple(published) if len(published) > 1 else (),
        reproducible=True,
        provenance="off",
        progress="plain",
    )
    with checkout(catalog.root) as fresh:
        plan, _ = make_plan(load_catalog(fresh), ref.service.name, options)
        out.info(f"Rebuilding {remote} from commit {dict(plan.build_args)['GIT_COMMIT'][:12]}...")
        comparisons = reproduce.compare(run_build(plan, stdout=sys.stderr, load=False), published)
    for item in comparisons:
        (out.success if item.same else out.error)(item.line())
    rows = {c.platform: {"rebuilt": c.built, "published": c.published, "same": c.same} for c in comparisons}
    result = {"image": remote, "platforms": rows}
    if not all(c.same for c in comparisons):
        if out.json_mode:
            out.emit_json(result)
        raise CheckFailed(
            f"{remote} is not what this commit builds: check out the release's commit (its revision label) and "
            "build on the same base images (pin them by digest in [tool.sos-images.base-images])"
        )
    return result


@contextlib.contextmanager
def checkout(root: Path, revision: str = "HEAD") -> Iterator[Path]:
    """A fresh checkout of revision (`git worktree add --detach`), removed afterwards: what was committed, with
    every file newer than the commit, as CI's checkout has it (BuildKit clamps newer file times, keeps older)."""
    top = process.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture=True, echo=False, check=False)
    if top.returncode != 0:
        raise EnvironmentProblem(f"{root} is not a git checkout: --reproduce rebuilds a commit; clone the repository")
    with tempfile.TemporaryDirectory(prefix="sos-reproduce-") as tmp:
        tree = Path(tmp) / "tree"
        git = ["git", "-C", top.stdout.strip()]
        process.run([*git, "worktree", "add", "--quiet", "--detach", str(tree), revision], capture=True, echo=False)
        try:
            yield tree / Path(root).resolve().relative_to(Path(top.stdout.strip()).resolve())
        finally:
            process.run([*git, "worktree", "remove", "--force", str(tree)], capture=True, echo=False, check=False)


def changed(catalog: Catalog, built: BuildResult, out: Reporter, engine: Engine | None = None) -> bool:
    """`publish --if-changed`: does the rebuilt image differ, on any platform, from the registry's tag?

    The one sanctioned overwrite of a version tag (the weekly refresh) goes through here: unchanged content
    pushes and signs nothing. Records the base the refresh stood on in the report line."""
    ref = built.plan.ref
    remote = f"{ref.repository}:{ref.tag}"
    if not built.platform_digests:
        raise UsageError("--if-changed compares reproducible digests: leave out --no-reproducible (containerd store)")
    published = published_digests(remote, engine or Engine())
    labels = dict(built.plan.labels)
    base = labels.get(reproduce.BASE_NAME, "no base (scratch)")
    base += "@" + labels[reproduce.BASE_DIGEST] if reproduce.BASE_DIGEST in labels else ""
    if published and published == built.platform_digests:
        out.success(f"refresh: {remote} unchanged on {', '.join(sorted(published))} (base {base}): nothing pushed")
        return False
    moved = ", ".join(f"{p} {published.get(p, 'new')} -> {d}" for p, d in sorted(built.platform_digests.items()))
    out.warn(f"refresh: {remote} changed ({moved}; base {base}): pushing")
    return True


def release_heads(tags: Iterable[str]) -> list[str]:
    """The git tags `latest`, `MAJOR` and `MAJOR.MINOR` point to: the highest stable patch of every
    MAJOR.MINOR line (pre-releases never hold a floating tag), lowest line first."""
    best: dict[tuple[int, int], tuple[int, str]] = {}
    for tag in tags:
        version = SEMVER.fullmatch(tag)
        if not version or version["pre"]:
            continue
        major, minor, patch = (int(version[g]) for g in ("major", "minor", "patch"))
        if best.get((major, minor), (-1, ""))[0] < patch:
            best[(major, minor)] = (patch, tag)
    return [best[line][1] for line in sorted(best)]


def release_lines(catalog: Catalog, out: Reporter) -> list[str]:
    """Print the git tags the floating tags point to, one a line (or JSON): what the weekly refresh rebuilds."""
    listed = process.run(["git", "-C", str(catalog.root), "tag", "--list"], capture=True, echo=False)
    heads = release_heads(listed.stdout.split())
    if out.json_mode:
        out.emit_json({"tags": heads})
    else:
        for tag in heads:
            print(tag, file=out.stream, flush=True)
    return heads
