"""Sign, attest and check what ships, with cosign. Always the pushed digest, never a tag.

Planning is pure (a digest reference + the key settings -> cosign's argv); running goes through process.run. The
key's password reaches cosign only as COSIGN_PASSWORD in its environment, never on a command line.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from . import process
from .engine import Engine
from .errors import CheckFailed, CommandFailed, ToolError, UsageError, tool_json
from .refs import ImageRef
from .report import Reporter
from .settings import pick

PASSWORD_ENV = "COSIGN_PASSWORD"
SBOM_TYPES = {"cyclonedx-json": "cyclonedx", "spdx-json": "spdxjson"}


@dataclass(frozen=True)
class SignSettings:
    key: str = ""  # a file, env://VAR, or a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://, k8s://)
    public_key: str = ""
    keyless: bool = False  # Fulcio certificate from the CI's OIDC token, Rekor entry (GitHub Actions id-token)
    tlog_upload: bool = False  # Rekor; off by default: private registries' digests stay private
    sbom_format: str = "cyclonedx-json"

    @classmethod
    def from_catalog(cls, settings: Mapping[str, Any], **given: Any) -> SignSettings:
        """Each field: the task's argument, then [tool.sos-images.sign], then the schema's default."""
        names = [f.name for f in fields(cls)]
        return cls(*(pick(settings, "sign", name.replace("_", "-"), given.get(name)) for name in names))


def loopback(reference: str) -> bool:
    """Docker treats 127.0.0.0/8 registries as insecure; cosign must be told the same (HTTP or a private CA)."""
    host = reference.split("/", 1)[0].rsplit(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _registry_flags(reference: str) -> list[str]:
    return ["--allow-http-registry", "--allow-insecure-registry"] if loopback(reference) else []


def _key_flags(opts: SignSettings, what: str) -> list[str]:
    if opts.keyless:
        return []
    if not opts.key:
        raise UsageError(f"{what} needs a key: pass --key (a file, env://VAR or a KMS URI), set "
                         "[tool.sos-images.sign] key, or use --keyless in CI")  # fmt: skip
    return ["--key", opts.key]


def sign_argv(digest_ref: str, opts: SignSettings) -> list[str]:
    tlog = opts.tlog_upload or opts.keyless  # keyless signing is only verifiable through Rekor
    # --recursive: an index and each platform's manifest, so a node that resolves its own platform verifies too
    key_flags = _key_flags(opts, "signing")
    return ["cosign", "sign", "--yes", "--recursive", *key_flags, f"--tlog-upload={str(tlog).lower()}",
            *_registry_flags(digest_ref), digest_ref]  # fmt: skip


def attest_argv(digest_ref: str, predicate: Path, opts: SignSettings) -> list[str]:
    tlog = opts.tlog_upload or opts.keyless
    return ["cosign", "attest", "--yes", *_key_flags(opts, "attesting"), f"--tlog-upload={str(tlog).lower()}",
            "--type", SBOM_TYPES[opts.sbom_format], "--predicate", str(predicate),
            *_registry_flags(digest_ref), digest_ref]  # fmt: skip


def verify_argv(reference: str, public_key: str, opts: SignSettings, *, attestation: bool = False) -> list[str]:
    verb = ["verify-attestation", "--type", SBOM_TYPES[opts.sbom_format]] if attestation else ["verify"]
    tlog = [] if opts.tlog_upload or opts.keyless else ["--insecure-ignore-tlog=true"]
    return ["cosign", *verb, "--key", public_key, *tlog, *_registry_flags(reference), reference]


def check_password(opts: SignSettings, environ: Mapping[str, str] = os.environ) -> None:
    """A key file is encrypted: cosign would prompt for its password, which CI cannot answer."""
    if opts.keyless or "://" in opts.key:
        return
    if not Path(opts.key).is_file():
        raise UsageError(f"cosign key {opts.key} does not exist: make one with 'cosign generate-key-pair'")
    if PASSWORD_ENV not in environ:
        raise UsageError(f"the key {opts.key} is encrypted: set {PASSWORD_ENV} (from your CI's secret store)")


def ready(opts: SignSettings, environ: Mapping[str, str] = os.environ) -> None:
    """Everything signing needs, checked before a release builds or pushes anything: cosign, a key, its password."""
    process.which("cosign")
    _key_flags(opts, "signing")
    check_password(opts, environ)


# --- running -------------------------------------------------------------------------------------------


def remote_digest(reference: str) -> str:
    """The digest a tag points at in the registry now."""
    engine = Engine()
    engine.ping()
    digest = engine.remote_digest(reference)
    if not digest:
        raise CommandFailed(f"{reference} is not in the registry (or it refused us): push it first, or invoke login")
    return digest


def _cosign(argv: list[str], what: str) -> str:
    process.which("cosign")
    proc = process.run(argv, capture=True, check=False)
    if proc.returncode != 0:
        raise CommandFailed(f"{what} failed: {process.last_line(proc.stderr) or f'exit {proc.returncode}'}")
    return proc.stdout


def sign(ref: ImageRef, digest: str, opts: SignSettings, out: Reporter) -> str:
    """Sign repository@digest; returns that reference."""
    check_password(opts)
    target = f"{ref.repository}@{digest}"
    _cosign(sign_argv(target, opts), f"signing {target}")
    out.success(f"Signed {target}")
    return target


def attest(ref: ImageRef, digest: str, opts: SignSettings, out: Reporter, *, from_registry: bool = False) -> str:
    """The syft SBOM of the image, attached to repository@digest as an in-toto attestation. `from_registry`:
    syft reads the pushed digest (a merge job has no local image) instead of the engine's image."""
    from .checks.sbom import SYFT_ENV, syft_argv

    check_password(opts)
    target = f"{ref.repository}@{digest}"
    source = f"registry:{target}" if from_registry else ref.image
    env = {**SYFT_ENV, **({"SYFT_REGISTRY_INSECURE_USE_HTTP": "true"} if loopback(target) else {})}
    with tempfile.TemporaryDirectory(prefix="sos-sbom-") as tmp:
        sbom = Path(tmp) / "sbom.json"
        process.run(syft_argv(source, opts.sbom_format, sbom), env=env, capture=True)
        _cosign(attest_argv(target, sbom, opts), f"attesting {target}")
    out.success(f"Attested {target} with its {opts.sbom_format} SBOM")
    return target


