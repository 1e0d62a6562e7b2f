"""The catalog: languages, targets, services, registries and settings. One source of truth.

Services are discovered from services/*/ (a Dockerfile is built as it is, else package.json means node, go.mod
or cmd/*.go means go; recipe.py resolves each one's build recipe); [tool.sos-images] in pyproject.toml
overrides per-service settings and adds registries.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import libgraph
from .errors import ServiceError, UsageError
from .recipe import LANGUAGES, OWN, Language, Recipe, builder, detect_language, recipe  # noqa: F401 (re-exported)
from .settings import PATH_COMPONENT as SERVICE_NAME
from .settings import pick, validate

ROOT_ENV = "SOS_IMAGES_ROOT"
LIBS_CONTEXT = "libs"  # the built-in Dockerfiles' named context for a service's libraries
STAGE_DIR = ".sos-images/libs"  # where they are staged, one folder per service (git-ignored)


@dataclass(frozen=True)
class Registry:
    """A registry profile. Credentials are named by environment variables, never stored."""

    name: str
    host: str
    namespace: str
    user_env: tuple[str, ...] = ()
    password_env: tuple[str, ...] = ()
    host_env: str | None = None  # when set, the host comes from this variable (private registries)
    namespace_env: str | None = None
    cache_ref: str | None = None  # registry cache reference; {repository} and {service} are filled in

    def resolved(self, environ: Any = os.environ) -> Registry:
        host = environ.get(self.host_env, "") if self.host_env else self.host
        # image names are lower case; GITHUB_REPOSITORY_OWNER and CI_PROJECT_PATH keep an owner's capitals
        namespace = ((environ.get(self.namespace_env) if self.namespace_env else None) or self.namespace).lower()
        return replace(self, host=host, namespace=namespace)


DEFAULT_REGISTRIES: MappingProxyType[str, Registry] = MappingProxyType(
    {
        "ghcr": Registry(
            "ghcr",
            "ghcr.io",
            "sos-app",
            ("GITHUB_ACTOR", "GITHUB_USER"),
            ("GITHUB_TOKEN", "CR_PAT"),
            namespace_env="GITHUB_REPOSITORY_OWNER",  # set in GitHub Actions: your own packages, not sos-app's
        ),
        "dockerhub": Registry(
            "dockerhub",
            "docker.io",
            "sosapp",
            ("DOCKER_USER", "DOCKERHUB_USERNAME"),
            ("DOCKER_PASSWORD", "DOCKERHUB_TOKEN"),
        ),
        "private": Registry(
            "private",
            "",
            "sos-app",
            ("REGISTRY_USER",),
            ("REGISTRY_PASSWORD",),
            host_env="REGISTRY_URL",
            namespace_env="REGISTRY_NAMESPACE",
        ),
    }
)


@dataclass(frozen=True)
class Service:
    name: str
    language: Language | None  # None: the service brings its own Dockerfile
    path: Path
    recipe: Recipe
    build_args: tuple[tuple[str, str], ...] = ()
    budget_mb: int | None = None

    @property
    def kind(self) -> str:
        return self.language.name if self.language else OWN

    @property
    def port(self) -> int:
        return self.recipe.port

    @property
    def health_path(self) -> str | None:
        return self.recipe.health_path

    @property
    def targets(self) -> tuple[str, ...]:
        return self.recipe.targets

    @property
    def default_target(self) -> str:
        return self.recipe.default_target

    @property
    def debug_port(self) -> int | None:
        return self.language.debug_port if self.language else None

    @property
    def base_args(self) -> tuple[str, ...]:
        return self.language.base_args if self.language else ()

    def check_target(self, target: str | None) -> str:
        """The default target, a target, or (own Dockerfiles) any named stage, as docker build --target allows."""
        target = target or self.default_target
        allowed = self.targets if self.language else self.targets + self.recipe.stages
        if target not in allowed:
            if self.language:
                raise UsageError(
                    f"{self.name} is a {self.language.name} service and has no target {target!r}; "
                    f"valid targets: {', '.join(self.targets)}"
                )
            raise UsageError(
                f"{self.name}'s Dockerfile has no stage {target!r}: give one of {', '.join(self.recipe.stages)}"
            )
        return target


@dataclass(frozen=True)
class Catalog:
    root: Path
    services: MappingProxyType[str, Service]
    registries: MappingProxyType[str, Registry]
    default_registry: str
    base_images: MappingProxyType[str, str]
    budgets_mb: MappingProxyType[str, int]
    source_url: str
    problems: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    settings: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def dockerfiles(self) -> Path:
        return self.root / "dockerfiles"

    def service(self, name: str | None) -> Service:
        if not name:
            raise UsageError(f"no service given: pass --service NAME ({self._known()})")
        if name in self.problems:
            raise ServiceError(self.problems[name])
        if name not in self.services:
            raise UsageError(f"unknown service {name!r}; {self._known()}")
        return self.services[name]

    def registry(self, name: str | None = None) -> Registry:
        name = name or self.default_registry
        if name not in self.registries:
            raise UsageError(f"unknown registry {name!r}; known registries: {', '.join(sorted(self.registries))}")
        return self.registries[name]

    def matrix(self, language: str | None = None, target: str | None = None) -> list[tuple[Service, str]]:
        """Every (service, target) pair the recipes list, optionally filtered by kind (node, go, dockerfile)."""
        return [
            (svc, t)
            for svc in self.services.values()
            for t in svc.targets
            if (language is None or svc.kind == language) and (target is None or t == target)
        ]

    def _known(self) -> str:
        return "known services: " + (", ".join(self.services) or "none (add a folder under services/)")


def find_root(start: Path | None = None) -> Path:
    """The repository root: $SOS_IMAGES_ROOT, or the nearest folder up from cwd with our pyproject section."""
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.sos-images" in pyproject.read_text(encoding="utf-8"):
            return folder
    raise UsageError(
        f"no pyproject.toml with [tool.sos-images] above {here}: run from the repository or set {ROOT_ENV}"
    )


def load_catalog(root: Path | None = None) -> Catalog:
    root = (root or find_root()).resolve()
    settings = validate(_read_settings(root / "pyproject.toml"))
    overrides = settings.get("services", {})
    services, problems = _discover_services(root, overrides)
    registries = _registries(settings.get("registries", {}))
    default_registry = settings.get("registry", "ghcr")
    if default_registry not in registries:
        raise UsageError(
            f"pyproject.toml [tool.sos-images] registry: expected a known registry profile "
            f"({', '.join(sorted(registries))}), got {default_registry!r}"
        )
    return Catalog(
        root=root,
        services=MappingProxyType(services),
        registries=MappingProxyType(registries),
        default_registry=default_registry,
        base_images=MappingProxyType(dockerfile_base_images(root / "dockerfiles") | settings.get("base-images", {})),
        budgets_mb=MappingProxyType({lang: pick(settings, "budgets", lang) for lang in ("node", "go")}),
        source_url=settings.get("source", ""),
        problems=MappingProxyType(problems),
        settings=MappingProxyType(settings),
    )


def dockerfile_base_images(dockerfiles: Path) -> dict[str, str]:
    """The base-image defaults: the `ARG <NAME>=<image>` lines of each language's Dockerfile, the one place
    they are written (pyproject.toml overrides them; bootstrap and the tests read them from here)."""
    found: dict[str, str] = {}
    for language in LANGUAGES.values():
        try:
            text = (dockerfiles / language.dockerfile).read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        for name in language.base_args:
            match = re.search(rf"^ARG {name}=(\S+)\s*$", text, re.MULTILINE)
            if match:
                found[name] = match.group(1)
    return found


def _read_settings(pyproject: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{pyproject}: invalid TOML ({exc}); fix the file") from None
    return data.get("tool", {}).get("sos-images", {})


def _discover_services(root: Path, overrides: dict[str, dict[str, Any]]) -> tuple[dict[str, Service], dict[str, str]]:
    services: dict[str, Service] = {}
    problems: dict[str, str] = {}
    services_dir = root / "services"
    if not services_dir.is_dir():
        return services, problems
    for entry in sorted(services_dir.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            services[entry.name] = _service(root, entry, overrides.get(entry.name, {}))
        except ServiceError as exc:
            problems[entry.name] = str(exc)
    unknown = sorted(set(overrides) - set(services) - set(problems))
    if unknown:
        raise UsageError(
            f"pyproject.toml [tool.sos-images.services.{unknown[0]}]: no such service under services/ "
            f"(known: {', '.join(sorted(services)) or 'none'}): remove or rename the table"
        )
    return services, problems


def _check_folder(services_dir: Path, entry: Path) -> Path:
    if not SERVICE_NAME.match(entry.name) or len(entry.name) > 128:
        raise ServiceError(
            f"services/{entry.name} is not a valid image name: use lower-case letters, digits and single "
            "'.', '_' or '-' between them (e.g. billing-service), then rename the folder"
        )
    real = entry.resolve()
    if entry.is_symlink() and not real.is_relative_to(services_dir.resolve()):
        raise ServiceError(
            f"services/{entry.name} is a symlink to {real}, outside services/: "
            "move the service into services/ instead of linking to it"
        )
    return real


def _service(root: Path, entry: Path, override: dict[str, Any]) -> Service:
    real = _check_folder(root / "services", entry)
    language, dockerfile_path = builder(root, entry.name, real, override)
    found = recipe(root, entry.name, real, language, dockerfile_path, override)
    return Service(
        name=entry.name,
        language=language,
        path=real,
        recipe=_with_libraries(root, entry.name, real, found) if language else found,
        build_args=tuple(sorted((str(k), str(v)) for k, v in override.get("build-args", {}).items())),
        budget_mb=override.get("budget-mb"),
    )


def _with_libraries(root: Path, name: str, folder: Path, found: Recipe) -> Recipe:
    """A built-in Dockerfile reads the service's libraries from the named context `libs`, staged by libstage."""
    try:
        libraries = libgraph.closure(root, folder)
    except libgraph.LibraryError as exc:
        raise ServiceError(str(exc)) from None
    if not (libraries.libraries or libraries.files):
        return replace(found, libraries=libraries)
    contexts = {**found.named_contexts, LIBS_CONTEXT: root / STAGE_DIR / name}
    return replace(found, libraries=libraries, named_contexts=MappingProxyType(contexts))


def _registries(declared: dict[str, dict[str, Any]]) -> dict[str, Registry]:
    registries = dict(DEFAULT_REGISTRIES)
    for name, fields in declared.items():
        base = registries.get(name, Registry(name, "", "sos-app"))
        registries[name] = Registry(
            name=name,
            host=str(fields.get("host", base.host)),
            namespace=str(fields.get("namespace", base.namespace)),
            user_env=tuple(fields.get("user-env", base.user_env)),
            password_env=tuple(fields.get("password-env", base.password_env)),
            host_env=fields.get("host-env", base.host_env),
            namespace_env=fields.get("namespace-env", base.namespace_env),
            cache_ref=fields.get("cache-ref", base.cache_ref),
        )
    return registries
