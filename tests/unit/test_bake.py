"""The bake target read back from a plan's argv (pure)."""

from __future__ import annotations

from pathlib import Path

from sos_images.bake import bake_target
from sos_images.inputs import with_label
from tests.unit.test_inputs import plan


def test_a_target_has_the_plans_values_with_paths_relative_to_the_root(fake_repo: Path) -> None:
    p = with_label(plan(fake_repo, build_args=("EXTRA=1",), platforms=("linux/amd64",)), "sha256:abc")
    spec = bake_target(p, fake_repo)
    assert spec["context"] == "services/device-service"
    assert spec["dockerfile"] == "../../dockerfiles/Dockerfile.go"
    assert spec["target"] == "production" and spec["tags"] == [p.image]
    assert spec["args"]["EXTRA"] == "1" and spec["labels"]["io.sos-app.inputs"] == "sha256:abc"
    assert spec["platforms"] == ["linux/amd64"]
    assert spec["attest"] == ["type=provenance,disabled=true"]


def test_cache_flags_and_no_cache_carry_over(fake_repo: Path) -> None:
    spec = bake_target(plan(fake_repo, no_cache=True, cache_from=("type=local,src=/c",)), fake_repo)
    assert spec["no-cache"] is True and spec["cache-from"] == ["type=local,src=/c"]
