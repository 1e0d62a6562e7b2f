"""Pure build planning: (catalog, service, options, source facts, client) -> BuildPlan with the exact argv.

Nothing here touches the outside world, so a plan can be printed (--dry-run) and tested without Docker.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import platforms, reproduce
from .buildfacts import BuildClient, SourceInfo
from .catalog import Catalog, Service
from .errors import EnvironmentProblem, UsageError
from .platforms import STORE_SETTING, EngineFacts
from .refs import ImageRef
from .settings import ENV_NAME

OCI = "org.opencontainers.image."
VENDOR = "SOS App"
CA_BUNDLE_ENV = "SOS_CA_BUNDLE"  # default for --ca-bundle


@dataclass(frozen=True)
class BuildOptions:
    version: str = "latest"
    target: str | None = None
    build_args: tuple[str, ...] = ()
    no_cache: bool = False
    rebuild: bool = False  # build even when the image's input digest says it is up to date (cache kept)
    platforms: tuple[str, ...] = ()  # more than one: one OCI index
    cache: str = "none"  # "registry": --cache-from/--cache-to type=registry,mode=max at the image's cache ref
    provenance: str | None = None  # "min", "max" or "off"; None: see release
    release: bool = False  # a build that ships (publish): provenance min by default where the engine keeps it
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    builder: str | None = None
    ca_bundle: str | None = None
    progress: str = "auto"
    registry: str | None = None
    oci_layout: str | None = None  # also export the image as an OCI layout folder here (pushed by digest later)
    reproducible: bool | None = None  # OCI export with rewrite-timestamp, then load; None: for a release
    refresh: bool = False  # fresh base images and OS packages: no cache for the package stages


@dataclass(frozen=True)
class BuildPlan:
    ref: ImageRef
    build_args: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())
    oci_archive: str | None = None  # a reproducible build writes here; the runner loads and removes it

    @property
    def service(self) -> Service:
        return self.ref.service

    @property
    def target(self) -> str:
        return self.ref.target

    @property
    def version(self) -> str:
        return self.ref.version

    @property
    def image(self) -> str:
        return self.ref.image

    @property
    def dockerfile(self) -> Path:
        return self.service.recipe.dockerfile

    @property
    def context(self) -> Path:
        return self.service.recipe.context

    @property
    def named_contexts(self) -> Mapping[str, Path]:
        return self.service.recipe.named_contexts

    @property
    def stage(self) -> str | None:
        """The --target given to BuildKit (None: an unnamed last stage)."""
        return self.service.recipe.stage_of(self.target)

    @property
    def platforms(self) -> tuple[str, ...]:
        """The --platform list of the argv (empty: the engine's own)."""
        flag = next((a for a in self.argv if a.startswith("--platform=")), "")
        return tuple(flag.removeprefix("--platform=").split(",")) if flag else ()

    def command_line(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env)
        return (env + " " if env else "") + shlex.join(self.argv)

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service.name,
            "language": self.service.kind,
            "target": self.target,
            "dockerfile": str(self.dockerfile),
            "context": str(self.context),
            "named_contexts": {k: str(v) for k, v in self.named_contexts.items()},
            "version": self.version,
            "image": self.image,
            "registry": self.ref.registry.name,
            "cache": self.ref.cache,
            "build_args": dict(self.build_args),
            "labels": dict(self.labels),
            "command": list(self.argv),
            "env": dict(self.env),
        }


