from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sos_images.catalog import load_catalog
from sos_images.errors import UsageError
from sos_images.registry import credentials, plan_push
from sos_images.tags import DOCKER_TAG, TagPolicy, release_tags
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


def test_build_metadata_pushes_what_the_release_pushes_and_the_raw_tag_gets_a_dash() -> None:
    assert tags("v1.2.3+build.5") == ["v1.2.3-build.5", "1.2.3", "1.2", "1", "latest"]
    assert tags("v1.3.0-rc.1+sha.abc", semver="required") == ["v1.3.0-rc.1-sha.abc", "1.3.0-rc.1"]


@pytest.mark.parametrize("version", ["v1.2.3-rc.01", "v1.2.3-rc..1", "v1.2.3-", "v1.2.3+", "v1.2.3+a..b", "v01.2.3"])
def test_versions_that_are_not_semver_are_plain_tags_and_refused_under_semver(version: str) -> None:
    assert tags(version) == [version.replace("+", "-")]
    with pytest.raises(UsageError, match="not semantic"):
        tags(version, semver="required")


@pytest.mark.parametrize("version", ["v1.2.3+ü", "v1.2.3 ", "-v1", ".v1", "v1\n", "x" * 129, ""])
def test_versions_that_cannot_be_a_docker_tag_are_refused(version: str) -> None:
    with pytest.raises(UsageError, match="Docker"):
        tags(version)


def test_the_target_suffix_counts_towards_the_128_characters() -> None:
    assert tags("x" * 128) == ["x" * 128]
    with pytest.raises(UsageError, match="longer than Docker's 128 characters"):
        tags("x" * 117, "development")


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


# --- Properties over generated versions -------------------------------------------------------------------

ALNUM_HYPHEN = set(string.ascii_letters + string.digits + "-")


def semver_oracle(version: str) -> tuple[bool, bool]:
    """(is SemVer 2.0.0, is a pre-release), read by splitting rather than by the module's regex."""
    body = version.removeprefix("v")
    body, plus, build = body.partition("+")
    core, dash, pre = body.partition("-")
    numbers, pre_ids, build_ids = core.split("."), pre.split("."), build.split(".")

    def numeric(text: str) -> bool:
        return text.isascii() and text.isdigit()

    ok = len(numbers) == 3 and all(numeric(n) and (n == "0" or n[0] != "0") for n in numbers)
    if dash:
        ok = ok and all(i and set(i) <= ALNUM_HYPHEN for i in pre_ids)
        ok = ok and not any(numeric(i) and len(i) > 1 and i[0] == "0" for i in pre_ids)
    if plus:
        ok = ok and all(i and set(i) <= ALNUM_HYPHEN for i in build_ids)
    return ok, bool(dash)


VALID_NUMBER = st.integers(0, 9999).map(str)
NUMBER = st.one_of(VALID_NUMBER, VALID_NUMBER, VALID_NUMBER, st.sampled_from(["00", "01", "007", "", "x"]))
IDENT = st.from_regex(r"[0-9A-Za-z-]{0,5}", fullmatch=True) | st.sampled_from(["0", "01", "rc", "ü", "a+b"])
IDENTS = st.none() | st.lists(IDENT, min_size=1, max_size=3).map(".".join)
SEMVERISH = st.builds(
    lambda v, major, minor, patch, pre, build: (
        f"{v}{major}.{minor}.{patch}"
        + (f"-{pre}" if pre is not None else "")
        + (f"+{build}" if build is not None else "")
    ),
    st.sampled_from(["", "v", "V"]),
    NUMBER,
    NUMBER,
    NUMBER,
    IDENTS,
    IDENTS,
)
VERSIONS = SEMVERISH | st.text(max_size=140) | st.sampled_from(["latest", "staging", "sha-abcdef0", "1", "x" * 125])
TARGETS = st.sampled_from(["production", "production-alpine", "development"])
POLICIES = st.builds(TagPolicy, st.sampled_from(["auto", "required", "off"]), st.booleans(), st.booleans())
COMMITS = st.sampled_from([COMMIT, "unknown", ""]) | st.text(max_size=10)


@given(VERSIONS, TARGETS, POLICIES, COMMITS)
def test_every_tag_is_a_valid_docker_tag_without_duplicates(version, target, policy, commit) -> None:
    try:
        result = release_tags(version, target, "production", commit, policy)
    except UsageError:
        return
    assert result and all(DOCKER_TAG.fullmatch(t) and len(t) <= 128 for t in result)
    assert len(set(result)) == len(result)


@given(VERSIONS, TARGETS, POLICIES)
def test_latest_only_for_stable_releases_of_the_default_target(version, target, policy) -> None:
    try:
        result = release_tags(version, target, "production", COMMIT, policy)
    except UsageError:
        return
    semver, pre = semver_oracle(version)
    if "latest" in result and version != "latest":
        assert semver and not pre and target == "production" and policy.latest and policy.semver != "off"
    if target == "development":
        assert not any(t.startswith("latest") for t in result) or version.startswith("latest")


@given(SEMVERISH, st.sampled_from(["auto", "required"]))
def test_semver_tags_exactly_when_the_version_is_semver(version, mode) -> None:
    semver, pre = semver_oracle(version)
    try:
        result = release_tags(version, "production", "production", COMMIT, TagPolicy(semver=mode))
    except UsageError as exc:
        assert not semver and ("not semantic" in str(exc) or "Docker" in str(exc))
        return
    assert semver or (mode == "auto" and len(result) == 1)
    if semver:
        expected = list(dict.fromkeys([version.replace("+", "-"), version.removeprefix("v").partition("+")[0]]))
        assert result[: len(expected)] == expected
        assert ("latest" in result) == (not pre)
