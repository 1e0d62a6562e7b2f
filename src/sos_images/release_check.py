"""The registry read a release needs, then the release rules: one call set before anything is pushed.

`check(plan, request, engine)` lists the repository's tags, reads the manifests of the tags this release would push
(each digest once), takes the local image's digest (and, only when a digest differs, each platform's config and
layers from `docker save`, to tell a new attestation from new content) and returns release_rules.decide's answer.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .engine import Engine
from .errors import UsageError
from .registry import PushPlan, credentials, local_source
from .registry_api import RegistryClient, RegistryReadError, list_tags, platforms_of, remote_image, stored_login
from .release_rules import Image, Release, ReleaseRequest, decide
from .streams import ChunkReader

DOCKER_HUB = {"docker.io": "registry-1.docker.io", "index.docker.io": "registry-1.docker.io"}
SMALL_BLOB = 1 << 20  # manifests and configs; layers are skipped


@dataclass(frozen=True)
class Checked:
    release: Release
    source: str  # the local image that would be pushed
    image: Image
    listed: bool  # False: the registry refused the tag list and --force-tags pushed on without it

    @property
    def current_digest(self) -> str:
        """What the release's first tag points at after it: the pushed digest, or the registry's when kept."""
        first = self.release.decisions[0] if self.release.decisions else None
        return (first.new if first and first.changes else first.current if first else "") or self.image.digest


def client_for(plan: PushPlan, environ: Mapping[str, str] = os.environ) -> RegistryClient:
    """A client with the push's login: the docker config's, else the profile's environment variables."""
    host = plan.ref.registry.host
    keys = [host, "index.docker.io"] if host in DOCKER_HUB else [host]  # docker login writes Hub as index.docker.io
    login = next((found for key in keys if (found := stored_login(key, environ))), None)
    if login is None:
        try:
            login = credentials(plan.ref.registry, environ)
        except UsageError:
            login = None  # anonymous: a public repository may still be listed
    return RegistryClient(DOCKER_HUB.get(host, host), login)


def repository_path(plan: PushPlan) -> str:
    return plan.repository.split("/", 1)[1]


def read_repository(
    client: RegistryClient, name: str, tags: Iterable[str], *, force_tags: bool
) -> tuple[dict[str, Image | None], bool]:
    """Every listed tag -> None, except the tags this release pushes, which get their Image. (repo, listed)."""
    wanted = list(tags)
    try:
        repository: dict[str, Image | None] = dict.fromkeys(list_tags(client, name))
    except RegistryReadError:
        if not force_tags:
            raise
        repository, listed = {}, False  # no listing: each tag of this release is asked for by name
    else:
        listed = True
    for tag in wanted:
        if tag in repository or not listed:
            image = remote_image(client, name, tag)
            if image is not None:
                repository[tag] = image
    return repository, listed


def check(
    plan: PushPlan,
    request: ReleaseRequest,
    engine: Engine,
    environ: Mapping[str, str] = os.environ,
    *,
    dry_run: bool = False,
) -> Checked:
    """The release rules' answer for pushing `plan`. A dry run works without a built image (digests unknown)."""
    try:
        source = local_source(plan, engine)
    except UsageError:
        if not dry_run:
            raise
        source = ""
    client = client_for(plan, environ)
    try:
        repository, listed = read_repository(client, repository_path(plan), plan.tags, force_tags=request.force_tags)
    except RegistryReadError as exc:
        raise RegistryReadError(f"push of {plan.refs[0]} failed: {exc}") from None
    finally:
        client.close()
    remote = [img for img in repository.values() if img is not None]
    image = local_image(engine, source, remote) if source else Image("")
    return Checked(decide(request, repository, image), source, image, listed)


def local_image(engine: Engine, source: str, remote: list[Image]) -> Image:
    """The image a push of `source` sends (the containerd store pushes its own manifests, so its digest is the
    local id); its platforms are read only when some tag in the registry holds another digest."""
    info = engine.inspect_image(source) or {}
    digest = info.get("Id", "")
    if all(img.digest == digest for img in remote):
        return Image(digest)
    return Image(digest, saved_platforms(engine.image_archive(source)))


def saved_platforms(chunks: Iterable[bytes]) -> dict[str, str]:
    """platform -> content id of the image in a `docker save` OCI archive (its small blobs, layers skipped)."""
    blobs: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BufferedReader(ChunkReader(chunks)), mode="r|") as archive:
        for member in archive:
            if member.isfile() and member.size <= SMALL_BLOB and (member.name.startswith("blobs/") or
                                                                   member.name == "index.json"):  # fmt: skip
                blobs[member.name] = archive.extractfile(member).read()  # type: ignore[union-attr]
    load = lambda digest: _json(blobs.get("blobs/" + digest.replace(":", "/", 1)))  # noqa: E731
    layout = _json(blobs.get("index.json")) or {}
    top = (layout.get("manifests") or [{}])[0].get("digest", "")
    root = load(top) if top else None
    return platforms_of(root, load) if root else {}


def _json(data: bytes | None) -> dict[str, Any] | None:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None
