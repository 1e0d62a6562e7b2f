from __future__ import annotations

from pathlib import Path

import pytest

from sos_images.build import make_plan, preflight
from sos_images.catalog import load_catalog
from sos_images.errors import ServiceError, UsageError
from sos_images.plans import BuildClient, BuildOptions, SourceInfo, parse_build_args, plan_build
from sos_images.platforms import EngineFacts
from sos_images.refs import check_version, resolve
from tests.conftest import make_go_service, make_node_service

SOURCE = SourceInfo(commit="0123456789abcdef0123456789abcdef01234567", created="2025-10-29T03:30:00Z")
BUILDX = BuildClient("buildx")


def plan(repo: Path, service: str, facts: EngineFacts | None = None, **options):
    catalog = load_catalog(repo)
    opts = BuildOptions(**options)
    ref = resolve(catalog, service, opts.target, opts.version, opts.registry, {})
    return plan_build(catalog, ref, opts, SOURCE, BUILDX, {}, facts)


def test_production_image_is_tagged_like_the_seed(fake_repo: Path) -> None:
    assert plan(fake_repo, "auth-service", version="v1.0.0").image == "ghcr.io/sos-app/auth-service:v1.0.0"


def test_other_targets_get_a_target_suffix(fake_repo: Path) -> None:
    p = plan(fake_repo, "device-service", target="development")
    assert p.image == "ghcr.io/sos-app/device-service:latest-development"


def test_build_args_carry_version_date_commit_and_base_images(fake_repo: Path) -> None:
    args = dict(plan(fake_repo, "device-service", version="v2.0.0").build_args)
    assert args["VERSION"] == "v2.0.0"
    assert args["BUILD_DATE"] == "2025-10-29T03:30:00Z"
    assert args["GIT_COMMIT"] == SOURCE.commit
    assert args["GO_IMAGE"] == "golang:1.21-alpine"
    assert args["ALPINE_IMAGE"] == "alpine:3.19"
    assert "NODE_IMAGE" not in args


def test_user_build_args_override_catalog_ones(fake_repo: Path) -> None:
    args = dict(plan(fake_repo, "device-service", build_args=("UPX=true", "GO_IMAGE=mirror/golang:1.21")).build_args)
    assert args["UPX"] == "true"
    assert args["GO_IMAGE"] == "mirror/golang:1.21"


def test_oci_labels_are_set(fake_repo: Path) -> None:
    labels = dict(plan(fake_repo, "auth-service", version="v1.0.0").labels)
    assert labels == {
        "org.opencontainers.image.title": "auth-service",
        "org.opencontainers.image.vendor": "SOS App",
        "org.opencontainers.image.version": "v1.0.0",
        "org.opencontainers.image.revision": SOURCE.commit,
        "org.opencontainers.image.created": "2025-10-29T03:30:00Z",
        "org.opencontainers.image.source": "https://example.test/sos",
    }


def test_argv_is_the_exact_buildx_command(fake_repo: Path) -> None:
    p = plan(fake_repo, "device-service", target="production", version="v1.0.0", no_cache=True)
    argv = list(p.argv)
    assert argv[:3] == ["docker", "buildx", "build"]
    assert "--load" in argv and "--no-cache" in argv
    assert argv[argv.index("--file") + 1] == str(fake_repo / "dockerfiles" / "Dockerfile.go")
    assert argv[argv.index("--target") + 1] == "production"
    assert argv[argv.index("--tag") + 1] == "ghcr.io/sos-app/device-service:v1.0.0"
    assert "--build-arg=VERSION=v1.0.0" in argv
    assert argv[-1] == str((fake_repo / "services" / "device-service").resolve())
    assert dict(p.env) == {"BUILDX_GIT_INFO": "0"}


def test_classic_client_uses_docker_build_with_buildkit_env(fake_repo: Path) -> None:
    catalog = load_catalog(fake_repo)
    p = plan_build(
        catalog,
        resolve(catalog, "auth-service", environ={}),
        BuildOptions(),
        SOURCE,
        BuildClient("classic", "/usr/bin/docker"),
    )
    assert p.argv[:2] == ("/usr/bin/docker", "build")
    assert "--load" not in p.argv
    assert dict(p.env) == {"DOCKER_BUILDKIT": "1"}
    assert p.command_line().startswith("DOCKER_BUILDKIT=1 /usr/bin/docker build")


def test_builder_needs_buildx(fake_repo: Path) -> None:
    catalog = load_catalog(fake_repo)
    with pytest.raises(UsageError, match="buildx"):
        plan_build(
            catalog,
            resolve(catalog, "auth-service", environ={}),
            BuildOptions(builder="remote"),
            SOURCE,
            BuildClient("classic"),
        )


