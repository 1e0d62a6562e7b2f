"""Read a registry the way the push authenticates: the Distribution API's tag list and manifests, nothing written.

Credentials come from the docker config the push uses (`$DOCKER_CONFIG/config.json`: `auths`, `credHelpers`,
`credsStore`), else from the registry profile's environment variables. A 401 answer is met as Docker meets it:
`Basic` (docker-registry with htpasswd) or a `Bearer` token from the challenge's realm for `repository:NAME:pull`.
Loopback registries are tried over HTTPS, then plain HTTP (Docker's insecure-registry rule for 127.0.0.0/8); a
private CA is read from `/etc/docker/certs.d/<host>/`, where the engine reads it. One keep-alive connection per
host, so the reads a release needs cost a few milliseconds on loopback.

Note: distribution.py (publish --by-digest / merge) has its own Distribution API client with the same
credential lookup; one of the two should go (not merged here, to keep the merge small).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import ssl
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import process
from .errors import CommandFailed, EnvironmentProblem
from .release_rules import Image
from .sign import loopback

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json")
ACCEPT = ", ".join((*INDEX_TYPES, *MANIFEST_TYPES))
CERTS_D = Path("/etc/docker/certs.d")
TIMEOUT = 15


class RegistryReadError(CommandFailed):
    """The registry did not answer a read the release rules need (exit 1)."""


def docker_config(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    path = Path(environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _auth_entry(auths: Mapping[str, Any], host: str) -> dict[str, Any]:
    for key, entry in auths.items():
        if urllib.parse.urlsplit(key if "//" in key else f"//{key}").netloc == host:
            return entry or {}
    return {}


def stored_login(host: str, environ: Mapping[str, str] = os.environ) -> tuple[str, str] | None:
    """The docker config's login for `host`: a credential helper, or the base64 `auth` that `docker login` wrote."""
    config = docker_config(environ)
    helper = (config.get("credHelpers") or {}).get(host) or config.get("credsStore")
    if helper:
        found = _from_helper(helper, host, environ)
        if found:
            return found
    entry = _auth_entry(config.get("auths") or {}, host)
    if entry.get("auth"):
        user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        return user, password
    return None


