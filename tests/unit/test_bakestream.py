"""The rawjson splitter, fed a stream recorded from a real two-target `docker buildx bake` (Go services)."""

from __future__ import annotations

from pathlib import Path

from sos_images.bakestream import Progress, objects, split_name

RECORDED = Path(__file__).parent / "data" / "bake-rawjson-two-go-targets.jsonl"


def fold() -> Progress:
    progress = Progress(["dev", "emg"])
    for obj in objects(RECORDED.read_text()):
        progress.feed(obj)
    return progress


def test_a_vertex_name_gives_its_target_and_the_step_title() -> None:
    assert split_name("[dev builder 7/7] RUN go build") == ("dev", "[builder 7/7] RUN go build")
    assert split_name("[emg] exporting to image") == ("emg", "exporting to image")
    assert split_name("[internal] load local bake definitions") is None


def test_every_step_of_the_recorded_run_finished_in_both_targets() -> None:
    for state in fold().targets.values():
        assert state.total >= 15 and state.done == set(state.steps) and not state.error


def test_a_shared_step_counts_for_each_target_that_uses_it() -> None:
    dev, emg = fold().targets.values()
    shared = set(dev.steps) & set(emg.steps)
    assert any("apk add" in dev.steps[d] for d in shared)