def test_cache_platform_and_builder_options_reach_the_argv(fake_repo: Path) -> None:
    p = plan(
        fake_repo,
        "auth-service",
        EngineFacts(builder_platforms=("linux/amd64", "linux/arm64")),
        platforms=("linux/arm64",),
        builder="k8s",
        cache_from=("type=registry,ref=r/x:cache",),
        cache_to=("type=inline",),
    )
    for flag in (
        "--platform=linux/arm64",
        "--builder=k8s",
        "--cache-from=type=registry,ref=r/x:cache",
        "--cache-to=type=inline",
    ):
        assert flag in p.argv


def test_ca_bundle_is_passed_as_a_secret_never_a_build_arg(fake_repo: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    p = plan(fake_repo, "auth-service", ca_bundle=str(bundle))
    assert f"--secret=id=ca,src={bundle}" in p.argv
    assert all(str(bundle) not in v for _, v in p.build_args)


def test_missing_ca_bundle_is_a_usage_error(fake_repo: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        plan(fake_repo, "auth-service", ca_bundle="/nonexistent/ca.pem")


@pytest.mark.parametrize(
    "version", ["v1.0.0", "latest", "1.2.3-rc.1", "sha-abc1234", "staging", "A_b", "v1.0.0+build.5", "x" * 128]
)
def test_valid_versions_pass_unchanged(version: str) -> None:
    assert check_version(version) == version


@pytest.mark.parametrize("version", ["-v1", ".v1", "+v1", "a/b", "has space", "ü", "v1\n", "v1.0.0+ü"])
def test_invalid_versions_are_refused_with_an_example(version: str) -> None:
    with pytest.raises(UsageError, match=r"not a valid Docker tag: .*\(e\.g\. v1\.2\.3\)"):
        check_version(version)


def test_a_version_too_long_for_docker_says_so() -> None:
    with pytest.raises(UsageError, match="longer than Docker's 128 characters"):
        check_version("x" * 129)


def test_build_metadata_reaches_the_labels_and_the_tag_holds_a_dash(fake_repo: Path) -> None:
    built = plan(fake_repo, "auth-service", version="v1.2.3+build.5")
    assert built.image.endswith("/auth-service:v1.2.3-build.5")
    assert ("org.opencontainers.image.version", "v1.2.3+build.5") in built.labels


@pytest.mark.parametrize("item", ["NOEQUALS", "=value", "1BAD=x", "BAD-NAME=x"])
def test_malformed_build_args_are_refused(item: str) -> None:
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_build_args([item])


def test_build_arg_values_may_contain_equals_signs() -> None:
    assert parse_build_args(["URL=a=b"]) == (("URL", "a=b"),)


def test_node_service_without_build_script_fails_preflight(fake_repo: Path) -> None:
    make_node_service(fake_repo, "lazy-service", build_script=False)
    with pytest.raises(ServiceError, match='no "build" script'):
        preflight(load_catalog(fake_repo).service("lazy-service"))


def test_go_service_without_go_mod_fails_preflight(fake_repo: Path) -> None:
    make_go_service(fake_repo, "nomod-service", gomod=False)
    with pytest.raises(ServiceError, match="no go.mod"):
        preflight(load_catalog(fake_repo).service("nomod-service"))


def test_go_service_without_main_fails_preflight(fake_repo: Path) -> None:
    make_go_service(fake_repo, "nomain-service", main=False)
    (fake_repo / "services" / "nomain-service" / "cmd" / "server.go").write_text("package main\n")
    with pytest.raises(ServiceError, match="no cmd/main.go"):
        preflight(load_catalog(fake_repo).service("nomain-service"))


def test_go_preflight_reports_module_and_dependency_count(fake_repo: Path) -> None:
    gomod = fake_repo / "services" / "device-service" / "go.mod"
    gomod.write_text("module x/y\n\ngo 1.21\n\nrequire (\n\ta/b v1\n\tc/d v2 // indirect\n)\nrequire e/f v3\n")
    assert preflight(load_catalog(fake_repo).service("device-service")) == ["module x/y, 3 dependencies"]


def test_make_plan_validates_before_anything_runs(fake_repo: Path) -> None:
    with pytest.raises(UsageError, match="valid targets"):
        make_plan(load_catalog(fake_repo), "auth-service", BuildOptions(target="production-alpine"))


def test_ca_bundle_defaults_to_sos_ca_bundle(fake_repo: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "proxy-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    catalog = load_catalog(fake_repo)
    p = plan_build(
        catalog,
        resolve(catalog, "auth-service", environ={}),
        BuildOptions(),
        SOURCE,
        BUILDX,
        {"SOS_CA_BUNDLE": str(bundle)},
    )
    assert f"--secret=id=ca,src={bundle}" in p.argv
