"""Which services a change affects: changed paths + catalog + .dockerignore rules -> services. Pure.

A file under services/S/ affects S only when it reaches S's build context (the rules of the ignore file BuildKit
uses for S's Dockerfile, matched with Docker's semantics); a language's Dockerfile or its ignore file affects every
service of that language; [tool.sos-images] settings affect the services they touch, base-image pins the services
of the languages whose Dockerfile reads them; the tool's own code affects every service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from e2b_dockerfile_utils.dockerignore import PatternMatcher  # a port of moby/patternmatcher

from .catalog import LANGUAGES, Catalog

PYPROJECT = "pyproject.toml"
TOOL_CODE = ("src/sos_images/", "tasks.py", "noxfile.py")  # build plans change with the tool itself
IMAGE_NEUTRAL_SETTINGS = frozenset(  # checks, runs and pushes, not images
    {"budgets", "scan", "layers", "tags", "verify", "sign", "lint", "run", "up"}
)


@dataclass(frozen=True)
class Rules:
    """What affected() needs to know beside the paths: per language, its Dockerfile and ignore rules."""

    services: Mapping[str, str]  # service -> language
    dockerfiles: Mapping[str, tuple[str, ...]]  # language -> repo paths that affect all its services
    ignore: Mapping[str, PatternMatcher | None]  # language -> the rules of its build contexts (None: no file)


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


def ignore_file(catalog: Catalog, language: str) -> Path:
    """BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile (a link to dockerfiles/.dockerignore here)."""
    return catalog.dockerfiles / f"{LANGUAGES[language].dockerfile}.dockerignore"


def parse_ignore(text: str) -> PatternMatcher:
    return PatternMatcher(text.splitlines())


def rules_for(catalog: Catalog, ignore_texts: Mapping[str, str | None]) -> Rules:
    """Rules from the catalog and the text of each language's ignore file (None when it has none)."""
    dockerfiles = {}
    for name, language in LANGUAGES.items():
        ignore = ignore_file(catalog, name)
        paths = {f"dockerfiles/{language.dockerfile}", _repo_path(catalog, ignore)}
        if ignore.is_symlink():  # editing the file it links to changes this language's rules too
            paths.add(_repo_path(catalog, ignore.resolve()))
        dockerfiles[name] = tuple(sorted(paths))
    return Rules(
        services={name: svc.language.name for name, svc in catalog.services.items()},
        dockerfiles=dockerfiles,
        ignore={lang: parse_ignore(text) if text is not None else None for lang, text in ignore_texts.items()},
    )


def _repo_path(catalog: Catalog, path: Path) -> str:
    return path.relative_to(catalog.root).as_posix()


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
    parts = PurePosixPath(path).parts
    if len(parts) >= 3 and parts[0] == "services" and parts[1] in rules.services:
        service, inside = parts[1], "/".join(parts[2:])
        matcher = rules.ignore.get(rules.services[service])
        if matcher is None or not matcher.matches(inside):
            result.add([service], f"{path} is in its build context")
        return
    for language, paths in rules.dockerfiles.items():
        if path in paths:
            result.add(_of_language(rules, language), f"{path} builds every {language} service")
    if path.startswith(TOOL_CODE):
        result.add(rules.services, f"{path}: the build tool changed")


def _of_language(rules: Rules, language: str) -> list[str]:
    return [name for name, lang in rules.services.items() if lang == language]


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
                for lang, language in LANGUAGES.items():
                    if arg in language.base_args:
                        result.add(_of_language(rules, lang), f"base image {arg} changed")
        else:  # registry, source, registries...: names and labels of every image
            result.add(rules.services, f"[tool.sos-images] {key} changed")


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
