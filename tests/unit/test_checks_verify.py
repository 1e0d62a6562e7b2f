"""verify's decisions on image configs, health answers and container states; no engine needed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from sos_images.catalog import load_catalog
from sos_images.checks import ImageRef, image_ref
from sos_images.checks import verify as v
from sos_images.engine import Container

OCI = "org.opencontainers.image."
NS = 1_000_000_000
GO_CONFIG: dict[str, Any] = {
    "User": "1001:1001",
    "ExposedPorts": {"8080/tcp": {}},
    "Healthcheck": {"Test": ["CMD", "/app", "-healthcheck"], "Interval": 30 * NS, "Retries": 3},
    "Entrypoint": ["/app"],
    "Labels": {
        OCI + "title": "device-service",
        OCI + "version": "v1.2.3",
        OCI + "revision": "0428ec045d7b0d4da6b54ea8bea8049ce2aadfc3",
        OCI + "created": "2026-11-28T12:46:34Z",
        OCI + "source": "https://example.test/sos",
    },
}


@pytest.fixture
def catalog(fake_repo: Path):
    return load_catalog(fake_repo)


def ref(catalog, service: str = "device-service", target: str = "production") -> ImageRef:
    return image_ref(catalog, service, target, "v1.2.3", environ={})


def inspect(size: int = 6_000_000, **config: Any) -> dict[str, Any]:
    merged = copy.deepcopy(GO_CONFIG) | config
    return {"Size": size, "Config": merged}


def by_name(checks: list) -> dict[str, Any]:
    return {c.name: c for c in checks}


def test_the_bundled_go_production_config_passes_every_static_check(catalog) -> None:
    checks = v.static_checks(ref(catalog), inspect(), catalog.source_url, 20)
    assert [(c.name, c.ok) for c in checks] == [
        ("labels", True),
        ("port", True),
        ("user", True),
        ("healthcheck", True),
        ("size", True),
    ]


def test_missing_labels_and_a_wrong_version_label_are_named(catalog) -> None:
    labels = dict(GO_CONFIG["Labels"])
    del labels[OCI + "revision"]
    check = v.check_labels(ref(catalog), labels, "https://example.test/sos")
    assert not check.ok and OCI + "revision" in check.detail
    labels = GO_CONFIG["Labels"] | {OCI + "version": "latest"}
    check = v.check_labels(ref(catalog), labels, "")
    assert not check.ok and "'latest', expected 'v1.2.3'" in check.detail


def test_the_source_label_is_required_only_when_the_catalog_has_a_source(catalog) -> None:
    labels = {k: val for k, val in GO_CONFIG["Labels"].items() if not k.endswith("source")}
    assert v.check_labels(ref(catalog), labels, "").ok
    assert not v.check_labels(ref(catalog), labels, "https://example.test/sos").ok


@pytest.mark.parametrize(
    ("target", "ports", "ok"),
    [
        ("production", {"8080/tcp": {}}, True),
        ("production", {"3000/tcp": {}}, False),
        ("production", {"8080/tcp": {}, "2345/tcp": {}}, False),
        ("development", {"8080/tcp": {}, "2345/tcp": {}}, True),
        ("production", {}, False),
    ],
)
def test_the_exposed_port_is_the_catalogs(catalog, target: str, ports: dict, ok: bool) -> None:
    assert v.check_port(ref(catalog, target=target), ports).ok is ok


@pytest.mark.parametrize(
    ("target", "user", "ok"),
    [
        ("production", "1001:1001", True),
        ("production", "1001", True),
        ("production", "", False),
        ("production", "0:0", False),
        ("production", "root", False),
        ("production", "1000", False),
        ("production-alpine", "nobody", False),
        ("development", "1000:1000", True),
        ("development", "0", False),
    ],
)
def test_the_configured_user_is_non_root_and_1001_for_production(catalog, target: str, user: str, ok: bool) -> None:
    assert v.check_user(ref(catalog, target=target), user).ok is ok


def test_no_healthcheck_fails_and_the_image_interval_is_shown() -> None:
    assert not v.check_healthcheck({}).ok
    assert not v.check_healthcheck({"Test": ["NONE"]}).ok
    check = v.check_healthcheck(GO_CONFIG["Healthcheck"])
    assert check.ok and "every 30s" in check.detail


def test_the_size_budget_applies_to_the_default_target_only(catalog) -> None:
    assert v.check_size(ref(catalog), 8_000_000, 19_900_000, 20).ok
    over = v.check_size(ref(catalog), 8_000_000, 20_100_000, 20)
    assert not over.ok and "unpacked is over the 20 MB budget" in over.detail
    assert "8.0MB download, 20.1MB unpacked" in over.detail
    assert v.check_size(ref(catalog, target="development"), None, 300_000_000, 20).ok is None


def test_the_budget_is_on_the_unpacked_size_not_the_download(catalog) -> None:
    assert not v.check_size(ref(catalog), 5_000_000, 25_000_000, 20).ok


def test_a_service_budget_overrides_the_language_budget(fake_repo: Path) -> None:
    pyproject = fake_repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "[tool.sos-images.services.device-service]\nbudget-mb = 8\n")
    catalog = load_catalog(fake_repo)
    assert v.budget_for(catalog, ref(catalog)) == 8
    assert v.budget_for(catalog, ref(catalog, "auth-service")) == 200
    assert v.budget_for(catalog, ref(catalog), override=50) == 50


def test_the_container_runs_hardened_with_a_one_second_health_interval(catalog) -> None:
    options = v.run_options(ref(catalog), ["CMD", "/app", "-healthcheck"])
    assert options["read_only"] is True
    assert options["cap_drop"] == ["ALL"] and "cap_add" not in options and "privileged" not in options
    assert "no-new-privileges:true" in options["security_opt"]
    assert set(options["tmpfs"]) == {"/tmp"}
    assert options["ports"] == {"8080/tcp": ("127.0.0.1", None)}
    assert options["healthcheck"]["test"] == ["CMD", "/app", "-healthcheck"]
    assert options["healthcheck"]["interval"] == 1 * NS


def test_the_go_binary_is_the_program_the_healthcheck_runs(catalog) -> None:
    assert v.app_binary(GO_CONFIG) == "/app"
    development = {"Cmd": ["dlv", "exec"], "Healthcheck": {"Test": ["CMD", "/usr/local/bin/app", "-healthcheck"]}}
    assert v.app_binary(development) == "/usr/local/bin/app"
    assert v.app_binary({"Entrypoint": ["/srv/app"]}) == "/srv/app"


@pytest.mark.parametrize(
    ("status", "body", "ok", "fragment"),
    [
        (200, b'{"status":"healthy","version":"v1"}', True, "status 'healthy'"),
        (503, b'{"status":"down"}', False, "answered 503"),
        (200, b"OK", False, "not JSON"),
        (200, b'{"ok":true}', False, 'without a "status" field'),
        (200, b'["healthy"]', False, 'without a "status" field'),
    ],
)
def test_the_health_endpoint_must_answer_200_json_with_a_status(
    status: int, body: bytes, ok: bool, fragment: str
) -> None:
    check = v.judge_health_response("/health", status, "application/json", body)
    assert check.ok is ok and fragment in check.detail


class FakeSDKContainer:
    """Plays back a list of container states, as the SDK's reload() would see them."""

    def __init__(self, states: list[dict[str, Any]], logs: bytes = b"") -> None:
        self.states, self._logs, self.attrs = states, logs, {"State": states[0]}
        self.stopped_with: int | None = None

    def reload(self) -> None:
        if len(self.states) > 1:
            self.states.pop(0)
        self.attrs = {"State": self.states[0]}

    def logs(self, **_: Any) -> bytes:
        return self._logs

    def stop(self, timeout: int) -> None:
        self.stopped_with = timeout
        self.states = [{"Running": False, "ExitCode": 0}]


