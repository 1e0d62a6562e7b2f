"""Release orchestration shared by both front ends: push (then sign), publish (build, push, sign), and the report.

Signing is checked (cosign, key, password) before anything is built or pushed, and signs the digest the push
reported, never whatever a tag points at by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import refs
from .catalog import Catalog
from .plans import BuildOptions
from .report import Reporter


@dataclass(frozen=True)
class Release:
    """What push and publish need besides the image: the tag policy's flags and signing."""

    service: str
    registry: str = ""
    version: str = "latest"
    target: str = ""
    semver: bool = False
    sha: bool = False
    latest: bool = True
    sign: bool = False
    key: str = ""
    keyless: bool = False
    digests: str = ""  # one platform per runner: the folder of digest records
    summary: str = ""  # a Markdown job summary is appended here
    force: bool = False
    force_tags: bool = False
    if_changed: bool = False  # the weekly refresh: push and sign only when the rebuilt digests differ


def signing(catalog: Catalog, key: str = "", keyless: bool = False, tlog_upload: bool = False, sbom_format: str = ""):
    """The signing settings: the arguments, then [tool.sos-images.sign]."""
    from . import sign

    return sign.SignSettings.from_catalog(
        catalog.settings, key=key, keyless=keyless, tlog_upload=tlog_upload, sbom_format=sbom_format
    )


def ready_to_sign(catalog: Catalog, release: Release) -> Any:
    from . import sign

    opts = signing(catalog, release.key, release.keyless)
    sign.ready(opts)
    return opts


def sign_pushed(catalog: Catalog, release: Release, digest: str, opts: Any, out: Reporter) -> dict[str, Any]:
    from . import sign

    ref = refs.resolve(catalog, release.service, release.target, release.version, release.registry)
    return sign.sign_and_attest(ref, digest, opts, out)


def _push(catalog: Catalog, release: Release, out: Reporter, dry_run: bool = False) -> dict[str, Any]:
    from . import commands

    return commands.push_service(
        catalog,
        release.service,
        release.registry,
        release.version,
        release.target,
        out,
        semver=release.semver,
        sha=release.sha,
        latest=None if release.latest else False,
        dry_run=dry_run,
    )


def push(catalog: Catalog, release: Release, out: Reporter, dry_run: bool = False) -> dict[str, Any]:
    """Push a built image under every policy tag; with sign, sign and attest the pushed digest."""
    opts = ready_to_sign(catalog, release) if release.sign and not dry_run else None
    result = _push(catalog, release, out, dry_run)
    if opts:
        result["sign"] = sign_pushed(catalog, release, result["digest"], opts, out)
    return result


def publish(catalog: Catalog, release: Release, options: BuildOptions, out: Reporter) -> dict[str, Any]:
    """Build (named for the registry), push, and with sign sign and attest; stops at the first failure."""
    from . import build, rebuild

    opts = ready_to_sign(catalog, release) if release.sign else None
    built = build.build(catalog, release.service, options, out)
    if release.if_changed and not rebuild.changed(catalog, built, out):
        return {"build": built.to_dict(), "push": None}
    pushed = _push(catalog, release, out)
    report: dict[str, Any] = {"build": built.to_dict(), "push": pushed}
    if opts:
        report["sign"] = sign_pushed(catalog, release, pushed["digest"], opts, out)
    return report


# --- one platform per runner ----------------------------------------------------------------------------------


def _split(catalog: Catalog, release: Release) -> Any:
    from pathlib import Path

    from . import platformjobs
    from .tags import TagPolicy

    policy = TagPolicy.from_settings(catalog.settings.get("tags", {}), semver="required" if release.semver else None,
                                     sha=release.sha or None, latest=None if release.latest else False)  # fmt: skip
    folder = Path(release.digests or "reports/digests")
    return platformjobs.ReleaseOptions(policy, folder, release.summary, release.force, release.force_tags)


def publish_platform(
    catalog: Catalog, release: Release, options: BuildOptions, out: Reporter, *, verify: bool
) -> dict[str, Any]:
    """publish --by-digest: this runner's platform, pushed by digest and recorded; no tag, so nothing to sign."""
    from . import platformjobs
    from .errors import UsageError

    if release.sign:
        raise UsageError("--by-digest pushes no tag and signs nothing: pass --sign to 'invoke merge'")
    return platformjobs.publish_platform(catalog, release.service, options, _split(catalog, release), out,
                                         verify=verify)  # fmt: skip


def merge(catalog: Catalog, release: Release, out: Reporter, dry_run: bool = False) -> dict[str, Any]:
    """One index from the platform jobs' digests under the release's tags; with sign, signed and attested."""
    from . import bydigest, platformjobs

    opts = ready_to_sign(catalog, release) if release.sign and not dry_run else None
    ref = bydigest.resolve(catalog, release.service, release.target, release.version, release.registry)
    return platformjobs.merge(catalog, ref, _split(catalog, release), out, signing=opts, dry_run=dry_run)
