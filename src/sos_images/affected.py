"""Which services a change affects: changed paths + catalog + .dockerignore rules -> services. Pure.

A file affects a service S when it reaches one of S's build contexts (the rules of the ignore file BuildKit uses
for S's Dockerfile, or a named context's own .dockerignore, matched with Docker's semantics), or when it is S's
Dockerfile or ignore file (a language's affects every service of that language); [tool.sos-images] settings
affect the services they touch, base-image pins the services whose Dockerfile reads them; the tool's own code
affects every service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2b_dockerfile_utils.dockerignore import PatternMatcher  # a port of moby/patternmatcher

from .catalog import LIBS_CONTEXT, Catalog

PYPROJECT = "pyproject.toml"
TOOL_CODE = ("src/sos_images/", "tasks.py", "noxfile.py")  # build plans change with the tool itself
IMAGE_NEUTRAL_SETTINGS = frozenset(  # checks, runs and pushes, not images
    {"budgets", "scan", "layers", "tags", "verify", "sign", "lint", "run", "up"}
)


@dataclass(frozen=True)
class Context:
    """A folder BuildKit sends for a build (the context, or a named one) and the ignore rules it applies."""

    path: str  # repository path, "" for the root
    ignore: PatternMatcher | None  # None: no ignore file
    name: str = ""  # "" the build context, else the named context's name
    chain: tuple[str, ...] = ()  # a library: its name and the libraries down to the service

    def holds(self, path: str) -> bool:
        """Whether a repository path reaches the build through this folder."""
        if self.path and not path.startswith(self.path + "/"):
            return False
        inside = path[len(self.path) + 1 :] if self.path else path
        return self.ignore is None or not self.ignore.matches(inside)


@dataclass(frozen=True)
class ServiceRules:
    kind: str  # node, go, dockerfile
    contexts: tuple[Context, ...]
    files: tuple[str, ...]  # its Dockerfile and ignore file: an edit there changes the build whatever they hold
    base_args: tuple[str, ...] = ()
    shared: bool = False  # its Dockerfile is the language's, shared by every service of that language


@dataclass(frozen=True)
class Rules:
    """What affected() needs to know beside the paths: each service's recipe as repository paths."""

    services: Mapping[str, ServiceRules]


@dataclass
class Affected:
    reasons: dict[str, list[str]] = field(default_factory=dict)

    def add(self, services: Iterable[str], why: str) -> None:
        for name in services:
            self.reasons.setdefault(name, [])
            if why not in self.reasons[name]:
                self.reasons[name].append(why)

    @property
    def services(self) -> list[str]:
        return sorted(self.reasons)


def ignore_files(catalog: Catalog) -> set[Path]:
    """Every ignore file a build reads: <Dockerfile>.dockerignore or the context's, and each named context's."""
    found = set()
    for svc in catalog.services.values():
        found.add(svc.recipe.ignore_file)
        found |= {path / ".dockerignore" for path in svc.recipe.named_contexts.values()}
    return found


def parse_ignore(text: str) -> PatternMatcher:
    return PatternMatcher(text.splitlines())


def rules_for(catalog: Catalog, ignore_texts: Mapping[Path, str | None]) -> Rules:
    """Rules from the catalog's recipes and the text of each ignore file (None when it does not exist)."""

    def context(path: Path, ignore: Path, name: str = "") -> Context:
        text = ignore_texts.get(ignore)
        return Context(_repo_path(catalog, path), parse_ignore(text) if text is not None else None, name)

    services = {}
    for name, svc in catalog.services.items():
        recipe = svc.recipe
        ignore = recipe.ignore_file
        files = {_repo_path(catalog, recipe.dockerfile), _repo_path(catalog, ignore)}
        if ignore.is_symlink():  # editing the file it links to changes these rules too
            files.add(_repo_path(catalog, ignore.resolve()))
        contexts = [context(recipe.context, ignore)]
        contexts += [
            context(path, path / ".dockerignore", n) for n, path in recipe.named_contexts.items() if n != LIBS_CONTEXT
        ]
        contexts += _libraries(catalog, svc, context(recipe.context, ignore).ignore)
        files |= set(recipe.libraries.files if recipe.libraries else ())
        shared = svc.language is not None and recipe.dockerfile == catalog.dockerfiles / svc.language.dockerfile
        services[name] = ServiceRules(svc.kind, tuple(contexts), tuple(sorted(files)), svc.base_args, shared)
    return Rules(services=services)


def _libraries(catalog: Catalog, svc: Any, ignore: PatternMatcher | None) -> list[Context]:
    """Each library the service uses, under the service's ignore rules (libstage filters with them)."""
    closure = svc.recipe.libraries
    if closure is None:
        return []
    return [Context(path, ignore, LIBS_CONTEXT, closure.chain(path)) for path in closure.paths]


def _repo_path(catalog: Catalog, path: Path) -> str:
    relative = path.relative_to(catalog.root).as_posix() if path.is_relative_to(catalog.root) else path.as_posix()
    return "" if relative == "." else relative


def affected(
    changed: Iterable[str],
    rules: Rules,
    settings_before: Mapping[str, Any] | None = None,
    settings_after: Mapping[str, Any] | None = None,
) -> Affected:
    """The services a set of changed repository paths (posix, relative to the root) affects, with reasons."""
    result = Affected()
    for path in sorted(set(changed)):
        _one_path(path, rules, result)
    if settings_before is not None and settings_after is not None:
        settings_changes(settings_before, settings_after, rules, result)
    return result


def _one_path(path: str, rules: Rules, result: Affected) -> None:
    for name, svc in rules.services.items():
        if path in svc.files:
            own = f"{path} is its Dockerfile or ignore file"
            result.add([name], f"{path} builds every {svc.kind} service" if svc.shared else own)
            continue
        for context in svc.contexts:
            if context.holds(path):
                if context.chain:
                    result.add([name], " -> ".join((path, *context.chain, name)))
                    break
                where = f"its named context {context.name}" if context.name else "its build context"
                result.add([name], f"{path} is in {where}")
                break
    if path.startswith(TOOL_CODE):
        result.add(rules.services, f"{path}: the build tool changed")


def settings_changes(before: Mapping[str, Any], after: Mapping[str, Any], rules: Rules, result: Affected) -> None:
    """[tool.sos-images] before and after: per-service overrides, base-image pins, and the rest."""
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new or key in IMAGE_NEUTRAL_SETTINGS:
            continue
        if key == "services":
            for name in _changed_keys(old or {}, new or {}):
                result.add([name] if name in rules.services else [], f"[tool.sos-images.services.{name}] changed")
        elif key == "base-images":
            for arg in _changed_keys(old or {}, new or {}):
                readers = [n for n, svc in rules.services.items() if arg in svc.base_args]
                result.add(readers, f"base image {arg} changed")
        else:  # registry, source, registries...: names and labels of every image
            result.add(rules.services, f"[tool.sos-images] {key} changed")


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