def verify_signed(ref: ImageRef, public_key: str, opts: SignSettings, out: Reporter) -> dict[str, Any]:
    """Signature and SBOM attestation of what the tag points at now; who signed which digest."""
    if not public_key:
        raise UsageError("checking a signature needs the public key: pass --key cosign.pub or set "
                         "[tool.sos-images.sign] public-key")  # fmt: skip
    if not Path(public_key).is_file() and "://" not in public_key:
        raise UsageError(f"public key {public_key} does not exist")
    tagged = f"{ref.repository}:{ref.tag}"
    digest = remote_digest(tagged)
    try:
        claims = tool_json("cosign verify", _cosign(verify_argv(tagged, public_key, opts), f"check of {tagged}"), list)
        _cosign(verify_argv(tagged, public_key, opts, attestation=True), f"SBOM attestation check of {tagged}")
    except CommandFailed as exc:
        raise CheckFailed(f"{exc}: do not deploy {tagged} ({digest})") from None
    try:
        signed = sorted({c["critical"]["image"]["docker-manifest-digest"] for c in claims})
    except (KeyError, TypeError):
        raise CommandFailed("cosign verify printed claims without critical.image.docker-manifest-digest") from None
    if signed != [digest]:
        raise CheckFailed(f"{tagged} points at {digest} but the signatures are for {', '.join(signed)}")
    out.success(f"{tagged} = {digest}: signed with {public_key}, SBOM attestation ({opts.sbom_format}) verified")
    return {"reference": tagged, "digest": digest, "key": public_key, "signatures": len(claims), "attested": True}


def signed_by_key(target: str, opts: SignSettings, *, attestation: bool = False) -> bool:
    """Whether repository@digest already carries a signature (or the SBOM attestation) by the signing key.

    The public half comes from the key itself (`cosign public-key`), so a re-run recognises its own signature.
    A keyless signature names an identity, not a key: keyless re-runs sign again.
    """
    if opts.keyless:
        return False
    with tempfile.TemporaryDirectory(prefix="sos-pub-") as tmp:
        public = Path(tmp) / "cosign.pub"
        derived = process.run(["cosign", "public-key", "--key", opts.key, "--outfile", str(public)],
                              capture=True, echo=False, check=False)  # fmt: skip
        if derived.returncode != 0:
            return False
        argv = verify_argv(target, str(public), opts, attestation=attestation)
        return process.run(argv, capture=True, echo=False, check=False).returncode == 0


def sign_and_attest(
    ref: ImageRef, digest: str, opts: SignSettings, out: Reporter, *, from_registry: bool = False
) -> dict[str, Any]:
    """publish --sign: sign then attest the pushed digest, each unless this key already did (a re-run after a job
    died between push and sign completes it; a re-run of a signed release adds nothing). A failure says what was
    already done. `from_registry`: the SBOM is read from the pushed digest (a merge job has no local image)."""
    target = f"{ref.repository}@{digest}"
    skipped = []
    if signed_by_key(target, opts):
        out.line("SIGN", f"{target} is already signed by this key: not signed again")
        skipped.append("sign")
    else:
        sign(ref, digest, opts, out)
    if signed_by_key(target, opts, attestation=True):
        out.line("SIGN", f"{target} already has its {opts.sbom_format} SBOM attestation by this key")
        return {"signed": target, "attested": target, "skipped": [*skipped, "attest"]}
    try:
        attest(ref, digest, opts, out, from_registry=from_registry)
    except ToolError as exc:
        raise type(exc)(f"built, pushed and signed {target}, but not attested: {exc}") from None
    return {"signed": target, "attested": target, "skipped": skipped}
