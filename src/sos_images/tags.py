"""Docker tags and the release tag policy, like docker/metadata-action's, on Semantic Versioning 2.0.0. Pure.

A version becomes a Docker tag with '+' (SemVer build metadata) turned into '-', as metadata-action sanitizes
git tags; anything else a tag cannot hold is refused, never rewritten silently. Every tag returned here
matches Docker's grammar and is at most 128 characters, or the function raises UsageError.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

DOCKER_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # use with fullmatch
_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = rf"(?:{_NUM}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"  # numeric without leading zeros, or alphanumeric
_BUILD_ID = r"[0-9A-Za-z-]+"
SEMVER = re.compile(  # SemVer 2.0.0 with an optional 'v'; ASCII digits only (\d would take any script's)
    rf"v?(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?"
)
SEMVER_MODES = ("auto", "required", "off")
TAG_RULE = "letters, digits, '_', '.' and '-' ('+' becomes '-'), up to 128 characters, not starting with '.' or '-'"


@dataclass(frozen=True)
class TagPolicy:
    semver: str = "auto"  # auto: semver tags when the version parses; required: refuse otherwise; off: never
    latest: bool = True  # 'latest' for a release of the default target
    sha: bool = False  # also 'sha-<short commit>'

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], **overrides: Any) -> TagPolicy:
        merged = {k.replace("-", "_"): v for k, v in settings.items()} | {
            k: v for k, v in overrides.items() if v is not None
        }
        policy = cls(**{k: v for k, v in merged.items() if k in ("semver", "latest", "sha")})
        if policy.semver not in SEMVER_MODES:
            raise UsageError(f"tag policy semver={policy.semver!r}: use one of {', '.join(SEMVER_MODES)}")
        return policy


def docker_tag(version: str, suffix: str = "") -> str:
    """`version` + `suffix` as a Docker tag: '+' becomes '-' (metadata-action's sanitizing); otherwise refused."""
    tag = version.replace("+", "-") + suffix
    if not DOCKER_TAG.fullmatch(tag):
        reason = "is longer than Docker's 128 characters" if len(tag) > 128 else "is not a valid Docker tag"
        raise UsageError(f"tag {tag!r} {reason}: a version may use {TAG_RULE} (e.g. v1.2.3)")
    return tag


def semver_tags(version: str) -> list[str] | None:
    """The floating tags of a SemVer version, or None when it is not one. Build metadata never reaches them."""
    match = SEMVER.fullmatch(version)
    if not match:
        return None
    major, minor, patch, pre = match.group("major", "minor", "patch", "pre")
    if pre:
        return [f"{major}.{minor}.{patch}-{pre}"]
    return [f"{major}.{minor}.{patch}", f"{major}.{minor}", major]


def release_tags(version: str, target: str, default_target: str, commit: str, policy: TagPolicy) -> list[str]:
    """Tags for one pushed image, most specific first. Non-default targets carry a '-<target>' suffix."""
    suffix = "" if target == default_target else f"-{target}"
    floating = semver_tags(version) if policy.semver != "off" else None
    if policy.semver == "required" and floating is None:
        raise UsageError(
            f"version {version!r} is not semantic (vMAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], SemVer 2.0.0: "
            "no leading zeros, no empty identifiers) but semver tags are required: use e.g. v1.2.3, "
            "or push without --semver"
        )
    tags = [version, *(floating or [])]
    stable = floating is not None and len(floating) == 3
    if stable and policy.latest and target != "development":
        tags.append("latest")
    if policy.sha and commit and commit != "unknown":
        tags.append(f"sha-{commit[:7]}")
    return list(dict.fromkeys(docker_tag(tag, suffix) for tag in tags))
