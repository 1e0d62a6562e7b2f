"""Release tag policy, in the spirit of docker/metadata-action. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?$"
)
SEMVER_MODES = ("auto", "required", "off")


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


def release_tags(version: str, target: str, default_target: str, commit: str, policy: TagPolicy) -> list[str]:
    """Tags for one pushed image, most specific first. Non-default targets carry a '-<target>' suffix."""
    suffix = "" if target == default_target else f"-{target}"
    tags = [version]
    match = SEMVER.match(version) if policy.semver != "off" else None
    if policy.semver == "required" and not match:
        raise UsageError(
            f"version {version!r} is not semantic (vMAJOR.MINOR.PATCH[-PRERELEASE]) but semver tags are required: "
            "use e.g. v1.2.3, or push without --semver"
        )
    if match:
        major, minor, patch, pre = match.group("major", "minor", "patch", "pre")
        if pre:
            tags.append(f"{major}.{minor}.{patch}-{pre}")
        else:
            tags += [f"{major}.{minor}.{patch}", f"{major}.{minor}", major]
            if policy.latest and target != "development":
                tags.append("latest")
    if policy.sha and commit and commit != "unknown":
        tags.append(f"sha-{commit[:7]}")
    return [f"{tag}{suffix}" for tag in dict.fromkeys(tags)]
