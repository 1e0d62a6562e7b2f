"""Release rules: which tags a release creates, moves, keeps or refuses. Pure: no registry, no engine, no clock.

Entry point: `decide(request, repository, candidate) -> Release`.
- `ReleaseRequest`: the version, target, the language's targets, the commit and the TagPolicy (what tags.release_tags
  would push), plus the two deliberate overrides `force` (overwrite an immutable tag) and `force_tags` (move a
  floating tag even backwards, or without a tag list).
- `repository`: every tag name the registry lists for the repository, mapped to the `Image` it points at (or None
  when its manifest was not read: only the tags this release would push need one). `release_names` reads such a
  listing, leaving out what is not a release (buildcache*, cosign's sha256-....sig/.att/.sbom) and mapping target
  suffixes to their target.
- `candidate`: the `Image` this release would push.

The rules (issue 19): versions compare by SemVer 2.0.0 precedence, build metadata ignored. The version's own tags
(`v2.0.0`, `2.0.0`, their target-suffixed forms) and `sha-` tags are immutable: absent -> create, the same content
-> keep (a re-run is a success that changes nothing), other content -> refuse, unless `force`. Floating tags move
forward only: `latest` for the highest stable version of the target in the repository, `MAJOR` and `MAJOR.MINOR`
for the highest in their line; pre-releases never get one (tags.release_tags gives them none). A version that is
not SemVer (`staging`, `edge`) is a channel: its tag always moves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .tags import SEMVER, TagPolicy, docker_tag, release_tags

ACTIONS = ("create", "move", "keep", "refuse")
COSIGN_TAG = re.compile(r"sha256-[0-9a-f]{64}(?:\.(?:sig|att|sbom))?")
CACHE_TAG = re.compile(r"buildcache(?:[-.].*)?")
FLOATING = re.compile(r"latest|(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))?")


# --- versions ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """A SemVer version; compares by 2.0.0 precedence (build metadata is not part of it)."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()

    @property
    def stable(self) -> bool:
        return not self.pre

    def key(self) -> tuple[Any, ...]:
        # a release ranks above its pre-releases; numeric identifiers below alphanumeric ones (rule 11)
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, not self.pre, pre)

    def __lt__(self, other: Version) -> bool:
        return self.key() < other.key()

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{'.'.join(self.pre)}" if self.pre else "")


def parse_version(text: str) -> Version | None:
    match = SEMVER.fullmatch(text)
    if not match:
        return None
    pre = match.group("pre")
    major, minor, patch = (int(match.group(g)) for g in ("major", "minor", "patch"))
    return Version(major, minor, patch, tuple(pre.split(".")) if pre else ())


# --- what a tag points at ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """A manifest or index digest and, when read, each platform's content id (its config and layers).

    Two images are the same content when their digests match, or when both list the same platforms with the same
    content: an index rebuilt with a new provenance attestation (build times) holds the same images.
    """

    digest: str
    platforms: Mapping[str, str] | None = None  # "linux/amd64" -> content id; None: not read

    def same(self, other: Image) -> bool:
        if self.digest and self.digest == other.digest:
            return True
        return bool(self.platforms) and dict(self.platforms or {}) == dict(other.platforms or {})


@dataclass(frozen=True)
class TagName:
    name: str  # as the registry lists it
    base: str  # without the target suffix
    target: str


def release_names(names: Iterable[str], targets: Sequence[str], default_target: str) -> list[TagName]:
    """The listing's release tags, each with its target (a '-<target>' suffix; none for the default target)."""
    suffixes = sorted((t for t in targets if t != default_target), key=len, reverse=True)
    found = []
    for name in names:
        if COSIGN_TAG.fullmatch(name) or CACHE_TAG.fullmatch(name):
            continue
        target = next((t for t in suffixes if name.endswith(f"-{t}") and len(name) > len(t) + 1), default_target)
        base = name[: -len(target) - 1] if target != default_target else name
        if not CACHE_TAG.fullmatch(base):
            found.append(TagName(name, base, target))
    return found


def stable_versions(names: Iterable[TagName], target: str) -> list[tuple[Version, str]]:
    """(version, tag) of every stable version tag of `target` the repository holds."""
    parsed = ((parse_version(n.base), n.name) for n in names if n.target == target)
    return [(v, name) for v, name in parsed if v is not None and v.stable]


# --- the decision --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseRequest:
    version: str
    target: str
    default_target: str
    targets: tuple[str, ...]
    commit: str = ""
    policy: TagPolicy = field(default_factory=TagPolicy)
    force: bool = False  # overwrite an immutable tag that holds other content
    force_tags: bool = False  # move floating tags even to a lower version

    @property
    def tags(self) -> list[str]:
        return release_tags(self.version, self.target, self.default_target, self.commit, self.policy)

    @property
    def suffix(self) -> str:
        return "" if self.target == self.default_target else f"-{self.target}"


