"""One function per task: the task's raw options (`a.<option>`, as Invoke parsed them) to a call of the package.

Each verb imports the modules of its own work, so `invoke --list` and `invoke build` do not pay for the checks.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as Args
from typing import Any

from . import catalog as catalog_mod
from .options import build_options, given, whole_number
from .report import Reporter


def _catalog() -> catalog_mod.Catalog:
    return catalog_mod.load_catalog()


def _image(a: Args) -> tuple[catalog_mod.Catalog, Any]:
    from . import refs

    catalog = _catalog()
    return catalog, refs.resolve(catalog, a.service, a.target, a.version, a.registry)


def _emit(out: Reporter, value: Any) -> None:
    if out.json_mode:
        out.emit_json(value)


def services(a: Args) -> None:
    from . import commands

    commands.list_services(_catalog(), Reporter(a.json))


def doctor(a: Args) -> None:
    from . import doctor as doctor_mod

    doctor_mod.diagnose(Reporter(a.json), given(a.builder))


def build(a: Args) -> None:
    from . import build as build_mod

    out = Reporter(a.json)
    result = build_mod.build(_catalog(), a.service, build_options(vars(a)), out, dry_run=a.dry_run)
    _emit(out, result.to_dict())


def login(a: Args) -> None:
    from . import registry

    registry.login(_catalog(), given(a.registry), Reporter())


def _release(a: Args) -> Any:
    from . import release

    fields = release.Release.__dataclass_fields__
    return release.Release(**{k: v for k, v in vars(a).items() if k in fields})


def push(a: Args) -> None:
    from . import release

    out = Reporter(a.json)
    _emit(out, release.push(_catalog(), _release(a), out, dry_run=a.dry_run))


def publish(a: Args) -> None:
    from . import release

    out = Reporter(a.json)
    options = build_options(vars(a), release=True)
    if a.by_digest:
        _emit(out, release.publish_platform(_catalog(), _release(a), options, out, verify=a.verify))
        return
    _emit(out, release.publish(_catalog(), _release(a), options, out, dry_run=a.dry_run))


def merge(a: Args) -> None:
    from . import release

    out = Reporter(a.json)
    _emit(out, release.merge(_catalog(), _release(a), out, dry_run=a.dry_run))


def build_all(a: Args) -> None:
    from . import buildall, changes

    catalog = _catalog()
    only = changes.since(catalog, a.since).result.services if a.since else None
    buildall.build_all(
        catalog,
        build_options(vars(a) | {"target": ""}),
        Reporter(a.json),
        language=given(a.language),
        target=given(a.target),
        jobs=whole_number("--jobs", a.jobs),
        log_dir=Path(a.log_dir) if a.log_dir else None,
        dry_run=a.dry_run,
        only=only,
    )


def bake_file(a: Args) -> None:
    from . import bake, changes

    catalog = _catalog()
    only = changes.since(catalog, a.since).result.services if a.since else None
    options = build_options(vars(a) | {"target": ""})
    bake.bake_file(catalog, options, Reporter(), a.file, language=given(a.language), target=given(a.target), only=only)


def verify(a: Args) -> None:
    from . import sign
    from .checks import verify as verify_mod

    catalog, ref = _image(a)
    out = Reporter(a.json)
    if a.reproduce:
        from . import rebuild

        _emit(out, rebuild.verify_reproduce(catalog, ref, out))
        return
    if not a.signed:
        verify_mod.verify(catalog, ref, out, timeout=a.timeout, budget_mb=a.budget_mb)
        return
    opts = sign.SignSettings.from_catalog(catalog.settings)
    _emit(out, sign.verify_signed(ref, a.key or opts.public_key, opts, out))


def release_lines(a: Args) -> None:
    from . import rebuild

    rebuild.release_lines(_catalog(), Reporter(a.json))


def sign(a: Args) -> None:
    from . import release
    from . import sign as sign_mod

    catalog, ref = _image(a)
    opts, out = release.signing(catalog, a.key, a.keyless, a.tlog_upload), Reporter(a.json)
    if a.dry_run:
        argv = sign_mod.sign_argv(f"{ref.repository}@<digest of {ref.repository}:{ref.tag}>", opts)
        out.info("Dry run: nothing signed. The command:")
        print(" ".join(argv), file=out.stream, flush=True)
        _emit(out, {"dry_run": True, "command": argv})
        return
    digest = sign_mod.remote_digest(f"{ref.repository}:{ref.tag}")
    _emit(out, {"signed": sign_mod.sign(ref, digest, opts, out), "digest": digest})


def attest(a: Args) -> None:
    from . import release
    from . import sign as sign_mod

    catalog, ref = _image(a)
    opts, out = release.signing(catalog, a.key, a.keyless, a.tlog_upload, a.format), Reporter(a.json)
    digest = sign_mod.remote_digest(f"{ref.repository}:{ref.tag}")
    attested = sign_mod.attest(ref, digest, opts, out)
    _emit(out, {"attested": attested, "digest": digest, "format": opts.sbom_format})


def lint(a: Args) -> None:
    from .checks import lint as lint_mod

    lint_mod.lint(_catalog(), Reporter(a.json), files=tuple(a.file or ()), trivy=a.trivy)


def scan(a: Args) -> None:
    from .checks import scan as scan_mod

    catalog, ref = _image(a)
    flags = [
        "severity",
        "fail_on",
        "ignore_unfixed",
        "output",
        "scanners",
        "skip_db_update",
        "db_repository",
        "offline",
    ]
    chosen = {name: getattr(a, name) for name in flags}
    scan_mod.scan(catalog, ref, Reporter(a.json), if_available=a.if_available, output_format=a.format, **chosen)


def sbom(a: Args) -> None:
    from .checks import sbom as sbom_mod

    catalog, ref = _image(a)
    sbom_mod.sbom(catalog, ref, Reporter(a.json), fmt=a.format, output=a.output)


def layers(a: Args) -> None:
    from .checks import layers as layers_mod

    catalog, ref = _image(a)
    names = ("max-wasted-bytes", "min-efficiency", "max-user-wasted-percent")
    limits = {name: getattr(a, name.replace("-", "_")) for name in names}
    layers_mod.layers(catalog, ref, Reporter(a.json), args=limits, ci_config=a.ci_config)


def run(a: Args) -> None:
    from . import devrun
    from .settings import pick

    catalog = _catalog()
    options = devrun.RunOptions(
        target=a.target,
        version=a.version,
        env=tuple(a.env or ()),
        env_file=a.env_file,
        port=whole_number("--port", a.port),
        debug_port=whole_number("--debug-port", a.debug_port),
        timeout=pick(catalog.settings, "run", "timeout", a.timeout, "--timeout"),
        build=not a.no_build,
    )
    devrun.run_service(catalog, a.service, options, Reporter())


def affected(a: Args) -> None:
    from . import changes

    found = changes.since(_catalog(), a.since)
    changes.show(found, Reporter(a.json))


def up(a: Args) -> None:
    from . import stack
    from .settings import pick

    catalog = _catalog()
    wait = pick(catalog.settings, "up", "timeout", a.timeout, "--timeout")
    stack.up(catalog, a.service or [], Reporter(), production=a.production, watch=a.watch, timeout=wait)


def down(a: Args) -> None:
    from . import stack

    stack.down(_catalog(), Reporter())


def logs(a: Args) -> None:
    from . import stack

    stack.logs(_catalog(), a.service or [], follow=a.follow, tail=a.tail)


def compose(a: Args) -> None:
    from . import stack

    if not stack.write_files(_catalog(), Reporter(), check=a.check):
        Reporter().success("compose.yaml and compose.production.yaml match the catalog")
