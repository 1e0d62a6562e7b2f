from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sos_images.release_rules import (
    Image,
    ReleaseRequest,
    decide,
    parse_version,
    release_names,
)
from sos_images.tags import TagPolicy

TARGETS = ("production", "production-alpine", "development")
OLD, NEW = Image("sha256:old"), Image("sha256:new")


def request(version: str, target: str = "production", **kw) -> ReleaseRequest:
    return ReleaseRequest(version, target, "production", TARGETS, "abcdef0123", kw.pop("policy", TagPolicy()), **kw)


def actions(version: str, repo: dict, image: Image = NEW, **kw) -> dict[str, str]:
    return {d.tag: d.action for d in decide(request(version, **kw), repo, image).decisions}


def released(*versions: str, image: Image = OLD) -> dict[str, Image]:
    """A repository where each version was released in order, floating tags moved as the rules say."""
    repo: dict[str, Image] = {}
    for version in versions:
        for d in decide(request(version), repo, image).decisions:
            if d.changes:
                repo[d.tag] = image
    return repo


def test_semver_precedence_follows_the_spec_examples() -> None:
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
             "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1"]  # fmt: skip
    parsed = [parse_version(v) for v in order]
    assert parsed == sorted(parsed)
    assert len({p.key() for p in parsed}) == len(order)


def test_build_metadata_is_ignored_for_precedence() -> None:
    assert parse_version("v1.2.3+build.5").key() == parse_version("1.2.3").key()


def test_a_first_release_creates_every_tag() -> None:
    assert set(actions("v1.0.0", {}).values()) == {"create"}


def test_a_hotfix_of_an_older_line_moves_its_line_not_the_major_above_nor_latest() -> None:
    repo = released("v1.9.0", "v2.0.0")
    got = actions("v1.9.1", repo)
    assert got == {"v1.9.1": "create", "1.9.1": "create", "1.9": "move", "1": "move", "latest": "keep"}


def test_a_kept_floating_tag_says_which_higher_version_holds_it() -> None:
    repo = released("v1.9.0", "v2.0.0")
    latest = next(d for d in decide(request("v1.9.1"), repo, NEW).decisions if d.tag == "latest")
    assert latest.reason == "v2.0.0 is higher than v1.9.1"
    assert latest.current == OLD.digest and latest.new == ""


def test_a_hotfix_of_an_older_minor_keeps_the_major_on_the_newer_minor() -> None:
    repo = released("v2.0.0", "v2.1.0")
    got = actions("v2.0.1", repo)
    assert got["2.0"] == "move" and got["2"] == "keep" and got["latest"] == "keep"


def test_a_floating_tag_that_does_not_exist_is_not_created_for_a_lower_version() -> None:
    assert actions("v1.0.0", {"v2.0.0": OLD})["latest"] == "keep"


def test_force_tags_moves_floating_tags_backwards() -> None:
    got = actions("v1.9.1", released("v1.9.0", "v2.0.0"), force_tags=True)
    assert got["latest"] == "move"


def test_a_prerelease_after_a_stable_touches_no_floating_tag() -> None:
    repo = released("v2.0.0")
    assert actions("v2.1.0-rc.1", repo) == {"v2.1.0-rc.1": "create", "2.1.0-rc.1": "create"}


def test_prereleases_do_not_count_as_the_highest_version() -> None:
    repo = released("v2.0.0") | {"v3.0.0-rc.1": OLD, "3.0.0-rc.1": OLD}
    assert actions("v2.1.0", repo)["latest"] == "move"


def test_rerunning_the_same_release_keeps_everything() -> None:
    repo = released("v1.0.0", "v2.0.0", image=NEW)
    assert set(actions("v2.0.0", repo).values()) == {"keep"}


def test_other_content_under_an_existing_version_is_refused_with_both_digests() -> None:
    release = decide(request("v2.0.0"), released("v2.0.0"), NEW)
    assert [d.tag for d in release.refused] == ["v2.0.0", "2.0.0"]
    line = release.refusal()
    assert "v2.0.0 already holds sha256:old" in line and "sha256:new" in line and "--force" in line


def test_force_overwrites_an_immutable_tag() -> None:
    got = actions("v2.0.0", released("v2.0.0"), force=True)
    assert got == {"v2.0.0": "move", "2.0.0": "move", "2.0": "move", "2": "move", "latest": "move"}


