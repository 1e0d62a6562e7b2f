"""The two steps of a release built natively, one platform per machine: `publish_platform` on each runner, then
one `merge`. Rules, records and the registry reads are in bydigest; this module runs them in order."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import build, bydigest, distribution, summary
from .bydigest import PlatformRecord
from .catalog import Catalog
from .engine import Engine
from .errors import CheckFailed, CommandFailed, UsageError
from .plans import BuildOptions
from .refs import ImageRef
from .report import Reporter
from .tags import TagPolicy


@dataclass(frozen=True)
class ReleaseOptions:
    """What both steps share: the tag policy, the digest folder, the summary file, the deliberate overrides."""

    policy: TagPolicy
    digests: Path
    summary: str = ""
    force: bool = False
    force_tags: bool = False


def one_platform(platforms: tuple[str, ...]) -> str:
    if len(platforms) != 1:
        given = ",".join(platforms) or "none"
        raise UsageError(f"--by-digest builds one platform per job (given: {given}): pass e.g. --platform "
                         "linux/arm64, one job per platform, then invoke merge")  # fmt: skip
    return platforms[0]


def publish_platform(
    catalog: Catalog, service: str, options: BuildOptions, release: ReleaseOptions, out: Reporter, *, verify: bool
) -> dict[str, Any]:
    """Build one platform, (verify it natively), check the release's tags, push it by digest, record the digest."""
    ref = bydigest.resolve(catalog, service, options.target or "", options.version, options.registry or "")
    platform = one_platform(options.platforms)
    options = replace(options, release=True)
    build.make_plan(catalog, service, options)  # a platform this engine cannot build is refused before anything
    request = bydigest.request_for(catalog, ref, release.policy, force=release.force)
    repository = bydigest.read_release(ref, request)  # then the registry: a missing login fails in seconds
    with tempfile.TemporaryDirectory(prefix="sos-oci-") as tmp:
        layout = Path(tmp) / "layout"
        built = build.build(catalog, service, replace(options, oci_layout=str(layout)), out)
        verified = _verify(catalog, ref, platform, out) if verify else "not run"
        top = distribution.layout_index(layout)
        content = distribution.layout_content(layout)
        decided = bydigest.check_release(request, ref, repository, bydigest.image_of(top.digest, content),
                                         partial=True)  # fmt: skip
        host, name = distribution.split_repository(ref.repository)
        distribution.push_layout(distribution.Registry(host), name, layout)
        record = _record(ref, platform, top, layout, built, verified, request.commit)
    out.success(f"Pushed {ref.repository}@{record.digest} ({platform}), no tag: invoke merge tags it")
    path = bydigest.write_record(record, release.digests)
    out.info(f"Digest recorded in {path}")
    summary.append(release.summary, summary.platform_job(record, decided.decisions))
    return {"record": str(path), **record.__dict__, "tags": decided.to_dict(), "build": built.to_dict()}


def _verify(catalog: Catalog, ref: ImageRef, platform: str, out: Reporter) -> str:
    """The smoke test, on the runner's own hardware; another platform's image cannot run here."""
    from .checks import verify

    native = Engine().facts().native
    if platform != native:
        out.warn(f"verify skipped: {platform} does not run on this engine ({native})")
        return f"skipped (not {native})"
    result = verify.verify(catalog, ref, Reporter(stream=out.stream))
    return f"passed ({len(result.checks)} checks)"


def _record(
    ref: ImageRef, platform: str, top: distribution.Manifest, layout: Path, built: Any, verified: str, commit: str
) -> PlatformRecord:
    entries = distribution.platform_entries(top.data) if top.is_index else [{"digest": top.digest}]
    manifest = distribution.layout_manifest(layout, entries[0])
    return PlatformRecord(
        service=ref.service.name, target=ref.target, version=ref.version, repository=ref.repository,
        platform=platform, digest=top.digest, manifest=manifest.digest,
        size=distribution.compressed_size(manifest.data), unpacked=built.report.unpacked if built.report else 0,
        commit=commit, provenance=top.is_index and distribution.has_attestations(top.data), verify=verified,
    )  # fmt: skip


# --- merge ---------------------------------------------------------------------------------------------------


def merge(
    catalog: Catalog, ref: ImageRef, release: ReleaseOptions, out: Reporter, *, signing: Any = None,
    dry_run: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """One index from the platform jobs' digests under the release's tags (checked again), then signed."""
    records = bydigest.read_records(release.digests, ref)
    _no_twice(records)
    host, name = distribution.split_repository(ref.repository)
    registry = distribution.Registry(host)
    content = _pushed_content(registry, name, records)
    digests = [r.digest for r in records]
    digest, index = bydigest.merged_index(ref.repository, digests)
    request = bydigest.request_for(catalog, ref, release.policy, force=release.force, force_tags=release.force_tags)
    repository = bydigest.read_repository(registry, name, request.tags)
    decided = bydigest.check_release(request, ref, repository, bydigest.image_of(digest, content), partial=False)
    for decision in decided.decisions:
        out.line("MERGE", decision.line())
    argv = bydigest.imagetools_argv(ref.repository, decided.to_push, digests)
    result: dict[str, Any] = {"repository": ref.repository, "platforms": sorted(content), "tags": decided.to_dict()}
    if dry_run:
        out.info("Dry run: nothing tagged. The command:" if decided.to_push else "Dry run: every tag is as it is")
        return result | {"dry_run": True, "digest": digest, "command": argv if decided.to_push else []}
    _create(argv, decided.to_push, out)
    pushed = _version_digest(registry, name, ref)
    facts = {"provenance": "present" if distribution.has_attestations(index) else "absent"}
    if signing:
        from . import sign

        facts["sign"] = sign.sign_and_attest(ref, pushed, signing, out, from_registry=True)
    out.fields([("Index", f"{ref.repository}@{pushed}"), ("Platforms", ", ".join(sorted(content))),
                ("Provenance", facts["provenance"])], level="MERGE")  # fmt: skip
    summary.append(release.summary, summary.merge_job(ref, pushed, records, decided.decisions, facts))
    return result | {"digest": pushed, **facts, "records": [r.__dict__ for r in records]}


def _no_twice(records: list[PlatformRecord]) -> None:
    platforms = [r.platform for r in records]
    twice = sorted({p for p in platforms if platforms.count(p) > 1})
    if twice:
        raise UsageError(f"two digest records for {', '.join(twice)}: keep one per platform")


def _pushed_content(registry: distribution.Registry, name: str, records: list[PlatformRecord]) -> dict[str, Any]:
    """Each record's digest must be in the registry (its platform job pushed it); their content, per platform."""
    found: dict[str, Any] = {}
    for record in records:
        held = distribution.content(registry, name, record.digest)
        if held is None:
            raise CommandFailed(f"{record.repository}@{record.digest} ({record.platform}) is not in the registry: "
                                "re-run that platform's job")  # fmt: skip
        found |= held
    return found


def _create(argv: list[str], tags: list[str], out: Reporter) -> None:
    from . import process

    if not tags:
        out.success("Every tag already holds this release: nothing to tag")
        return
    process.run(argv)
    out.success(f"Tagged {', '.join(tags)}")


def _version_digest(registry: distribution.Registry, name: str, ref: ImageRef) -> str:
    manifest = registry.manifest(name, ref.tag)
    if manifest is None:
        raise CheckFailed(f"{ref.repository}:{ref.tag} is not in the registry after the merge: check the registry")
    return manifest.digest
