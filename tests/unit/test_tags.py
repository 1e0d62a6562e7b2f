from __future__ import annotations

import pytest

from sos_images.catalog import load_catalog
from sos_images.errors import UsageError
from sos_images.registry import credentials, plan_push
from sos_images.tags import TagPolicy, release_tags
from tests.conftest import REPO

COMMIT = "abcdef0123456789"


def tags(version: str, target: str = "production", **policy) -> list[str]:
    return release_tags(version, target, "production", COMMIT, TagPolicy(**policy))


def test_a_release_gets_version_major_minor_and_latest() -> None:
    assert tags("v1.2.3") == ["v1.2.3", "1.2.3", "1.2", "1", "latest"]


def test_a_version_without_v_prefix_is_a_release_too() -> None:
    assert tags("2.0.1") == ["2.0.1", "2.0", "2", "latest"]


def test_a_prerelease_never_gets_latest_or_short_tags() -> None:
    assert tags("v1.3.0-rc.1") == ["v1.3.0-rc.1", "1.3.0-rc.1"]


def test_a_development_target_never_gets_latest() -> None:
    assert "latest-development" not in tags("v1.2.3", "development")
    assert not any(t.startswith("latest") for t in tags("v1.2.3", "development"))


def test_non_default_targets_carry_their_suffix() -> None:
    assert tags("v1.2.3", "production-alpine")[:2] == ["v1.2.3-production-alpine", "1.2.3-production-alpine"]


def test_sha_tag_is_optional() -> None:
    assert "sha-abcdef0" in tags("v1.2.3", sha=True)
    assert not any(t.startswith("sha-") for t in tags("v1.2.3"))


def test_latest_can_be_turned_off() -> None:
    assert "latest" not in tags("v1.2.3", latest=False)


def test_non_semver_versions_are_pushed_as_given() -> None:
    assert tags("staging") == ["staging"]


def test_required_semver_refuses_other_versions() -> None:
    with pytest.raises(UsageError, match="not semantic"):
        tags("staging", semver="required")


def test_policy_reads_pyproject_settings_and_rejects_unknown_modes() -> None:
    assert TagPolicy.from_settings({"sha": True, "latest": False}) == TagPolicy(sha=True, latest=False)
    with pytest.raises(UsageError, match="semver="):
        TagPolicy.from_settings({"semver": "sometimes"})


def test_ghcr_and_dockerhub_profiles_resolve_host_namespace_and_variables() -> None:
    catalog = load_catalog(REPO)
    ghcr, hub = catalog.registry("ghcr"), catalog.registry("dockerhub")
    assert (ghcr.host, ghcr.namespace) == ("ghcr.io", "sos-app")
    assert (hub.host, hub.namespace) == ("docker.io", "sosapp")
    assert credentials(ghcr, {"GITHUB_USER": "me", "CR_PAT": "t"}) == ("me", "t")
    assert credentials(ghcr, {"GITHUB_ACTOR": "bot", "GITHUB_TOKEN": "t2"}) == ("bot", "t2")
    assert credentials(hub, {"DOCKERHUB_USERNAME": "u", "DOCKERHUB_TOKEN": "p"}) == ("u", "p")


def test_missing_credentials_name_every_variable() -> None:
    with pytest.raises(UsageError, match="GITHUB_ACTOR or GITHUB_USER and GITHUB_TOKEN or CR_PAT"):
        credentials(load_catalog(REPO).registry("ghcr"), {})


def test_private_registry_comes_from_the_environment() -> None:
    plan = plan_push(
        load_catalog(REPO),
        "device-service",
        "private",
        "v1.2.3",
        None,
        TagPolicy(),
        COMMIT,
        {"REGISTRY_URL": "127.0.0.1:5000", "REGISTRY_NAMESPACE": "team"},
    )
    assert plan.repository == "127.0.0.1:5000/team/device-service"
    assert plan.candidates() == [
        "127.0.0.1:5000/team/device-service:v1.2.3",  # built for the private profile
        "ghcr.io/sos-app/device-service:v1.2.3",  # else the image built under the default profile
    ]
    assert plan.refs[-1] == "127.0.0.1:5000/team/device-service:latest"


@pytest.mark.parametrize("host", ["https://r.example.com", "r.example.com/path", "bad host", "r.example.com:99999999"])
def test_malformed_hosts_are_refused(host: str) -> None:
    with pytest.raises(UsageError, match="malformed"):
        plan_push(
            load_catalog(REPO), "device-service", "private", "v1", None, TagPolicy(), COMMIT, {"REGISTRY_URL": host}
        )


def test_private_registry_without_host_says_which_variable() -> None:
    with pytest.raises(UsageError, match="set REGISTRY_URL"):
        plan_push(load_catalog(REPO), "device-service", "private", "v1", None, TagPolicy(), COMMIT, {})


def test_extra_registries_can_be_declared(fake_repo) -> None:
    (fake_repo / "pyproject.toml").write_text(
        '[tool.sos-images.registries.quay]\nhost = "quay.io"\nnamespace = "sos"\n'
        'user-env = ["QUAY_USER"]\npassword-env = ["QUAY_TOKEN"]\n'
    )
    quay = load_catalog(fake_repo).registry("quay")
    assert (quay.host, quay.namespace, quay.password_env) == ("quay.io", "sos", ("QUAY_TOKEN",))
