"""cosign's command lines, planned without Docker: digests only, secrets never on argv, keyless for CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from sos_images.errors import UsageError
from sos_images.sign import SignSettings, attest_argv, check_password, loopback, sign_argv, verify_argv

DIGEST_REF = "ghcr.io/sos-app/device-service@sha256:" + "a" * 64


def test_signing_with_a_key_signs_the_digest_recursively_without_the_transparency_log() -> None:
    argv = sign_argv(DIGEST_REF, SignSettings(key="cosign.key"))
    assert argv == ["cosign", "sign", "--yes", "--recursive", "--key", "cosign.key", "--tlog-upload=false", DIGEST_REF]


def test_keyless_signing_for_ci_uses_no_key_and_records_in_rekor() -> None:
    argv = sign_argv(DIGEST_REF, SignSettings(keyless=True))
    assert "--key" not in argv and "--tlog-upload=true" in argv


def test_a_loopback_registry_is_allowed_over_http_or_a_private_ca_as_docker_allows_it() -> None:
    assert loopback("127.0.0.1:5000/x/y@sha256:1") and loopback("localhost:5000/x") and not loopback("ghcr.io/x")
    assert "--allow-http-registry" in sign_argv("127.0.0.1:5000/sos-app/x@sha256:1", SignSettings(key="k"))


def test_kms_and_env_keys_pass_through_and_need_no_password_file(monkeypatch) -> None:
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    for key in ("awskms:///alias/sos", "env://COSIGN_PRIVATE_KEY"):
        check_password(SignSettings(key=key))
        assert ["--key", key] == sign_argv(DIGEST_REF, SignSettings(key=key))[4:6]


def test_a_key_file_without_its_password_is_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    key = tmp_path / "cosign.key"
    key.write_text("x")
    with pytest.raises(UsageError, match="set COSIGN_PASSWORD"):
        check_password(SignSettings(key=str(key)))


def test_no_key_names_every_way_to_give_one() -> None:
    with pytest.raises(UsageError, match="--key .* --keyless"):
        sign_argv(DIGEST_REF, SignSettings())


def test_attestation_and_its_check_use_the_sbom_type(tmp_path: Path) -> None:
    argv = attest_argv(DIGEST_REF, tmp_path / "sbom.json", SignSettings(key="k", sbom_format="spdx-json"))
    assert argv[argv.index("--type") + 1] == "spdxjson"
    check = verify_argv("ghcr.io/x:v1", "cosign.pub", SignSettings(), attestation=True)
    assert check[:4] == ["cosign", "verify-attestation", "--type", "cyclonedx"]
    assert "--insecure-ignore-tlog=true" in check


def test_keyless_publish_is_planned_by_a_dry_run(tmp_path: Path) -> None:
    from tests.conftest import invoke

    out = invoke("sign", "-s", "device-service", "-v", "v1.2.3", "--keyless", "--dry-run", "--json")
    assert out.returncode == 0, out.stderr
    assert '"--tlog-upload=true"' in out.stdout and "--key" not in out.stdout
