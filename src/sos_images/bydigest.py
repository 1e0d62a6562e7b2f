"""Multi-platform releases built natively, one platform per machine (docker's multi-runner recipe).

`publish_platform`: each runner builds its own platform, checks read-only that the version's tags are free or
hold the same content, pushes the image by digest (no tag) and records the digest in a small JSON file.
`merge`: one job reads those records, checks the release's tags again, joins the digests into one index under
the policy's tags with `docker buildx imagetools create` (provenance travels: each platform's attestation
manifest is kept), and signs the index. The docker driver refuses `push-by-digest`, so the build also exports an
OCI layout (a second exporter, same digest) that distribution.push_layout pushes through the registry's API.
"""

from __future__ import annotations

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
from .tags import TagPolicy, release_tags, semver_tags

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


# --- the release's tags across the two steps -------------------------------------------------------------


@dataclass(frozen=True)
class TagDecision:
    tag: str
    action: str  # create | move | keep | refuse
    reason: str
    current: str = ""  # the digest the registry's tag points at now

    @property
    def writes(self) -> bool:
        return self.action in ("create", "move")


def floating_tags(ref: ImageRef, tags: list[str]) -> set[str]:
    """The policy's tags that follow releases (latest, MAJOR, MAJOR.MINOR); the rest are immutable."""
    suffix = "" if ref.is_default_target else f"-{ref.target}"
    lines = (semver_tags(ref.version) or [])[1:]
    return {t for t in tags if t in {f"{f}{suffix}" for f in lines} | {"latest"}}


def decide(
    tags: list[str], floating: set[str], existing: Mapping[str, tuple[str, Content] | None], new: Content
) -> list[TagDecision]:
    """Immutable tags: free (create), the same content (keep) or other content (refuse). Floating tags move.
    `new` may hold only some platforms (a platform job): those are compared, the rest not yet known."""
    decisions = []
    for tag in tags:
        found = existing.get(tag)
        if found is None:
            decisions.append(TagDecision(tag, "create", "free"))
            continue
        digest, held = found
        if tag in floating:
            decisions.append(TagDecision(tag, "move", "a floating tag follows the release", digest))
        elif all(held.get(p) == c for p, c in new.items()) and (len(new) < 2 or set(held) == set(new)):
            decisions.append(TagDecision(tag, "keep", "holds the same content", digest))
        else:
            decisions.append(TagDecision(tag, "refuse", "holds other content", digest))
    return decisions


def refuse_changes(decisions: list[TagDecision], repository: str) -> None:
    refused = [d for d in decisions if d.action == "refuse"]
    if refused:
        names = ", ".join(f"{repository}:{d.tag} ({d.current})" for d in refused)
        raise CheckFailed(f"{names} already hold other content and version tags never change: release a new "
                          "version (nothing was pushed or tagged)")  # fmt: skip


def existing_content(registry: distribution.Registry, name: str, tags: list[str]) -> dict[str, Any]:
    """(digest, content) of each of `tags` the repository has: one tag list, then the manifests it needs."""
    present = set(registry.tags(name))
    found: dict[str, Any] = {}
    for tag in tags:
        manifest = registry.manifest(name, tag) if tag in present else None
        found[tag] = (manifest.digest, distribution.content(registry, name, tag) or {}) if manifest else None
    return found


def plan_tags(catalog: Catalog, ref: ImageRef, policy: TagPolicy) -> list[str]:
    commit = process.source_info(catalog.root).commit
    return release_tags(ref.version, ref.target, ref.service.language.default_target, commit, policy)


def check_tags(ref: ImageRef, tags: list[str], new: Content, environ: Mapping[str, str] = os.environ) -> list[Any]:
    """Read-only: the registry's view of the release's tags against `new`; refuses before anything changes."""
    host, name = distribution.split_repository(ref.repository)
    registry = distribution.Registry(host, environ)
    decisions = decide(tags, floating_tags(ref, tags), existing_content(registry, name, tags), new)
    refuse_changes(decisions, ref.repository)
    return decisions


def imagetools_argv(repository: str, tags: list[str], digests: list[str], dry_run: bool = False) -> list[str]:
    argv = ["docker", "buildx", "imagetools", "create", *(["--dry-run"] if dry_run else [])]
    argv += [f"--tag={repository}:{tag}" for tag in tags]
    return argv + [f"{repository}@{digest}" for digest in digests]


def merged_index(repository: str, digests: list[str]) -> dict[str, Any]:
    """The index imagetools would push (its --dry-run), without pushing it."""
    argv = imagetools_argv(repository, ["merge-preview"], digests, dry_run=True)
    proc = process.run(argv, capture=True, echo=False, check=False)
    if proc.returncode != 0:
        raise CommandFailed(f"imagetools create --dry-run failed: {process.last_line(proc.stderr)}")
    return json.loads(proc.stdout)


def resolve(catalog: Catalog, service: str, target: str, version: str, registry: str) -> ImageRef:
    ref = refs.resolve(catalog, service or None, target or None, version, registry or None)
    if not ref.registry.host:
        raise UsageError(f"registry {ref.registry.name!r} has no host to push to: pass --registry NAME")
    return ref
