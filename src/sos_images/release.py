"""Release orchestration shared by both front ends: push (then sign), publish (build, push, sign), and the report.

Signing is checked (cosign, key, password) before anything is built or pushed, and signs the digest the push
reported, never whatever a tag points at by then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from . import refs
from .catalog import Catalog
from .errors import CheckFailed
from .plans import BuildOptions
from .release_rules import ReleaseRequest
from .report import Reporter
from .tags import TagPolicy


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
    force: bool = False  # overwrite an immutable tag that holds other content
    force_tags: bool = False  # move floating tags backwards, or without a tag list
    digests: str = ""  # one platform per runner: the folder of digest records
    summary: str = ""  # a Markdown job summary is appended here
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
    """Push under the tags the release rules allow; what was pushed (or would be) as a JSON-ready dict.

    The registry is read first (release_check): a refused tag stops the push before anything is tagged or sent.
    """
    from . import process, release_check
    from .engine import Engine
    from .registry import plan_push, push

    policy = TagPolicy.from_settings(catalog.settings.get("tags", {}), semver="required" if release.semver else None,
                                     sha=release.sha or None, latest=None if release.latest else False)  # fmt: skip
    commit = process.source_info(catalog.root).commit
    plan = plan_push(catalog, release.service, release.registry or None, release.version, release.target or None,
                     policy, commit)  # fmt: skip
    engine = Engine()
    engine.ping()
    checked = release_check.check(plan, _request(plan.ref, commit, policy, release), engine, dry_run=dry_run)
    report_decisions(checked, out)
    result: dict[str, Any] = {"service": plan.service, "registry": plan.ref.registry.name, "dry_run": dry_run,
                              "source": checked.source, "tags": checked.release.to_dict()}  # fmt: skip
    if checked.release.refused:
        raise CheckFailed(checked.release.refusal())
    todo = replace(plan, tags=tuple(checked.release.to_push))
    if dry_run:
        return result | {"digest": checked.image.digest, "pushed": [{"ref": r, "digest": ""} for r in todo.refs]}
    if not todo.tags:  # every tag already holds this image: say which local image that is, as a push does
        out.line("PUSH", f"local image {checked.source}")
    pushed = push(todo, engine, out) if todo.tags else []
    return result | _pushed_facts(engine, pushed, plan.refs[0], checked.current_digest, out)


def _request(ref: refs.ImageRef, commit: str, policy: TagPolicy, release: Release) -> ReleaseRequest:
    language = ref.service.language
    return ReleaseRequest(ref.version, ref.target, language.default_target, tuple(language.targets), commit, policy,
                          force=release.force, force_tags=release.force_tags)  # fmt: skip


def _pushed_facts(engine: Any, pushed: list[Any], first: str, kept: str, out: Reporter) -> dict[str, Any]:
    """The digest the release's tags point at, and the platforms and provenance the registry holds under them."""
    from .registry import describe_pushed

    index = describe_pushed(pushed[0].ref if pushed else first, engine)
    if index:
        out.fields([("Platforms", ", ".join(index["platforms"])), ("Provenance", index["provenance"])], level="PUSH")
    digest = pushed[0].digest if pushed else kept
    return {"digest": digest, **index, "pushed": [{"ref": p.ref, "digest": p.digest} for p in pushed]}


def report_decisions(checked: Any, out: Reporter) -> None:
    """One line per tag: created, moved, kept (and why) or refused."""
    if not checked.listed:
        out.warn("the registry refused its tag list; --force-tags: floating tags move without the forward-only check")
    for decision in checked.release.decisions:
        level = {"refuse": "ERROR", "keep": "KEEP"}.get(decision.action, "TAG")
        out.line(level, decision.line())


def push(catalog: Catalog, release: Release, out: Reporter, dry_run: bool = False) -> dict[str, Any]:
    """Push a built image under every policy tag; with sign, sign and attest the pushed digest."""
    opts = ready_to_sign(catalog, release) if release.sign and not dry_run else None
    result = _push(catalog, release, out, dry_run)
    if opts:
        result["sign"] = sign_pushed(catalog, release, result["digest"], opts, out)
    return result


def publish(
    catalog: Catalog, release: Release, options: BuildOptions, out: Reporter, dry_run: bool = False
) -> dict[str, Any]:
    """Build (named for the registry), push, and with sign sign and attest; stops at the first failure.

    A dry run builds locally (for the digests the tags would point at), reads the registry, pushes and signs nothing.
    """
    from . import build, rebuild

    opts = ready_to_sign(catalog, release) if release.sign and not dry_run else None
    built = build.build(catalog, release.service, options, out)
    if release.if_changed:
        if not rebuild.changed(catalog, built, out):
            return {"build": built.to_dict(), "push": None}
        # a refresh that changed content is the sanctioned overwrite of the immutable version tag
        release = replace(release, force=True)
    pushed = _push(catalog, release, out, dry_run)
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
