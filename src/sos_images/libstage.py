"""Stage a service's libraries as the BuildKit named context `libs`: only what the service uses.

The folder holds each library (and root files such as tsconfig.base.json) at its repository path, filtered by
the service's ignore rules (a named context would read only its own root's .dockerignore), plus `.sos-libraries`
(the libraries in build order). The built-in Dockerfiles copy it to `/`, so `file:../../libs/x` and
`replace ... => ../../libs/x` written for services/<name> resolve from /app (and /src) to /libs/x.
Files are copied only when their content changed and stale ones removed: BuildKit's cache keys are contents,
so an edit elsewhere in the repository leaves every step cached.
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from e2b_dockerfile_utils.dockerignore import PatternMatcher

from .catalog import LIBS_CONTEXT, Catalog, Service

MANIFEST = ".sos-libraries"


def wanted(root: Path, service: Service) -> dict[str, Path]:
    """Staged path -> source file, for every file of the service's libraries the ignore rules let through."""
    closure = service.recipe.libraries
    if closure is None:
        return {}
    ignore = service.recipe.ignore_file
    matcher = PatternMatcher(ignore.read_text(encoding="utf-8").splitlines()) if ignore.is_file() else None
    files: dict[str, Path] = {}
    for lib in closure.paths:
        for source in sorted((root / lib).rglob("*")):
            inside = source.relative_to(root / lib).as_posix()
            if source.is_file() and not (matcher and matcher.matches(inside)):
                files[f"{lib}/{inside}"] = source
    files |= {path: root / path for path in closure.files}
    return files


def stage(catalog: Catalog, service: Service) -> Path | None:
    """Bring the service's staged folder up to date; None when it uses no library."""
    target = service.recipe.named_contexts.get(LIBS_CONTEXT)
    if target is None or service.recipe.libraries is None:
        return None
    files = wanted(catalog.root, service)
    target.mkdir(parents=True, exist_ok=True)
    for old in sorted(target.rglob("*"), reverse=True):
        relative = old.relative_to(target).as_posix()
        if old.is_file() and relative not in files and relative != MANIFEST:
            old.unlink()
        elif old.is_dir() and not any(old.iterdir()):
            old.rmdir()
    for relative, source in files.items():
        dest = target / relative
        if not (dest.is_file() and filecmp.cmp(source, dest, shallow=False)):
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
    _write_if_changed(target / MANIFEST, "".join(f"{p}\n" for p in service.recipe.libraries.paths))
    return target


def stage_all(catalog: Catalog, services: list[Service] | None = None) -> None:
    for service in services if services is not None else list(catalog.services.values()):
        stage(catalog, service)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