def test_sha_tags_are_immutable_like_versions() -> None:
    repo = {"sha-abcdef0": OLD}
    got = actions("v1.0.0", repo, policy=TagPolicy(sha=True))
    assert got["sha-abcdef0"] == "refuse"


def test_an_index_with_new_attestations_over_the_same_platform_images_is_the_same_content() -> None:
    old = Image("sha256:index1", {"linux/amd64": "c1", "linux/arm64": "c2"})
    new = Image("sha256:index2", {"linux/arm64": "c2", "linux/amd64": "c1"})
    assert set(actions("v1.0.0", released("v1.0.0", image=old), new).values()) == {"keep"}
    assert not Image("sha256:a", {"linux/amd64": "c1"}).same(Image("sha256:b", {"linux/amd64": "c9"}))
    assert not Image("sha256:a", {}).same(Image("sha256:b", {}))


def test_a_channel_version_always_moves() -> None:
    assert actions("staging", {"staging": OLD}) == {"staging": "move"}
    assert actions("latest", {"latest": OLD, "v9.0.0": OLD}) == {"latest": "move"}


def test_targets_have_their_own_versions_and_floating_tags() -> None:
    repo = {"v2.0.0-production-alpine": OLD, "latest-production-alpine": OLD}
    assert actions("v1.5.0", repo)["latest"] == "create"
    assert actions("v1.5.0", repo, target="production-alpine")["latest-production-alpine"] == "keep"


def test_the_listing_leaves_out_caches_and_cosign_tags_and_reads_target_suffixes() -> None:
    digest = "sha256-" + "a" * 64
    names = ["v1.0.0", "buildcache", "buildcache-development", f"{digest}.sig", f"{digest}.att", digest,
             "v1.0.0-production-alpine", "1-development"]  # fmt: skip
    got = [(n.base, n.target) for n in release_names(names, TARGETS, "production")]
    assert got == [("v1.0.0", "production"), ("v1.0.0", "production-alpine"), ("1", "development")]


def test_a_suffix_alone_is_not_read_as_a_target() -> None:
    assert [(n.base, n.target) for n in release_names(["development"], TARGETS, "production")] == [
        ("development", "production")
    ]


def test_each_decision_renders_as_one_line() -> None:
    for d in decide(request("v1.9.1"), released("v1.9.0", "v2.0.0"), NEW).decisions:
        assert "\n" not in d.line() and d.line().startswith(d.action)


versions = st.builds(
    lambda a, b, c, pre: f"v{a}.{b}.{c}" + (f"-rc.{pre}" if pre is not None else ""),
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(0, 2)),
)


@given(st.lists(versions, min_size=1, max_size=12))
def test_a_floating_tag_never_moves_to_a_lower_version(history: list[str]) -> None:
    repo: dict[str, Image] = {}
    points_at: dict[str, str] = {}
    for n, version in enumerate(history):
        image = Image(f"sha256:{n}")
        release = decide(request(version), repo, image)
        if release.refused:
            continue
        for d in release.decisions:
            if not d.changes:
                continue
            if d.kind == "floating" and d.tag in points_at:
                assert not parse_version(version) < parse_version(points_at[d.tag]), (d.tag, points_at, version)
            repo[d.tag], points_at[d.tag] = image, version


@given(st.lists(versions, min_size=1, max_size=12, unique=True))
def test_latest_ends_on_the_highest_stable_version_whatever_the_order(history: list[str]) -> None:
    repo: dict[str, Image] = {}
    for version in history:
        image = Image(f"sha256:{version}")
        for d in decide(request(version), repo, image).decisions:
            if d.changes:
                repo[d.tag] = image
    stable = [v for v in history if parse_version(v).stable]
    if stable:
        highest = max(stable, key=lambda v: parse_version(v).key())
        assert repo["latest"].digest == f"sha256:{highest}"
    else:
        assert "latest" not in repo


@pytest.mark.parametrize("version", ["v1.2.3", "v1.2.3-rc.1", "staging"])
def test_a_version_is_never_refused_into_an_empty_repository(version: str) -> None:
    assert not decide(request(version), {}, NEW).refused
