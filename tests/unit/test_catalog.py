from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sos_images.catalog import LANGUAGES, dockerfile_base_images, find_root, load_catalog
from sos_images.errors import ServiceError, UsageError
from tests.conftest import REPO, make_go_service


def test_services_are_discovered_from_folders_with_their_language(fake_repo: Path) -> None:
    catalog = load_catalog(fake_repo)
    assert {n: s.language.name for n, s in catalog.services.items()} == {
        "auth-service": "node",
        "device-service": "go",
    }


def test_targets_depend_on_the_language(fake_repo: Path) -> None:
    catalog = load_catalog(fake_repo)
    assert catalog.service("auth-service").targets == ("production", "development")
    assert catalog.service("device-service").targets == ("production", "production-alpine", "development")


def test_default_ports_come_from_the_language(fake_repo: Path) -> None:
    catalog = load_catalog(fake_repo)
    assert catalog.service("auth-service").port == 3000
    assert catalog.service("device-service").port == 8080


def test_pyproject_overrides_port_health_path_and_build_args(fake_repo: Path) -> None:
    (fake_repo / "pyproject.toml").write_text(
        "[tool.sos-images.services.device-service]\n"
        'port = 9090\nhealth-path = "/healthz"\nbuild-args = { FOO = "bar" }\n'
    )
    svc = load_catalog(fake_repo).service("device-service")
    assert (svc.port, svc.health_path, svc.build_args) == (9090, "/healthz", (("FOO", "bar"),))


def test_an_override_for_a_missing_service_is_an_error(fake_repo: Path) -> None:
    (fake_repo / "pyproject.toml").write_text("[tool.sos-images.services.nope]\nport = 1\n")
    with pytest.raises(UsageError, match="nope"):
        load_catalog(fake_repo)


def test_unknown_service_lists_the_known_ones(fake_repo: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown service 'billing'.*auth-service, device-service"):
        load_catalog(fake_repo).service("billing")


def test_invalid_target_lists_the_valid_ones(fake_repo: Path) -> None:
    svc = load_catalog(fake_repo).service("auth-service")
    with pytest.raises(UsageError, match="valid targets: production, development"):
        svc.check_target("production-alpine")


def test_target_defaults_to_production(fake_repo: Path) -> None:
    assert load_catalog(fake_repo).service("device-service").check_target(None) == "production"


def test_a_symlink_pointing_outside_services_is_refused(fake_repo: Path, tmp_path_factory) -> None:
    outside = make_go_service(tmp_path_factory.mktemp("elsewhere"), "rogue-service")
    os.symlink(outside, fake_repo / "services" / "rogue-service")
    catalog = load_catalog(fake_repo)
    assert "rogue-service" not in catalog.services
    with pytest.raises(ServiceError, match="symlink.*outside services/"):
        catalog.service("rogue-service")


def test_a_symlink_inside_services_is_a_service(fake_repo: Path) -> None:
    os.symlink(fake_repo / "services" / "device-service", fake_repo / "services" / "device-alias")
    assert "device-alias" in load_catalog(fake_repo).services


def test_a_folder_without_manifest_is_named_as_a_problem(fake_repo: Path) -> None:
    (fake_repo / "services" / "empty-service").mkdir()
    with pytest.raises(ServiceError, match="neither package.json"):
        load_catalog(fake_repo).service("empty-service")


def test_matrix_is_services_times_their_targets(fake_repo: Path) -> None:
    pairs = [(s.name, t) for s, t in load_catalog(fake_repo).matrix()]
    assert len(pairs) == 5
    assert ("auth-service", "production-alpine") not in pairs


def test_the_real_catalog_has_the_seven_services() -> None:
    catalog = load_catalog(REPO)
    node = {n for n, s in catalog.services.items() if s.language.name == "node"}
    go = {n for n, s in catalog.services.items() if s.language.name == "go"}
    assert node == {"auth-service", "user-service", "medical-service", "notification-service"}
    assert go == {"emergency-service", "location-service", "device-service"}
    assert len(catalog.matrix()) == 17


def test_root_is_found_from_a_subfolder(fake_repo: Path) -> None:
    assert find_root(fake_repo / "services" / "device-service" / "cmd") == fake_repo


def test_base_images_default_to_the_seed_and_can_be_overridden(fake_repo: Path) -> None:
    assert load_catalog(fake_repo).base_images["NODE_IMAGE"] == "node:20-alpine"
    (fake_repo / "pyproject.toml").write_text(
        '[tool.sos-images.base-images]\nNODE_IMAGE = "mirror.example.com/library/node:20-alpine"\n'
    )
    assert load_catalog(fake_repo).base_images["NODE_IMAGE"].startswith("mirror.example.com/")


BASE_IMAGE_LITERAL = re.compile(r"(?<![\w./-])(?:node|golang|alpine):[0-9][\w.-]*")


def test_base_image_defaults_are_written_once_in_the_dockerfiles_and_everything_else_agrees() -> None:
    defaults = dockerfile_base_images(REPO / "dockerfiles")
    assert set(defaults) == {arg for lang in LANGUAGES.values() for arg in lang.base_args}
    assert dict(load_catalog(REPO).base_images) == defaults  # pyproject.toml does not repeat them
    bootstrap = (REPO / "scripts/bootstrap-engine.sh").read_text()
    assert "dockerfiles/Dockerfile.node" in bootstrap and not BASE_IMAGE_LITERAL.search(bootstrap)
    files = [REPO / "README.md", REPO / "bench/run.py", *REPO.glob("docs/*.md"), *REPO.glob("scripts/*.sh")]
    files += [*REPO.glob("src/**/*.py"), *REPO.glob("tests/**/*.py"), *REPO.glob("tests/fixtures/**/Dockerfile.*")]
    stale = {
        f"{path.relative_to(REPO)}: {image}"
        for path in files
        for image in BASE_IMAGE_LITERAL.findall(path.read_text(encoding="utf-8"))
        if image not in defaults.values()
    }
    assert not stale, "base images that disagree with the Dockerfiles' ARG defaults"


def test_the_node_final_stages_inherit_healthcheck_and_entrypoint_from_base() -> None:
    text = (REPO / "dockerfiles/Dockerfile.node").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    base = next(s for s in stages if s.split()[2] == "base")
    assert len(re.findall(r"^(?:HEALTHCHECK|ENTRYPOINT) ", text, re.MULTILINE)) == 2  # once each
    assert "HEALTHCHECK " in base and 'ENTRYPOINT ["dumb-init", "--"]' in base
    assert {s.split()[2]: s.split()[0] for s in stages if s.split()[2] in ("development", "production")} == {
        "development": "base",
        "production": "base",
    }


def test_the_ghcr_namespace_is_the_repository_owner_in_github_actions_lowercased() -> None:
    from sos_images.catalog import DEFAULT_REGISTRIES

    ghcr = DEFAULT_REGISTRIES["ghcr"]
    assert ghcr.resolved({"GITHUB_REPOSITORY_OWNER": "Acme-Corp"}).namespace == "acme-corp"
    assert ghcr.resolved({}).namespace == "sos-app"