def _from_helper(helper: str, host: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    try:
        process.which(f"docker-credential-{helper}")
    except EnvironmentProblem:
        return None
    proc = process.run([f"docker-credential-{helper}", "get"], input_text=host, capture=True, echo=False,
                       check=False, env=dict(environ))  # fmt: skip
    if proc.returncode != 0:
        return None
    data = json.loads(proc.stdout or "{}")
    return (data.get("Username", ""), data.get("Secret", "")) if data.get("Secret") else None


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', rest))


@dataclass
class RegistryClient:
    """GET requests to one registry host, authenticated once per scope."""

    host: str
    login: tuple[str, str] | None = None
    _conn: http.client.HTTPConnection | None = None
    _auth: dict[str, str] = field(default_factory=dict)  # scope -> Authorization header
    cache: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # digest -> what it names

    def _connect(self) -> http.client.HTTPConnection:
        if self._conn is not None:
            return self._conn
        context = ssl.create_default_context()
        certs = CERTS_D / self.host
        for ca in sorted(certs.glob("*.crt")) if certs.is_dir() else ():
            context.load_verify_locations(str(ca))
        self._conn = http.client.HTTPSConnection(self.host, timeout=TIMEOUT, context=context)
        if loopback(self.host):
            try:
                self._conn.connect()
            except (ssl.SSLError, ConnectionError):  # a plain-HTTP loopback registry, as Docker allows
                self._conn = http.client.HTTPConnection(self.host, timeout=TIMEOUT)
        return self._conn

    def get(self, path: str, scope: str, accept: str = "application/json") -> tuple[int, Mapping[str, str], bytes]:
        status, headers, body = self._request(path, scope, accept)
        if status == 401 and scope not in self._auth:
            self._auth[scope] = self._authorize(headers.get("www-authenticate", ""), scope)
            status, headers, body = self._request(path, scope, accept)
        return status, headers, body

    def _request(self, path: str, scope: str, accept: str) -> tuple[int, Mapping[str, str], bytes]:
        headers = {"Accept": accept, **({"Authorization": self._auth[scope]} if self._auth.get(scope) else {})}
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            conn = self._connect()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
            except ConnectionRefusedError:
                self.close()
                raise RegistryReadError(f"the registry {self.host} is not reachable: is it running?") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 2:
                    raise RegistryReadError(f"the registry {self.host} did not answer: {exc}") from None
        raise AssertionError("unreachable")

    def _authorize(self, header: str, scope: str) -> str:
        scheme, params = _challenge(header)
        basic = "Basic " + base64.b64encode(":".join(self.login).encode()).decode() if self.login else ""
        if scheme == "basic":
            return basic
        if scheme != "bearer" or "realm" not in params:
            return ""
        query = urllib.parse.urlencode({"service": params.get("service", self.host), "scope": scope})
        auth = {"Authorization": basic} if basic else {}
        request = urllib.request.Request(f"{params['realm']}?{query}", headers=auth)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as resp:
                token = json.loads(resp.read())
        except (OSError, ValueError) as exc:
            raise RegistryReadError(f"registry {self.host} gave no token for {scope}: {exc}") from None
        return f"Bearer {token.get('token') or token.get('access_token', '')}"

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


def _error_code(body: bytes) -> str:
    try:
        return json.loads(body)["errors"][0]["code"]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def list_tags(client: RegistryClient, name: str) -> list[str]:
    """Every tag of repository `name` (following the Link header's pages); [] when the repository is new."""
    path, tags = f"/v2/{name}/tags/list?n=1000", []
    while path:
        status, headers, body = client.get(path, f"repository:{name}:pull")
        if status == 404 and _error_code(body) == "NAME_UNKNOWN":
            return []
        if status != 200:
            raise RegistryReadError(_refused(client.host, name, status, body))
        tags += json.loads(body).get("tags") or []
        link = re.match(r"<([^>]+)>", headers.get("link", ""))
        path = link.group(1) if link else ""
    return tags


def _refused(host: str, name: str, status: int, body: bytes) -> str:
    code = _error_code(body) or body.decode("utf-8", "replace").strip()[:80] or "no body"
    return (f"registry {host} refused the tag list of {name} (HTTP {status}, {code}), so the release rules cannot "
            "tell which tags exist: log in with an account that may pull (invoke login), or pass --force-tags "
            "to push anyway")  # fmt: skip


def manifest(client: RegistryClient, name: str, reference: str) -> tuple[str, dict[str, Any]] | None:
    """(digest, manifest) of a tag or digest; None when the registry does not have it. Digests are read once."""
    if reference in client.cache:
        return client.cache[reference]
    status, headers, body = client.get(f"/v2/{name}/manifests/{reference}", f"repository:{name}:pull", ACCEPT)
    if status == 404:
        return None
    if status != 200:
        raise RegistryReadError(f"registry {client.host} refused the manifest {name}:{reference} (HTTP {status})")
    digest = headers.get("docker-content-digest") or "sha256:" + hashlib.sha256(body).hexdigest()
    client.cache[digest] = (digest, json.loads(body))
    return client.cache[digest]


def content_id(platform_manifest: Mapping[str, Any]) -> str:
    """One platform's image: its config and layers, not the manifest's annotations."""
    parts = [platform_manifest.get("config", {}).get("digest", "")]
    parts += [layer.get("digest", "") for layer in platform_manifest.get("layers") or []]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def platforms_of(index: Mapping[str, Any], fetch: Any) -> dict[str, str]:
    """platform -> content id of an index's images (attestation manifests left out); `fetch(digest)` reads one."""
    if "manifests" not in index:
        return {"*": content_id(index)}
    found = {}
    for entry in index["manifests"]:
        plat = entry.get("platform") or {}
        attestation = (entry.get("annotations") or {}).get("vnd.docker.reference.type") == "attestation-manifest"
        if attestation or plat.get("os") == "unknown":
            continue
        key = "/".join(p for p in (plat.get("os"), plat.get("architecture"), plat.get("variant")) if p)
        child = fetch(entry["digest"])
        found[key] = content_id(child) if child is not None else entry["digest"]
    return found


def remote_image(client: RegistryClient, name: str, tag: str) -> Image | None:
    """What `tag` points at, with each platform's content; None when the tag does not exist."""
    read = manifest(client, name, tag)
    if read is None:
        return None
    digest, body = read

    def fetch(child: str) -> dict[str, Any] | None:
        got = manifest(client, name, child)
        return got[1] if got else None

    return Image(digest, platforms_of(body, fetch))