class FakeContainer(Container):
    """The engine's Container wrapper around a played-back SDK container."""

    def __init__(self, states: list[dict[str, Any]], logs: bytes = b"") -> None:
        super().__init__(FakeSDKContainer(states, logs))

    @property
    def stopped_with(self) -> int | None:
        return self._c.stopped_with


def running(health: str) -> dict[str, Any]:
    return {"Running": True, "Health": {"Status": health, "Log": [{"ExitCode": 1, "Output": "connection refused"}]}}


def test_waiting_for_health_passes_once_healthy() -> None:
    container = FakeContainer([running("starting"), running("starting"), running("healthy")])
    assert v.wait_healthy(container, timeout=5).ok


def test_waiting_for_health_fails_on_unhealthy_with_the_last_probe() -> None:
    check = v.wait_healthy(FakeContainer([running("starting"), running("unhealthy")]), timeout=5)
    assert not check.ok and "unhealthy" in check.detail and "connection refused" in check.detail


def test_waiting_for_health_fails_when_the_container_exits_with_its_last_log_line() -> None:
    container = FakeContainer([{"Running": False, "ExitCode": 1}], logs=b"starting\nEROFS: read-only file system\n")
    check = v.wait_healthy(container, timeout=5)
    assert not check.ok and "code 1" in check.detail and "EROFS" in check.detail


def test_waiting_for_health_is_bounded() -> None:
    check = v.wait_healthy(FakeContainer([running("starting")]), timeout=0.3)
    assert not check.ok and "starting after" in check.detail


def test_stop_gives_the_app_ten_seconds_and_passes_when_quick() -> None:
    container = FakeContainer([{"Running": True}])
    check = v.check_stop(container)
    assert check.ok and container.stopped_with == 10


def test_stop_fails_when_it_takes_longer_than_the_budget(monkeypatch) -> None:
    monkeypatch.setattr(v, "STOP_BUDGET_S", 0.05)
    container = FakeContainer([{"Running": True}])
    real_stop = container._c.stop

    def slow_stop(timeout: int) -> None:
        import time

        time.sleep(0.1)
        real_stop(timeout)

    container._c.stop = slow_stop  # type: ignore[method-assign]
    check = v.check_stop(container)
    assert not check.ok and "SIGTERM did not stop the app" in check.detail


def test_stop_fails_when_the_container_already_died() -> None:
    check = v.check_stop(FakeContainer([{"Running": False, "ExitCode": 137}]))
    assert not check.ok and "exit 137" in check.detail
