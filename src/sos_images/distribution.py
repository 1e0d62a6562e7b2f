"""The registry's own HTTP API (OCI distribution): push an OCI layout by digest, read manifests and tags.

Used where neither the engine nor buildx can do it: the engine pushes tags only, and buildx's docker driver
refuses `push-by-digest`. The login is the docker CLI's (`$DOCKER_CONFIG/config.json`, or its credential
helper); loopback registries are spoken to over plain HTTP, as dockerd treats 127.0.0.0/8; a private CA is read
from `/etc/docker/certs.d/<host>/ca.crt`, as dockerd reads it. Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import process
from .errors import CommandFailed, UsageError
from .sign import loopback

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json")
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)
CERTS_D = Path("/etc/docker/certs.d")


def split_repository(repository: str) -> tuple[str, str]:
    """'127.0.0.1:5000/sos-app/x' -> ('127.0.0.1:5000', 'sos-app/x')."""
    host, _, name = repository.partition("/")
    if not name or ("." not in host and ":" not in host and host != "localhost"):
        raise UsageError(f"{repository} names no registry host: use host[:port]/namespace/name")
    return host, name


def docker_credentials(host: str, environ: Mapping[str, str] = os.environ) -> tuple[str, str] | None:
    """(user, secret) for host from the docker CLI's config: an `auths` entry or a credential helper."""
    folder = Path(environ.get("DOCKER_CONFIG") or Path(environ.get("HOME", "~")).expanduser() / ".docker")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    helper = (config.get("credHelpers") or {}).get(host) or config.get("credsStore")
    if helper:
        argv = [f"docker-credential-{helper}", "get"]
        proc = process.run(argv, input_text=host, capture=True, echo=False, check=False)
        if proc.returncode == 0:
            found = json.loads(proc.stdout)
            return found.get("Username", ""), found.get("Secret", "")
    encoded = ((config.get("auths") or {}).get(host) or {}).get("auth")
    if not encoded:
        return None
    user, _, secret = base64.b64decode(encoded).decode().partition(":")
    return user, secret


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    body: bytes

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


class Registry:
    """One registry host, with the docker CLI's login. Errors are CommandFailed naming the host and the fix."""

    def __init__(self, host: str, environ: Mapping[str, str] = os.environ) -> None:
        self.host = host
        self.base = f"{'http' if loopback(host) else 'https'}://{host}"
        self._login = docker_credentials(host, environ)
        self._token: str | None = None
        ca = CERTS_D / host / "ca.crt"
        self._tls = ssl.create_default_context(cafile=str(ca) if ca.is_file() else None)

    # --- HTTP with the registry's auth challenge ---

    def _request(self, method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] = {}) -> Any:
        url = url if url.startswith("http") else self.base + url
        for attempt in range(2):
            request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
            if self._token:
                request.add_header("Authorization", self._token)
            try:
                return urllib.request.urlopen(request, timeout=120, context=self._tls)
            except urllib.error.HTTPError as exc:
                if exc.code != 401 or attempt:
                    raise
                self._token = self._authorize(exc.headers.get("WWW-Authenticate", ""))
            except OSError as exc:
                reason = getattr(exc, "reason", exc)
                raise CommandFailed(f"registry {self.host} is not reachable ({reason}): is it running?") from None
        raise AssertionError("unreachable")

    def _authorize(self, challenge: str) -> str:
        """Basic auth, or a Bearer token from the realm the challenge names (GHCR, Docker Hub, GitLab)."""
        if not self._login:
            raise CommandFailed(f"registry {self.host} wants a login: run invoke login (docker login {self.host})")
        basic = "Basic " + base64.b64encode(":".join(self._login).encode()).decode()
        scheme, _, params = challenge.partition(" ")
        if scheme.lower() != "bearer":
            return basic
        fields = dict(p.split("=", 1) for p in params.replace('"', "").split(",") if "=" in p)
        query = urllib.parse.urlencode({k: v for k, v in fields.items() if k in ("service", "scope")})
        request = urllib.request.Request(f"{fields['realm']}?{query}", headers={"Authorization": basic})
        try:
            with urllib.request.urlopen(request, timeout=60, context=self._tls) as resp:
                answer = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise CommandFailed(f"registry {self.host} refused the login ({exc.code}): run invoke login") from None
        return "Bearer " + (answer.get("token") or answer.get("access_token", ""))

    def _fail(self, what: str, exc: urllib.error.HTTPError) -> CommandFailed:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        return CommandFailed(f"{what} failed at {self.host}: HTTP {exc.code} {detail}")

    # --- reading ---

    def manifest(self, name: str, reference: str) -> Manifest | None:
        """The manifest or index a tag or digest names; None when the registry does not have it."""
        try:
            with self._request("GET", f"/v2/{name}/manifests/{reference}", headers={"Accept": ACCEPT}) as resp:
                body = resp.read()
                media = resp.headers.get("Content-Type", "").split(";")[0]
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise self._fail(f"reading {name}:{reference}", exc) from None
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        return Manifest(digest, media or json.loads(body).get("mediaType", ""), body)

    def tags(self, name: str) -> list[str]:
        """Every tag of a repository (following the API's pages); [] for a repository not pushed yet."""
        found: list[str] = []
        url: str | None = f"/v2/{name}/tags/list?n=1000"
        while url:
            try:
                with self._request("GET", url) as resp:
                    found += json.loads(resp.read()).get("tags") or []
                    link = resp.headers.get("Link", "")
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return []
                raise self._fail(f"listing the tags of {name}", exc) from None
            url = link.split(";")[0].strip("<> ") if 'rel="next"' in link else None
        return found

    def blob(self, name: str, digest: str) -> bytes:
        try:
            with self._request("GET", f"/v2/{name}/blobs/{digest}") as resp:
                return resp.read()
        except urllib.error.HTTPError as exc:
            raise self._fail(f"reading blob {digest} of {name}", exc) from None

    def has_blob(self, name: str, digest: str) -> bool:
        try:
            with self._request("HEAD", f"/v2/{name}/blobs/{digest}"):
                return True
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise self._fail(f"checking blob {digest} of {name}", exc) from None

    # --- writing (by digest only: nothing here creates a tag) ---

    def put_blob(self, name: str, digest: str, data: bytes) -> None:
        if self.has_blob(name, digest):
            return
        try:
            with self._request("POST", f"/v2/{name}/blobs/uploads/", b"") as resp:
                location = urllib.parse.urljoin(self.base + "/", resp.headers["Location"])
            sep = "&" if "?" in location else "?"
            octets = {"Content-Type": "application/octet-stream"}
            with self._request("PUT", f"{location}{sep}digest={digest}", data, octets):
                return
        except urllib.error.HTTPError as exc:
            raise self._fail(f"uploading blob {digest} to {name}", exc) from None

    def put_manifest(self, name: str, manifest: Manifest) -> None:
        try:
            headers = {"Content-Type": manifest.media_type}
            with self._request("PUT", f"/v2/{name}/manifests/{manifest.digest}", manifest.body, headers):
                return
        except urllib.error.HTTPError as exc:
            raise self._fail(f"pushing {name}@{manifest.digest}", exc) from None


