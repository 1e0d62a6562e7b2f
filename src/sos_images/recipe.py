"""A service's build recipe: its Dockerfile, context, targets, port and health, resolved once from its files.

A folder with a `Dockerfile` is built with it (its stages give the targets, its EXPOSE the port, its HEALTHCHECK
the health check); otherwise `package.json` (node) or `go.mod` (go) picks the language's Dockerfile in
dockerfiles/. `[tool.sos-images.services.<name>]` can name `dockerfile`, `context` and `targets`, like bake's
target fields; an explicit value beats a found one. A problem with one service's recipe is a ServiceError,
so the catalog leaves that service out and the others keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import dockerfile
from .dockerfile import Dockerfile, DockerfileError
from .errors import ServiceError
from .libgraph import Closure

OWN = "dockerfile"  # the kind of a service that brings its own Dockerfile


@dataclass(frozen=True)
class Language:
    name: str
    dockerfile: str
    targets: tuple[str, ...]
    default_port: int
    base_args: tuple[str, ...]  # base-image build args its Dockerfile reads
    debug_port: int

    @property
    def default_target(self) -> str:
        return self.targets[0]


LANGUAGES: MappingProxyType[str, Language] = MappingProxyType(
    {
        "node": Language("node", "Dockerfile.node", ("production", "development"), 3000, ("NODE_IMAGE",), 9229),
        "go": Language(
            "go",
            "Dockerfile.go",
            ("production", "production-alpine", "development"),
            8080,
            ("GO_IMAGE", "ALPINE_IMAGE"),
            2345,
        ),
    }
)


@dataclass(frozen=True)
class Recipe:
    """How a service is built, resolved once from its files and settings; every verb reads this.

    `stages` are what a --target may name; `targets` what build-all, Nox and CI build (the first is the
    default). `named_contexts` are extra BuildKit contexts (name -> folder), like bake's `contexts`.
    """

    dockerfile: Path
    context: Path
    targets: tuple[str, ...]
    port: int
    health_path: str | None = "/health"
    stages: tuple[str, ...] = ()
    named_contexts: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    parsed: Dockerfile | None = field(default=None, compare=False, hash=False)  # own Dockerfiles only
    libraries: Closure | None = field(default=None, compare=False, hash=False)  # the local libraries it uses
    warnings: tuple[str, ...] = ()

    @property
    def default_target(self) -> str:
        return self.targets[0]

    @property
    def ignore_file(self) -> Path:
        """BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile first, then <context>/.dockerignore."""
        beside = self.dockerfile.with_name(self.dockerfile.name + ".dockerignore")
        return beside if beside.exists() else self.context / ".dockerignore"

    def stage_of(self, target: str) -> str | None:
        """The --target to pass (None: an unnamed last stage, built without --target)."""
        return None if target == dockerfile.UNNAMED and target not in self.stages else target

    def healthcheck(self, target: str) -> str | None:
        return self.parsed.healthcheck(target) if self.parsed else None


def detect_language(folder: Path) -> Language | None:
    if (folder / "package.json").is_file():
        return LANGUAGES["node"]
    if (folder / "go.mod").is_file() or any((folder / "cmd").glob("*.go")):
        return LANGUAGES["go"]
    return None


def builder(root: Path, name: str, folder: Path, override: dict[str, Any]) -> tuple[Language | None, Path]:
    """The language (None: an own Dockerfile) and the Dockerfile: the setting, the folder's, the language's."""
    language = detect_language(folder)
    if "dockerfile" in override:
        path = _inside(root, override["dockerfile"], name, "dockerfile")
        builtin = language and path == (root / "dockerfiles" / language.dockerfile).resolve()
        return (language if builtin else None), path
    if (folder / "Dockerfile").is_file():
        return None, folder / "Dockerfile"
    if (folder / "package.json").is_file() and (folder / "go.mod").is_file():
        raise ServiceError(
            f"services/{name} has both package.json and go.mod, so its language is ambiguous: "
            "keep the one that builds the service, or add a Dockerfile"
        )
    if language is None:
        raise ServiceError(
            f"services/{name} has neither package.json (node) nor go.mod (go) nor a Dockerfile: "
            "add one to make it a service"
        )
    return language, root / "dockerfiles" / language.dockerfile


def _inside(root: Path, value: str, name: str, key: str) -> Path:
    """A path setting, relative to the repository root; one that leaves the repository is refused."""
    path = (root / value).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ServiceError(
            f"pyproject.toml [tool.sos-images.services.{name}] {key} = {value!r} leaves the repository: "
            "give a path inside it, relative to the repository root"
        )
    if not path.exists():
        raise ServiceError(
            f"pyproject.toml [tool.sos-images.services.{name}] {key} = {value!r} does not exist: "
            "give a path relative to the repository root"
        )
    return path


def recipe(
    root: Path, name: str, folder: Path, language: Language | None, path: Path, override: dict[str, Any]
) -> Recipe:
    context = _inside(root, override["context"], name, "context") if "context" in override else folder
    parsed = _parse(root, name, path) if language is None or "targets" in override else None
    stages = parsed.names if parsed else ()
    targets = override.get("targets") or (language.targets if language or not parsed else _found_targets(parsed))
    missing = [t for t in targets if parsed and t not in stages and t != dockerfile.UNNAMED]
    if missing:
        raise ServiceError(
            f"pyproject.toml [tool.sos-images.services.{name}] targets: {_repo(root, path)} has no stage "
            f"{missing[0]!r}; its stages: {', '.join(stages) or 'none named'}"
        )
    return Recipe(
        dockerfile=path,
        context=context,
        targets=tuple(targets),
        port=_port(root, name, path, language, parsed, targets[0], override),
        health_path=override.get("health-path", "/health" if language else None),
        stages=stages,
        parsed=parsed if language is None else None,
        warnings=_warnings(root, path, parsed),
    )


def _parse(root: Path, name: str, path: Path) -> Dockerfile:
    try:
        return dockerfile.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ServiceError(f"{_repo(root, path)} cannot be read ({exc}): fix the file") from None
    except DockerfileError as exc:
        raise ServiceError(f"{_repo(root, path)}: {exc}; fix the Dockerfile of {name}") from None


def _found_targets(parsed: Dockerfile) -> tuple[str, ...]:
    """The default (last) stage first, then the other stages nothing uses, in file order."""
    return (parsed.default_target, *parsed.targets[:-1])


def _port(
    root: Path,
    name: str,
    path: Path,
    language: Language | None,
    parsed: Dockerfile | None,
    target: str,
    override: dict[str, Any],
) -> int:
    if "port" in override:
        return int(override["port"])
    if language is not None or parsed is None:
        return language.default_port if language else 0
    build_args = {str(k): str(v) for k, v in override.get("build-args", {}).items()}
    found = parsed.port(target, build_args)
    if found is None:
        raise ServiceError(
            f"{_repo(root, path)} exposes no port in its {target} target: add EXPOSE <port> to it, or set "
            f"port in [tool.sos-images.services.{name}]"
        )
    return found


def _warnings(root: Path, path: Path, parsed: Dockerfile | None) -> tuple[str, ...]:
    if parsed is None or not parsed.syntax:
        return ()
    return (
        f"{_repo(root, path)} starts with '# syntax={parsed.syntax}': BuildKit pulls that frontend image from "
        "its registry before building; remove the line where that registry is unreachable",
    )


def _repo(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
