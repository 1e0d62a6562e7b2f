"""Multi-platform releases built natively, one platform per machine (docker's multi-runner recipe).

`publish_platform`: each runner builds its own platform, checks read-only that the version's tags are free or
hold the same content, pushes the image by digest (no tag) and records the digest in a small JSON file.
`merge`: one job reads those records, checks the release's tags again, joins the digests into one index under
the policy's tags with `docker buildx imagetools create` (provenance travels: each platform's attestation
manifest is kept), and signs the index. The docker driver refuses `push-by-digest`, so the build also exports an
OCI layout (a second exporter, same digest) that distribution.push_layout pushes through the registry's API.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import distribution, process, refs
from .catalog import Catalog
from .errors import CheckFailed, CommandFailed, UsageError
from .refs import ImageRef
from .release_rules import Image, Release, ReleaseRequest, decide
from .tags import TagPolicy

Content = Mapping[str, tuple[str, ...]]  # platform -> (config digest, layer digests...)


@dataclass(frozen=True)
class PlatformRecord:
    """What a platform job leaves for the merge: one JSON file per platform."""

    service: str
    target: str
    version: str
    repository: str
    platform: str
    digest: str  # the platform's index (its image manifest and provenance attestation)
    manifest: str  # the image manifest inside it
    size: int  # bytes a pull downloads
    unpacked: int  # bytes in the engine that built it
    commit: str
    provenance: bool
    verify: str = "not run"

    @property
    def filename(self) -> str:
        return record_name(self.service, self.target, self.platform)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def record_name(service: str, target: str, platform: str) -> str:
    return f"{service}-{target}-{platform.replace('/', '-')}.json"


def write_record(record: PlatformRecord, folder: Path) -> Path:
    """Atomically: a merge never reads half a record."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / record.filename
    with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False, encoding="utf-8") as tmp:
        tmp.write(record.to_json())
    os.replace(tmp.name, dest)
    return dest


def read_records(folder: Path, ref: ImageRef) -> list[PlatformRecord]:
    """The records of this service, target and version in folder; they must agree on repository and commit."""
    if not folder.is_dir():
        raise UsageError(f"digest folder {folder} does not exist: run invoke publish --by-digest per platform first")
    records = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = PlatformRecord(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{path} is not a digest record ({exc}): remove it or re-run its platform job") from None
        if (record.service, record.target, record.version) == (ref.service.name, ref.target, ref.version):
            records.append(record)
    return check_records(records, ref, folder)


def check_records(records: list[PlatformRecord], ref: ImageRef, folder: Path) -> list[PlatformRecord]:
    what = f"{ref.service.name} {ref.target} {ref.version}"
    if not records:
        raise UsageError(f"no digest record for {what} in {folder}: run invoke publish --by-digest per platform")
    for field in ("repository", "commit"):
        values = sorted({getattr(r, field) for r in records})
        if len(values) > 1:
            raise UsageError(f"the digest records of {what} disagree on the {field} ({', '.join(values)}): "
                             "re-run every platform job of one commit")  # fmt: skip
    if records[0].repository != ref.repository:
        raise UsageError(f"the digest records of {what} are for {records[0].repository}, not {ref.repository}: "
                         "pass the --registry the platform jobs used")  # fmt: skip
    return records


# --- the release's tags across the two steps (release_rules decides; this reads the registry for it) -----


def content_id(layers: tuple[str, ...]) -> str:
    """One platform's content as release_rules compares it: its config and layer digests."""
    return ",".join(layers)


def image_of(digest: str, content: Content) -> Image:
    return Image(digest, {platform: content_id(layers) for platform, layers in content.items()})


def read_repository(registry: distribution.Registry, name: str, tags: list[str]) -> dict[str, Image | None]:
    """Every tag the repository lists; the manifests of the tags this release would push are read."""
    repository: dict[str, Image | None] = dict.fromkeys(registry.tags(name))
    for tag in tags:
        if tag in repository:
            manifest = registry.manifest(name, tag)
            held = distribution.content(registry, name, tag) if manifest else None
            repository[tag] = image_of(manifest.digest, held or {}) if manifest else None
    return repository


def only_platforms(repository: dict[str, Image | None], platforms: set[str]) -> dict[str, Image | None]:
    """A platform job knows one platform: compare each tag's image on that platform alone (a tag that lacks it
    holds other content)."""
    narrowed: dict[str, Image | None] = {}
    for tag, image in repository.items():
        held = (image.platforms or {}) if image else {}
        narrowed[tag] = Image(image.digest, {p: held.get(p, "") for p in platforms}) if image else None
    return narrowed


def request_for(catalog: Catalog, ref: ImageRef, policy: TagPolicy, *, force: bool = False,
                force_tags: bool = False) -> ReleaseRequest:  # fmt: skip
    return ReleaseRequest(
        ref.version, ref.target, ref.service.language.default_target, tuple(ref.service.targets),
        process.source_info(catalog.root).commit, policy, force=force, force_tags=force_tags,
    )  # fmt: skip


def read_release(ref: ImageRef, request: ReleaseRequest, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Read-only, one tag list and the manifests the rules need: an unreachable registry or a missing login
    fails here, before a platform job spends its build."""
    host, name = distribution.split_repository(ref.repository)
    return read_repository(distribution.Registry(host, environ), name, request.tags)


def check_release(
    request: ReleaseRequest, ref: ImageRef, repository: dict[str, Image | None], candidate: Image, *, partial: bool
) -> Release:
    """The rules against what the registry held; refuses (CheckFailed) before anything changes.
    `partial`: a platform job, which checks the immutable tags on its own platform only."""
    if partial:
        repository = only_platforms(repository, set(candidate.platforms or {}))
    release = decide(request, repository, candidate)
    if partial:
        release = Release(tuple(d for d in release.decisions if d.kind != "floating"))
    if release.refused:
        raise CheckFailed(f"{ref.repository}:{release.refusal()} (nothing was pushed or tagged)")
    return release


def imagetools_argv(repository: str, tags: list[str], digests: list[str], dry_run: bool = False) -> list[str]:
    argv = ["docker", "buildx", "imagetools", "create", *(["--dry-run"] if dry_run else [])]
    argv += [f"--tag={repository}:{tag}" for tag in tags]
    return argv + [f"{repository}@{digest}" for digest in digests]


def merged_index(repository: str, digests: list[str]) -> tuple[str, dict[str, Any]]:
    """(digest, index) that imagetools would push (its --dry-run prints those exact bytes), pushing nothing."""
    argv = imagetools_argv(repository, ["merge-preview"], digests, dry_run=True)
    proc = process.run(argv, capture=True, echo=False, check=False)
    if proc.returncode != 0:
        raise CommandFailed(f"imagetools create --dry-run failed: {process.last_line(proc.stderr)}")
    body = proc.stdout.removesuffix("\n").encode()
    return "sha256:" + hashlib.sha256(body).hexdigest(), json.loads(body)


def resolve(catalog: Catalog, service: str, target: str, version: str, registry: str) -> ImageRef:
    ref = refs.resolve(catalog, service or None, target or None, version, registry or None)
    if not ref.registry.host:
        raise UsageError(f"registry {ref.registry.name!r} has no host to push to: pass --registry NAME")
    return ref
