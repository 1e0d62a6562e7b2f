"""Reproducible builds and fresh base packages: what the Dockerfile says (pure) and per-platform comparison.

A reproducible build exports an OCI archive with BuildKit's rewrite-timestamp (Engine 26's docker driver refuses
that option together with the containerd store's unpack) and loads it: file times are clamped to
SOURCE_DATE_EPOCH (the commit time), so two cold builds of one commit give the same per-platform digests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"

_FROM = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", re.I | re.M)
_PACKAGES = re.compile(r"\bapk\s+(?:upgrade|add)\b")


def stages(dockerfile: str) -> dict[str, tuple[str, str]]:
    """Each named stage: (its FROM image, its body's text)."""
    found = list(_FROM.finditer(dockerfile))
    result: dict[str, tuple[str, str]] = {}
    for i, match in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(dockerfile)
        if match.group(2):
            result[match.group(2)] = (match.group(1), dockerfile[match.end() : end])
    return result


def package_stages(dockerfile: str) -> tuple[str, ...]:
    """The stages whose RUN steps install or upgrade OS packages: the ones a refresh must not take from cache."""
    return tuple(name for name, (_, body) in stages(dockerfile).items() if _PACKAGES.search(body))


def base_arg(dockerfile: str, target: str) -> str | None:
    """The build argument naming the image the target's final stage stands on (NODE_IMAGE...), followed
    through stages; None for scratch."""
    known = stages(dockerfile)
    image = known.get(target, ("scratch", ""))[0]
    while image in known:
        image = known[image][0]
    match = re.fullmatch(r"\$\{?(\w+)\}?", image)
    return match.group(1) if match else None


def base_args_used(dockerfile: str, target: str) -> tuple[str, ...]:
    """Every base-image argument the target's stages read (the builder's too), in the Dockerfile's order."""
    known = stages(dockerfile)
    needed, todo = set(), [target]
    while todo:
        name = todo.pop()
        if name in needed or name not in known:
            continue
        needed.add(name)
        image, body = known[name]
        todo += [image, *re.findall(r"--from=(\S+)", body)]
    names = [m.group(1) for n in needed for m in [re.fullmatch(r"\$\{?(\w+)\}?", known[n][0])] if m]
    return tuple(dict.fromkeys(sorted(names)))


def pinned(image: str, digest: str) -> str:
    """`host/alpine:3.19` at `sha256:...` -> `host/alpine:3.19@sha256:...` (an older pin is replaced)."""
    return image.split("@", 1)[0] + "@" + digest


@dataclass(frozen=True)
class Comparison:
    platform: str
    built: str
    published: str | None

    @property
    def same(self) -> bool:
        return self.built == self.published

    def line(self) -> str:
        if self.published is None:
            return f"{self.platform}: differs (not in the registry; rebuilt {self.built})"
        if self.same:
            return f"{self.platform}: same {self.built}"
        return f"{self.platform}: differs (rebuilt {self.built}, published {self.published})"


def compare(built: Mapping[str, str], published: Mapping[str, str]) -> list[Comparison]:
    """Per platform, the rebuilt manifest digest against the published one (attestations left out)."""
    return [Comparison(p, built[p], published.get(p)) for p in sorted(built)]


def platform_digests(index: Mapping[str, object]) -> dict[str, str]:
    """`os/arch[/variant]` -> manifest digest of an OCI index or manifest list, without attestation manifests
    (BuildKit writes them as unknown/unknown); they record build times, so they are never reproducible."""
    result = {}
    for entry in index.get("manifests") or []:  # type: ignore[union-attr]
        plat = entry.get("platform") or {}
        if plat.get("os") in (None, "unknown"):
            continue
        name = "/".join(p for p in (plat.get("os"), plat.get("architecture"), plat.get("variant")) if p)
        result[name] = entry["digest"]
    return result


INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


def archive_digests(archive: str) -> dict[str, str]:
    """Per-platform manifest digests of a BuildKit OCI archive (a one-platform build's index.json names the
    manifest itself, a multi-platform one names an index blob)."""
    import tarfile

    with tarfile.open(archive) as tar:
        top = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        entry = top["manifests"][0]
        if entry.get("mediaType") not in INDEX_TYPES:
            return platform_digests({"manifests": [entry]})
        blob = tar.extractfile("blobs/" + entry["digest"].replace(":", "/"))
        return platform_digests(json.load(blob))  # type: ignore[arg-type]
