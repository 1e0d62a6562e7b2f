"""A service's build recipe, resolved once by the catalog: own Dockerfiles, explicit settings, and every verb
reading it (plans, compose, affected). No Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from sos_images import affected, buildall, compose
from sos_images.catalog import load_catalog
from sos_images.checks import verify
from sos_images.errors import ServiceError, UsageError
from sos_images.plans import BuildClient, BuildOptions, SourceInfo, plan_build
from sos_images.refs import resolve
from tests.conftest import make_own_service

SOURCE = SourceInfo(commit="0" * 40, created="2025-10-29T03:30:00Z")


def settings(repo: Path, text: str) -> None:
    (repo / "pyproject.toml").write_text('[tool.sos-images]\nsource = "https://example.test/sos"\n' + text)


def plan(repo: Path, service: str, **options):
    catalog = load_catalog(repo)
    opts = BuildOptions(**options)
    ref = resolve(catalog, service, opts.target, opts.version, opts.registry, {})
    return plan_build(catalog, ref, opts, SOURCE, BuildClient("buildx"), {})


def test_a_folder_with_a_dockerfile_is_a_service_built_with_it(fake_repo: Path) -> None:
    folder = make_own_service(fake_repo, "web")
    svc = load_catalog(fake_repo).service("web")
    assert (svc.language, svc.kind, svc.targets, svc.port) == (None, "dockerfile", ("web",), 8080)
    assert svc.health_path is None  # its HEALTHCHECK is the health check
    assert (svc.recipe.dockerfile, svc.recipe.context) == (folder / "Dockerfile", folder)
    assert svc.recipe.healthcheck("web").startswith('["busybox", "wget"')
    assert svc.budget_mb is None


def test_its_own_dockerfile_wins_over_a_package_json(fake_repo: Path) -> None:
    folder = make_own_service(fake_repo, "web")
    (folder / "package.json").write_text("{}")
    (folder / "go.mod").write_text("module x\n")
    assert load_catalog(fake_repo).service("web").kind == "dockerfile"


def test_the_plan_builds_its_dockerfile_from_its_folder(fake_repo: Path) -> None:
    folder = make_own_service(fake_repo, "web")
    p = plan(fake_repo, "web", version="v1.0.0")
    argv = list(p.argv)
    assert argv[argv.index("--file") + 1] == str(folder / "Dockerfile")
    assert argv[argv.index("--target") + 1] == "web" and argv[-1] == str(folder)
    assert p.image == "ghcr.io/sos-app/web:v1.0.0" and "--build-arg=HEALTH_PATH" not in " ".join(argv)
    assert (p.dockerfile, p.context, dict(p.named_contexts)) == (folder / "Dockerfile", folder, {})


def test_an_intermediate_stage_can_be_built_and_a_missing_one_is_one_line(fake_repo: Path) -> None:
    make_own_service(fake_repo, "web")
    assert plan(fake_repo, "web", target="site").image.endswith(":latest-site")
    with pytest.raises(UsageError, match=r"web's Dockerfile has no stage 'nope': give one of site, web"):
        plan(fake_repo, "web", target="nope")


def test_an_unnamed_single_stage_is_built_without_target(fake_repo: Path) -> None:
    make_own_service(fake_repo, "tiny", "FROM alpine:3.19\nEXPOSE 9000\n")
    p = plan(fake_repo, "tiny")
    assert "--target" not in p.argv and p.image.endswith("tiny:latest") and p.service.port == 9000


def test_a_syntax_line_is_a_one_line_warning_in_the_plan(fake_repo: Path) -> None:
    make_own_service(fake_repo, "web", "# syntax=docker/dockerfile:1\nFROM alpine:3.19\nEXPOSE 80\n")
    (note,) = plan(fake_repo, "web").notes
    assert "syntax=docker/dockerfile:1" in note and "registry" in note and "\n" not in note


def test_no_port_found_needs_the_port_setting(fake_repo: Path) -> None:
    make_own_service(fake_repo, "web", "FROM alpine:3.19\n")
    catalog = load_catalog(fake_repo)
    assert "auth-service" in catalog.services  # the others keep working
    with pytest.raises(ServiceError, match=r"exposes no port.*set port in \[tool.sos-images.services.web\]"):
        catalog.service("web")
    settings(fake_repo, "[tool.sos-images.services.web]\nport = 8000\n")
    assert load_catalog(fake_repo).service("web").port == 8000


def test_build_args_from_the_settings_reach_the_expose_line(fake_repo: Path) -> None:
    make_own_service(fake_repo, "web")
    settings(fake_repo, '[tool.sos-images.services.web]\nbuild-args = { PORT = "8181" }\n')
    assert load_catalog(fake_repo).service("web").port == 8181


def test_explicit_dockerfile_context_and_targets_beat_what_is_found(fake_repo: Path) -> None:
    make_own_service(fake_repo, "web")
    (fake_repo / "docker").mkdir()
    (fake_repo / "docker" / "web.Dockerfile").write_text(
        "FROM alpine:3.19 AS dev\nEXPOSE 5000\nFROM alpine:3.19 AS prod\nEXPOSE 5001\n"
    )
    settings(
        fake_repo,
        '[tool.sos-images.services.web]\ndockerfile = "docker/web.Dockerfile"\n'
        'context = "."\ntargets = ["prod", "dev"]\n',
    )
    svc = load_catalog(fake_repo).service("web")
    assert (svc.recipe.dockerfile, svc.recipe.context) == (fake_repo / "docker" / "web.Dockerfile", fake_repo)
    assert (svc.targets, svc.default_target, svc.port) == (("prod", "dev"), "prod", 5001)
    assert plan(fake_repo, "web").argv[-1] == str(fake_repo)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('context = "../.."', "leaves the repository"),
        ('dockerfile = "../Dockerfile"', "leaves the repository"),
        ('dockerfile = "nope/Dockerfile"', "does not exist"),
        ('targets = ["web", "nope"]', "has no stage 'nope'"),
    ],
)
def test_bad_recipe_settings_are_one_line_for_that_service_only(fake_repo: Path, text: str, message: str) -> None:
    make_own_service(fake_repo, "web")
    settings(fake_repo, f"[tool.sos-images.services.web]\n{text}\n")
    catalog = load_catalog(fake_repo)
    with pytest.raises(ServiceError, match=message):
        catalog.service("web")
    assert {"auth-service", "device-service"} <= set(catalog.services)


def test_a_built_in_service_can_restrict_its_targets(fake_repo: Path) -> None:
    settings(fake_repo, '[tool.sos-images.services.device-service]\ntargets = ["production"]\n')
    svc = load_catalog(fake_repo).service("device-service")
    assert svc.targets == ("production",) and svc.kind == "go"


def test_compose_runs_the_default_target_of_a_service_without_development(fake_repo: Path) -> None:
    make_own_service(fake_repo, "web")
    catalog = load_catalog(fake_repo)
    entry = compose.model(catalog)["services"]["web"]
    assert entry["build"] == {
        "context": "services/web",
        "dockerfile": "Dockerfile",
        "target": "web",
        "args": {"PORT": "8080", "VERSION": "${SOS_IMAGE_TAG:-latest}"},
    }
    assert entry["ports"] == ["127.0.0.1:${WEB_HOST_PORT:-8081}:8080"]  # 8080 is device-service's; no debugger
    assert entry["develop"]["watch"][0]["path"] == "./services/web"


def test_an_own_dockerfile_under_1024_gets_a_host_port_above_it(fake_repo: Path) -> None:
    make_own_service(fake_repo, "web", "FROM alpine:3.19\nEXPOSE 80\n")
    assert compose.host_ports(load_catalog(fake_repo))["web"].app == 8080 + 1  # 8080 is device-service's


def test_a_change_to_its_dockerfile_affects_it_and_only_it(fake_repo: Path) -> None:
    make_own_service(fake_repo, "web")
    catalog = load_catalog(fake_repo)
    rules = affected.rules_for(catalog, {})
    result = affected.affected(["services/web/Dockerfile", "services/web/public/index.html"], rules)
    assert result.services == ["web"]
    assert result.reasons["web"][0] == "services/web/Dockerfile is its Dockerfile or ignore file"
    assert affected.affected(["dockerfiles/Dockerfile.go"], rules).services == ["device-service"]


def test_its_own_dockerignore_keeps_files_out_of_its_build(fake_repo: Path) -> None:
    folder = make_own_service(fake_repo, "web")
    (folder / ".dockerignore").write_text("*.md\n")
    catalog = load_catalog(fake_repo)
    rules = affected.rules_for(catalog, {folder / ".dockerignore": "*.md\n"})
    assert affected.affected(["services/web/README.md"], rules).services == []
    assert affected.affected(["services/web/.dockerignore"], rules).services == ["web"]


def test_build_all_builds_its_default_target_and_selects_it_by_kind(fake_repo: Path) -> None:
    make_own_service(fake_repo, "web")
    catalog = load_catalog(fake_repo)
    assert ("web", "web") in buildall.select(catalog)
    assert buildall.select(catalog, language="dockerfile") == [("web", "web")]
    with pytest.raises(UsageError, match="unknown target 'site'"):  # an intermediate stage is no target
        buildall.select(catalog, target="site")


def test_verify_asks_an_own_dockerfile_for_the_checks_that_apply(fake_repo: Path) -> None:
    make_own_service(fake_repo, "web")
    image = resolve(load_catalog(fake_repo), "web", environ={})
    config = {"User": "web", "ExposedPorts": {"8080/tcp": {}, "9000/tcp": {}}, "Healthcheck": {"Test": ["NONE"]}}
    checks = {c.name: c.ok for c in verify.static_checks(image, {"Config": config, "Size": 9_000_000}, "", None)}
    assert checks == {"labels": False, "port": True, "user": True, "healthcheck": False, "size": None}
