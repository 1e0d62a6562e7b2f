"""What maintainers write is input: every key of [tool.sos-images] and every folder under services/."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sos_images.catalog import load_catalog
from sos_images.errors import UsageError
from sos_images.settings import SCHEMA, Wrong, reference
from tests.conftest import REPO, invoke, make_go_service, make_node_service

# Where a "*" table gets a concrete name in the test: a service that exists, a profile of our own.
CONCRETE = {"services.*": "services.auth-service", "registries.*": "registries.quay"}
KEYS = [(CONCRETE.get(path, path), k) for path, keys in SCHEMA.items() for k in keys]


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes, but no surrogate pairs (TOML refuses them) and DEL escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def write_setting(repo: Path, table: str, name: str, value: Any) -> None:
    line = f"{json.dumps(name)} = {toml_value(value)}\n"
    text = (repo / "pyproject.toml").read_text()
    if table:
        text += f"\n[tool.sos-images.{table}]\n{line}"
    else:  # the top-level table exists already: the key replaces its line there, or goes under its header
        text = "".join(t for t in text.splitlines(keepends=True) if not t.startswith(f"{name} ="))
        text = text.replace("[tool.sos-images]\n", f"[tool.sos-images]\n{line}", 1)
    (repo / "pyproject.toml").write_text(text)


values = st.recursive(
    st.one_of(
        st.text(max_size=12),
        st.integers(min_value=-(2**40), max_value=2**40),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=2),
    max_leaves=4,
)


def refused(check: Any, value: Any) -> bool:
    try:
        check(value)
    except Wrong:
        return True
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(KEYS), values, st.data())
def test_any_wrong_value_of_any_key_is_one_line_naming_the_table_and_key(fake_repo: Path, entry, value, data) -> None:
    table, key = entry
    if not refused(key.check, value):
        value = data.draw(st.sampled_from([[], {}, [1, {}], {"x": []}, math.pi * 1e6, -1, "\u0000bad value"]))
    if not refused(key.check, value):
        return
    repo = fake_repo / "copy"
    if not repo.exists():
        shutil.copytree(fake_repo, repo, ignore=shutil.ignore_patterns("copy"))
    shutil.copy(fake_repo / "pyproject.toml", repo / "pyproject.toml")
    write_setting(repo, table, key.name, value)
    with pytest.raises(UsageError) as caught:
        load_catalog(repo)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"pyproject.toml [tool.sos-images{'.' + table if table else ''}] {key.name}: expected ")


@pytest.mark.parametrize(
    ("table", "name", "value", "fragment"),
    [
        ("services.auth-service", "port", "abc", 'port: expected a whole number 1-65535, got "abc"'),
        ("services.auth-service", "port", 70000, "port: expected a whole number 1-65535, got 70000"),
        ("tags", "semver", "yes", 'semver: expected one of "auto", "required", "off"'),
        ("tags", "latest", "no", "latest: expected true or false"),
        ("registries.quay", "host", "https://quay.io/x", "host: expected host[:port]"),
        ("registries.quay", "user-env", ["1BAD"], "user-env: expected a list of environment variable names"),
        ("base-images", "NODE_IMAGE", "", "NODE_IMAGE: expected an image reference"),
        ("base-images", "GO_IMAGE", "Golang:LATEST!", "GO_IMAGE: expected an image reference"),
    ],
)
def test_wrong_values_are_named_with_what_is_expected(fake_repo: Path, table, name, value, fragment) -> None:
    write_setting(fake_repo, table, name, value)
    with pytest.raises(UsageError, match=fragment.replace("[", r"\[").replace("(", r"\(")):
        load_catalog(fake_repo)


def test_an_unknown_key_gets_a_did_you_mean(fake_repo: Path) -> None:
    write_setting(fake_repo, "services.auth-service", "prot", 3100)
    with pytest.raises(UsageError, match="unknown key 'prot': did you mean 'port'"):
        load_catalog(fake_repo)


def test_an_override_for_a_missing_service_names_it(fake_repo: Path) -> None:
    write_setting(fake_repo, "services.billing-service", "port", 3100)
    with pytest.raises(UsageError, match=r"\[tool.sos-images.services.billing-service\]: no such service"):
        load_catalog(fake_repo)


def test_the_default_registry_must_be_a_known_profile(fake_repo: Path) -> None:
    write_setting(fake_repo, "", "registry", "gchr")
    with pytest.raises(UsageError, match="registry: expected a known registry profile"):
        load_catalog(fake_repo)


def test_valid_settings_load(fake_repo: Path) -> None:
    write_setting(fake_repo, "services.auth-service", "port", 3100)
    write_setting(fake_repo, "registries.quay", "host", "quay.io")
    catalog = load_catalog(fake_repo)
    assert catalog.services["auth-service"].port == 3100
    assert catalog.registries["quay"].host == "quay.io"


def test_the_project_settings_are_valid() -> None:
    assert load_catalog(REPO).services


@pytest.mark.parametrize("name", ["billing-service", "svc2", "a.b", "a_b", "a__b", "a--b"])
def test_valid_folder_names_become_services(fake_repo: Path, name: str) -> None:
    make_go_service(fake_repo, name)
    assert name in load_catalog(fake_repo).services


@pytest.mark.parametrize("name", ["Bad_Name", "-svc", "svc-", "svc.", "_svc", "a..b", "a b", "ünï"])
def test_invalid_folder_names_are_left_out_with_the_reason(fake_repo: Path, name: str) -> None:
    make_go_service(fake_repo, name)
    catalog = load_catalog(fake_repo)
    assert name not in catalog.services
    assert "not a valid image name" in catalog.problems[name]


def test_a_folder_with_both_manifests_is_ambiguous(fake_repo: Path) -> None:
    folder = make_node_service(fake_repo, "hybrid-service")
    (folder / "go.mod").write_text("module x\n")
    catalog = load_catalog(fake_repo)
    assert "hybrid-service" not in catalog.services and "ambiguous" in catalog.problems["hybrid-service"]


def test_a_bad_folder_is_never_a_nox_session_and_services_warns(fake_repo: Path) -> None:
    make_go_service(fake_repo, "Bad_Name")
    out = invoke("services", "--json", env={"SOS_IMAGES_ROOT": str(fake_repo)})
    listing = json.loads(out.stdout)
    assert "Bad_Name" in listing["problems"] and "Bad_Name" not in [s["service"] for s in listing["services"]]
    assert all(svc.name != "Bad_Name" for svc, _ in load_catalog(fake_repo).matrix())


@pytest.mark.parametrize(("value", "fragment"), [('"abc"', 'got "abc"'), ("70000", "got 70000")])
def test_invoke_services_ends_in_one_line_and_exit_2(fake_repo: Path, value: str, fragment: str) -> None:
    pyproject = fake_repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f"\n[tool.sos-images.services.auth-service]\nport = {value}\n")
    out = invoke("services", env={"SOS_IMAGES_ROOT": str(fake_repo)})
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr
    assert "[tool.sos-images.services.auth-service] port: expected a whole number 1-65535" in lines[0]
    assert fragment in lines[0]


def test_the_settings_reference_in_docs_is_what_the_schema_generates() -> None:
    assert (REPO / "docs" / "settings.md").read_text() == reference()