def parse_build_args(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not ENV_NAME.match(name):
            raise UsageError(f"--build-arg {item!r} is not of the form NAME=VALUE (e.g. --build-arg NPM_LOGLEVEL=warn)")
        pairs.append((name, value))
    return tuple(pairs)


def oci_labels(service: Service, version: str, source: SourceInfo, source_url: str) -> tuple[tuple[str, str], ...]:
    labels = {
        OCI + "title": service.name,
        OCI + "vendor": VENDOR,  # the tool sets every OCI label, so the Dockerfiles carry no LABEL block
        OCI + "version": version,
        OCI + "revision": source.commit,
        OCI + "created": source.created,
    }
    if source_url:
        labels[OCI + "source"] = source_url
    return tuple(labels.items())


def build_args(
    catalog: Catalog, service: Service, version: str, source: SourceInfo, extra: Iterable[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    """Precedence, lowest first: base images, catalog facts, the service's pyproject args, --build-arg."""
    args: dict[str, str] = {k: catalog.base_images[k] for k in service.base_args if k in catalog.base_images}
    args |= {
        "VERSION": version,
        "BUILD_DATE": source.created,
        "SOURCE_DATE_EPOCH": source.epoch,
        "GIT_COMMIT": source.commit,
        "PORT": str(service.port),
    }
    args |= {"HEALTH_PATH": service.health_path} if service.health_path else {}
    args |= dict(service.build_args)
    args |= dict(extra)
    return tuple(args.items())


CACHE_MODES = ("none", "registry")
PROVENANCE_MODES = ("min", "max", "off")


def plan_build(
    catalog: Catalog,
    ref: ImageRef,
    options: BuildOptions,
    source: SourceInfo,
    client: BuildClient,
    environ: Mapping[str, str] | None = None,
    facts: EngineFacts | None = None,
    bases: Mapping[str, str] | None = None,
    scratch: Path | None = None,
) -> BuildPlan:
    """bases: base-image argument -> the digest a refresh resolved (the build stands on that digest, labelled).
    scratch: the folder a reproducible build's OCI archive goes to."""
    service = ref.service
    facts = facts or EngineFacts(containerd_store=False)
    platforms.check_buildable(service, ref.target, options.platforms, facts)
    args = build_args(catalog, service, ref.version, source, parse_build_args(options.build_args))
    args, base_labels = _pin_bases(catalog, ref, args, bases or {})
    labels = oci_labels(service, ref.version, source, catalog.source_url) + base_labels
    notes: list[str] = list(service.recipe.warnings)
    archive = _oci_archive(ref, options, client, facts, scratch)
    argv = [*client.prefix(), *_buildx_options(options, client, archive, ref.image)]
    argv += _cache_options(ref, options, client, facts, notes) + _provenance(options, client, facts)
    argv += _refresh_options(catalog, ref, options, client)
    argv += _recipe_options(service, ref.target, client)
    argv += ["--tag", ref.image]
    argv += [f"--build-arg={k}={v}" for k, v in args]
    argv += [f"--label={k}={v}" for k, v in labels]
    ca_bundle = options.ca_bundle or (environ or {}).get(CA_BUNDLE_ENV)
    if ca_bundle:
        argv.append(f"--secret=id=ca,src={_ca_bundle(ca_bundle)}")
    argv.append(str(service.recipe.context))
    return BuildPlan(ref, args, labels, tuple(argv), tuple(client.env().items()), tuple(notes), archive)


def _recipe_options(service: Service, target: str, client: BuildClient) -> list[str]:
    """--file, --target (none for an unnamed last stage) and the named contexts, from the service's recipe."""
    recipe = service.recipe
    stage = recipe.stage_of(target)
    argv = ["--file", str(recipe.dockerfile), *(["--target", stage] if stage else [])]
    if recipe.named_contexts and client.kind != "buildx":
        raise UsageError(f"{service.name} uses named build contexts, which need the docker buildx plugin: install it")
    return argv + [f"--build-context={name}={path}" for name, path in recipe.named_contexts.items()]


def _buildx_options(options: BuildOptions, client: BuildClient, archive: str | None, image: str) -> list[str]:
    argv = [f"--progress={options.progress}"]
    if client.kind == "buildx":
        if options.builder:
            argv.append(f"--builder={options.builder}")
        argv.append(f"--output=type=oci,dest={archive},name={image},rewrite-timestamp=true" if archive else "--load")
        if options.oci_layout:  # a second exporter (BuildKit 0.13): the same image, the same digest, as files
            argv.append(f"--output=type=oci,dest={options.oci_layout},tar=false")
    elif options.builder or options.cache_to or options.oci_layout:
        raise UsageError(
            "--builder, --cache-to and --by-digest need the docker buildx plugin: install it (see README, Set-up)"
        )
    if options.no_cache:
        argv.append("--no-cache")
    if options.platforms:
        argv.append(f"--platform={','.join(options.platforms)}")
    argv += [f"--cache-from={c}" for c in options.cache_from]
    argv += [f"--cache-to={c}" for c in options.cache_to]
    return argv


def _cache_options(
    ref: ImageRef, options: BuildOptions, client: BuildClient, facts: EngineFacts, notes: list[str]
) -> list[str]:
    """`--cache registry`: import and export BuildKit's whole cache (mode=max) beside the image in its registry.

    A missing cache or a failed export only warns (BuildKit's own behaviour with ignore-error=true): a CI runner
    whose registry cache is gone still builds, cold.
    """
    if options.cache not in CACHE_MODES:
        raise UsageError(f"--cache {options.cache!r}: use one of {', '.join(CACHE_MODES)}")
    if options.cache == "none":
        return []
    if client.kind != "buildx":
        raise UsageError("--cache registry needs the docker buildx plugin: install it (scripts/bootstrap-engine.sh)")
    argv = [f"--cache-from=type=registry,ref={ref.cache}"]
    if facts.containerd_store or options.builder:
        argv.append(f"--cache-to=type=registry,ref={ref.cache},mode=max,ignore-error=true")
    else:
        notes.append(f"cache export skipped: the docker driver exports a registry cache only with {STORE_SETTING}")
    return argv


def _provenance(options: BuildOptions, client: BuildClient, facts: EngineFacts) -> list[str]:
    """SLSA provenance from BuildKit, kept in the image index.

    Default: min for a release (it records no build-arg values), off for a local build, whose image digest then
    stays reproducible (an attestation records the build's start and end times).
    """
    mode = options.provenance
    if mode is not None and mode not in PROVENANCE_MODES:
        raise UsageError(f"--provenance {mode!r}: use one of {', '.join(PROVENANCE_MODES)}")
    if client.kind != "buildx":
        if mode not in (None, "off"):
            raise UsageError("--provenance needs the docker buildx plugin: install it (scripts/bootstrap-engine.sh)")
        return []
    keeps = facts.containerd_store or bool(options.builder)
    if mode is None:
        mode = "min" if keeps and options.release else "off"
    if mode != "off" and not keeps:
        raise EnvironmentProblem(f"--provenance {mode} needs the containerd image store: set {STORE_SETTING}")
    return ["--provenance=false"] if mode == "off" else [f"--provenance=mode={mode}"]


def _ca_bundle(path: str) -> str:
    bundle = Path(path).expanduser()
    if not bundle.is_file():
        raise UsageError(f"CA bundle {path} does not exist: give a PEM file (e.g. /etc/ssl/certs/ca-certificates.crt)")
    return str(bundle.resolve())


def _oci_archive(
    ref: ImageRef, options: BuildOptions, client: BuildClient, facts: EngineFacts, scratch: Path | None
) -> str | None:
    """Where a reproducible build writes its OCI archive (None: a plain --load). Only the containerd store
    loads an OCI archive under its own digest, so that is what reproducible needs (a release gets it there)."""
    keeps = client.kind == "buildx" and (facts.containerd_store or bool(options.builder))
    wanted = options.reproducible if options.reproducible is not None else (options.release and keeps)
    if options.oci_layout and wanted:
        # A by-digest platform job exports its OCI layout beside --load; the archive route would give the loaded
        # image rewritten timestamps and the layout not, so the two digests would part. Not reproducible yet.
        if options.reproducible:
            raise UsageError("--reproducible cannot be combined with --by-digest yet: drop one of them")
        return None
    if not wanted:
        return None
    if not keeps:
        raise EnvironmentProblem(
            f"--reproducible needs the buildx plugin and the containerd image store: set {STORE_SETTING}"
        )
    name = f"{ref.service.name}-{ref.tag}.oci.tar"
    return str((scratch or Path("/tmp")) / name)


def _dockerfile(catalog: Catalog, service: Service) -> str:
    return service.recipe.dockerfile.read_text(encoding="utf-8")


def _refresh_options(catalog: Catalog, ref: ImageRef, options: BuildOptions, client: BuildClient) -> list[str]:
    """--refresh: the stages that install OS packages run again (a shared mode=max cache would keep last month's
    `apk upgrade` forever), and the base images are asked of their registry afresh."""
    if not options.refresh:
        return []
    if client.kind != "buildx":
        raise UsageError("--refresh needs the docker buildx plugin: install it (scripts/bootstrap-engine.sh)")
    stages = reproduce.package_stages(_dockerfile(catalog, ref.service))
    return ["--pull", *([f"--no-cache-filter={','.join(stages)}"] if stages else [])]


def _pin_bases(
    catalog: Catalog, ref: ImageRef, args: tuple[tuple[str, str], ...], bases: Mapping[str, str]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """Build on the resolved digests and label the final stage's base as ko does (base.name, base.digest)."""
    if not bases:
        return args, ()
    values = dict(args)
    for name, digest in bases.items():
        values[name] = reproduce.pinned(values[name], digest)
    final = reproduce.base_arg(_dockerfile(catalog, ref.service), ref.target)
    if final not in bases:
        return tuple(values.items()), ()
    name = dict(args)[final].split("@", 1)[0]
    return tuple(values.items()), ((reproduce.BASE_NAME, name), (reproduce.BASE_DIGEST, bases[final]))