@dataclass(frozen=True)
class TagDecision:
    tag: str
    action: str  # create, move, keep, refuse
    kind: str  # version, sha, floating, channel
    reason: str
    current: str = ""  # the digest the tag points at now ("" when absent)
    new: str = ""  # the digest it would point at after this release

    @property
    def changes(self) -> bool:
        return self.action in ("create", "move")

    def line(self) -> str:
        digests = {"create": self.new, "move": f"{self.current} -> {self.new}", "keep": self.current}
        where = digests.get(self.action, f"{self.current}, this image {self.new}")
        return f"{self.action:<6} {self.tag} ({where}): {self.reason}"

    def to_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ("tag", "action", "kind", "reason", "current", "new")}


@dataclass(frozen=True)
class Release:
    decisions: tuple[TagDecision, ...]

    @property
    def refused(self) -> list[TagDecision]:
        return [d for d in self.decisions if d.action == "refuse"]

    @property
    def to_push(self) -> list[str]:
        return [d.tag for d in self.decisions if d.changes]

    def refusal(self) -> str:
        """One line for the first refused tag: the tag, both digests and the way out."""
        first, others = self.refused[0], [d.tag for d in self.refused[1:]]
        also = f" (also {', '.join(others)})" if others else ""
        return (f"{first.tag} already holds {first.current}, other content than this image {first.new}{also}: "
                "release a new version, or pass --force to overwrite it deliberately")  # fmt: skip

    def to_dict(self) -> list[dict[str, str]]:
        return [d.to_dict() for d in self.decisions]


def kind_of(base: str, request: ReleaseRequest) -> str:
    if base == docker_tag(request.version) and parse_version(request.version) is None:
        return "channel"
    if base.startswith("sha-"):
        return "sha"
    return "floating" if FLOATING.fullmatch(base) else "version"


def decide(request: ReleaseRequest, repository: Mapping[str, Image | None], candidate: Image) -> Release:
    """Every tag this release would push, decided against what the repository holds."""
    names = release_names(repository, request.targets, request.default_target)
    versions = stable_versions(names, request.target)
    decisions = []
    for tag in request.tags:
        base = tag[: len(tag) - len(request.suffix)]
        kind = kind_of(base, request)
        current, exists = repository.get(tag), tag in repository
        if kind in ("version", "sha"):
            decisions.append(_immutable(tag, kind, exists, current, candidate, request.force))
        elif kind == "channel":
            decisions.append(_moving(tag, kind, exists, current, candidate, "a channel tag (not SemVer): it moves"))
        else:
            decisions.append(_floating(tag, base, request, versions, exists, current, candidate))
    return Release(tuple(decisions))


def _digest(image: Image | None) -> str:
    return image.digest if image else ""


def _immutable(tag: str, kind: str, exists: bool, current: Image | None, new: Image, force: bool) -> TagDecision:
    was = _digest(current)
    what = "a version" if kind == "version" else "a commit"
    if not exists:
        return TagDecision(tag, "create", kind, f"new ({what} tag, immutable once pushed)", "", new.digest)
    if current is not None and current.same(new):
        return TagDecision(tag, "keep", kind, "already holds this image (nothing to change)", was, new.digest)
    if force:
        return TagDecision(tag, "move", kind, "other content, overwritten on purpose (--force)", was, new.digest)
    return TagDecision(tag, "refuse", kind, f"{what} tag is immutable and holds other content", was, new.digest)


def _moving(tag: str, kind: str, exists: bool, current: Image | None, new: Image, why: str) -> TagDecision:
    was = _digest(current)
    if not exists:
        return TagDecision(tag, "create", kind, f"new: {why}", "", new.digest)
    if current is not None and current.same(new):
        return TagDecision(tag, "keep", kind, "already points at this image", was, new.digest)
    return TagDecision(tag, "move", kind, why, was, new.digest)


def _floating(
    tag: str,
    base: str,
    request: ReleaseRequest,
    versions: list[tuple[Version, str]],
    exists: bool,
    current: Image | None,
    new: Image,
) -> TagDecision:
    ours = parse_version(request.version)
    assert ours is not None  # release_tags gives floating tags to stable SemVer versions only
    line = _line(base)
    higher = [(v, name) for v, name in versions if ours < v and (v.major, v.minor)[: len(line)] == line]
    if not higher:
        scope = "the repository" if not line else f"the {base}.x line"
        return _moving(tag, "floating", exists, current, new, f"{request.version} is the highest in {scope}")
    best = max(higher, key=lambda item: item[0].key())[1]
    if request.force_tags:
        why = f"moved back on purpose (--force-tags) although {best} is higher"
        return _moving(tag, "floating", exists, current, new, why)
    return TagDecision(tag, "keep", "floating", f"{best} is higher than {request.version}", _digest(current), "")


def _line(base: str) -> tuple[int, ...]:
    """The versions a floating tag ranges over: () for latest, (MAJOR,) or (MAJOR, MINOR)."""
    return () if base == "latest" else tuple(int(part) for part in base.split("."))