def layout_index(layout: Path) -> Manifest:
    """The one image an OCI layout holds (what `--output type=oci,tar=false` wrote)."""
    entries = json.loads((layout / "index.json").read_text(encoding="utf-8"))["manifests"]
    if len(entries) != 1:
        raise CommandFailed(f"the OCI layout {layout} holds {len(entries)} images, expected one")
    return layout_manifest(layout, entries[0])


def layout_manifest(layout: Path, descriptor: Mapping[str, Any]) -> Manifest:
    body = _layout_blob(layout, descriptor["digest"])
    return Manifest(descriptor["digest"], descriptor["mediaType"], body)


def _layout_blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / digest.replace(":", "/", 1)).read_bytes()


def push_layout(registry: Registry, name: str, layout: Path) -> Manifest:
    """Push an OCI layout's image by digest: blobs, then each manifest, then the index. No tag is written."""
    top = layout_index(layout)
    _push_tree(registry, name, layout, top)
    return top


def _push_tree(registry: Registry, name: str, layout: Path, manifest: Manifest) -> None:
    data = manifest.data
    if manifest.is_index:
        for child in data["manifests"]:
            _push_tree(registry, name, layout, layout_manifest(layout, child))
    else:
        for blob in [data["config"], *data.get("layers", [])]:
            registry.put_blob(name, blob["digest"], _layout_blob(layout, blob["digest"]))
    registry.put_manifest(name, manifest)


def platform_key(platform: Mapping[str, str]) -> str:
    return "/".join(p for p in (platform.get("os"), platform.get("architecture"), platform.get("variant")) if p)


def content(registry: Registry, name: str, reference: str) -> dict[str, tuple[str, ...]] | None:
    """What an image is, per platform: its config and layer digests (attestations left out, since their
    timestamps differ from run to run). None when the reference does not exist."""
    top = registry.manifest(name, reference)
    if top is None:
        return None
    return _content(top, lambda d: registry.manifest(name, d), lambda d: registry.blob(name, d))


def layout_content(layout: Path) -> dict[str, tuple[str, ...]]:
    """content() of the image an OCI layout holds."""
    top = layout_index(layout)
    blobs = lambda d: _layout_blob(layout, d)  # noqa: E731
    return _content(top, lambda d: Manifest(d, json.loads(blobs(d)).get("mediaType", ""), blobs(d)), blobs) or {}


def _content(top: Manifest, child: Callable[[str], Manifest | None], blob: Callable[[str], bytes]) -> dict[str, Any]:
    if not top.is_index:
        return {platform_key(json.loads(blob(top.data["config"]["digest"]))): _image_content(top.data)}
    found: dict[str, tuple[str, ...]] = {}
    for entry in platform_entries(top.data):
        manifest = child(entry["digest"])
        if manifest is not None:
            found[platform_key(entry.get("platform") or {})] = _image_content(manifest.data)
    return found


def platform_entries(index: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The entries of an index that are images, not BuildKit's attestation manifests."""
    kind = "vnd.docker.reference.type"
    return [e for e in index["manifests"] if (e.get("annotations") or {}).get(kind) != "attestation-manifest"]


def has_attestations(index: Mapping[str, Any]) -> bool:
    return len(platform_entries(index)) < len(index.get("manifests") or [])


def _image_content(data: Mapping[str, Any]) -> tuple[str, ...]:
    return (data["config"]["digest"], *(layer["digest"] for layer in data.get("layers", [])))


def compressed_size(manifest: Mapping[str, Any]) -> int:
    """Bytes a pull downloads for one platform's manifest: config and layers."""
    return int(manifest["config"].get("size", 0)) + sum(int(layer.get("size", 0)) for layer in manifest["layers"])
