"""layers: dive's figures (real dive 0.13.1 JSON, file lists trimmed) and CI rules; the docker-save reader of scan."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from sos_images.checks import layers as lay
from sos_images.checks.layers import Entry
from sos_images.errors import CheckFailed, UsageError
from sos_images.settings import validate

MB = 1_000_000
FIXTURES = Path(__file__).parents[1] / "fixtures" / "dive"


def layer_tar(*members: tuple[str, bytes | None, int]) -> bytes:
    """(name, content or None for a directory, mode) -> an uncompressed layer tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content, mode in members:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def docker_archive(layers: list[bytes], history: list[dict]) -> bytes:
    """A `docker save` archive (docker 20.10 layout) holding the given layer tars."""
    names = [f"{i:064x}/layer.tar" for i in range(len(layers))]
    config = {
        "history": history,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{i:064x}" for i in range(len(layers))]},
    }
    files = {
        "cfg.json": json.dumps(config).encode(),
        "manifest.json": json.dumps([{"Config": "cfg.json", "RepoTags": ["x:1"], "Layers": names}]).encode(),
    }
    files |= dict(zip(names, layers, strict=True))
    return layer_tar(*((name, data, 0o644) for name, data in files.items()))


def chunks(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_the_final_tree_drops_deleted_files_and_whole_deleted_directories() -> None:
    final = lay.final_tree(
        [
            [Entry("bin", kind="dir"), Entry("bin/sh", 1 * MB), Entry("big.bin", 8 * MB)],
            [Entry("var/cache/apk/a.tar", 3 * MB), Entry("var/cache/apk/b.tar", 1 * MB)],
            [Entry("big.bin", kind="whiteout"), Entry("var/cache/apk", kind="whiteout")],
        ]
    )
    assert set(final) == {"bin", "bin/sh"}


def test_an_opaque_directory_hides_the_lower_contents_but_keeps_its_own() -> None:
    final = lay.final_tree(
        [
            [Entry("app/node_modules/a.js", 2 * MB), Entry("app/keep.txt", 1)],
            [Entry("app/node_modules", kind="opaque"), Entry("app/node_modules/b.js", 1 * MB)],
        ]
    )
    assert set(final) == {"app/node_modules/b.js", "app/keep.txt"}


def test_a_later_copy_replaces_an_earlier_one() -> None:
    assert lay.final_tree([[Entry("app", 5 * MB)], [Entry("app", 2 * MB)]])["app"].size == 2 * MB


def test_the_docker_save_stream_is_read_with_whiteouts() -> None:
    archive = docker_archive(
        [
            layer_tar(("bin/", None, 0o755), ("bin/app", b"\x7fELF" + b"x" * 300, 0o755)),
            layer_tar(("tmp/", None, 0o1777), ("tmp/big.bin", b"z" * 5000, 0o644)),
            layer_tar(("tmp/", None, 0o1777), ("tmp/.wh.big.bin", b"", 0o644)),
        ],
        [
            {"created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
            {"created_by": '/bin/sh -c #(nop)  CMD ["sh"]', "empty_layer": True},
            {"created_by": "RUN /bin/sh -c head -c 5000 /dev/zero > /tmp/big.bin # buildkit"},
            {"created_by": "RUN /bin/sh -c rm /tmp/big.bin # buildkit"},
        ],
    )
    config, entries = lay.read_archive(chunks(archive))
    assert [[(e.path, e.kind) for e in layer if e.kind != "dir"] for layer in entries] == [
        [("bin/app", "file")],
        [("tmp/big.bin", "file")],
        [("tmp/big.bin", "whiteout")],
    ]
    assert "tmp/big.bin" not in lay.final_tree(entries)
    assert len(config["history"]) == 4


def test_executables_keep_their_head_for_the_upx_check() -> None:
    packed = b"\x7fELF" + b"\0" * 232 + b"UPX!" + b"p" * 2000
    archive = docker_archive(
        [
            layer_tar(("app", b"\x7fELF plain" + b"x" * 3000, 0o755)),
            layer_tar(("app", packed, 0o755), ("data.bin", b"UPX!", 0o644)),
        ],
        [{"created_by": "COPY /out/app /app # buildkit"}, {"created_by": "COPY /packed /app # buildkit"}],
    )
    _, entries = lay.read_archive(chunks(archive, 333), head=4096)
    assert lay.packed_binaries(lay.final_tree(entries)) == ["app"]  # not data.bin: not executable


def test_an_archive_without_a_manifest_is_a_clear_error() -> None:
    with pytest.raises(CheckFailed, match="no readable manifest.json"):
        lay.read_archive(chunks(layer_tar(("hello", b"hi", 0o644))))


def dive_json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_dive_figures_are_read_from_its_json_and_every_copy_counts() -> None:
    figures = lay.read_dive(dive_json("wasted.json"))
    assert [(layer["size"], layer["created_by"]) for layer in figures.layers] == [
        (22601091, "COPY rootfs/ /"),
        (8388608, "RUN head -c 8388608 /dev/urandom > /big.bin"),
        (0, "RUN rm /big.bin"),
    ]
    assert (figures.total, figures.wasted, figures.files) == (
        30989699,
        8388608,
        [{"path": "/big.bin", "count": 2, "size": 8388608}],
    )
    assert figures.efficiency == pytest.approx(0.7293098) and figures.user_wasted == 1.0
    auth = lay.read_dive(dive_json("auth-service.json"))
    assert auth.files[0] == {"path": "/etc/passwd", "count": 3, "size": 2258}  # the surviving copy included
    assert auth.wasted == sum(f["size"] for f in auth.files) == 7828


def test_an_unexpected_dive_json_is_a_clear_error() -> None:
    with pytest.raises(CheckFailed, match="dive 0.13"):
        lay.read_dive({"layer": [], "image": {"sizeBytes": 1}})


def test_rules_come_from_the_arguments_then_dive_ci_then_pyproject_then_dives_defaults() -> None:
    assert lay.Rules.resolve({}, {}, {}) == lay.Rules(0.9, None, 0.1)
    ours = validate({"layers": {"max-wasted-bytes": "1MB", "min-efficiency": 0.5, "max-user-wasted-percent": "20%"}})
    assert lay.Rules.resolve(ours, {}, {}) == lay.Rules(0.5, MB, 0.2)
    dive_ci = {"lowestEfficiency": 0.8, "highestWastedBytes": "disabled"}
    assert lay.Rules.resolve(ours, dive_ci, {}) == lay.Rules(0.8, None, 0.2)
    args = {"max-wasted-bytes": "2MiB", "min-efficiency": "90%", "max-user-wasted-percent": ""}
    assert lay.Rules.resolve(ours, dive_ci, args) == lay.Rules(0.9, 2 * 1024 * 1024, 0.2)


def test_a_dive_ci_file_is_read_with_camel_or_snake_case_names(tmp_path) -> None:
    (tmp_path / "camel").write_text(
        "plugins:\n  - x\nrules:\n  # comment\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n"
        "  highestUserWastedPercent: 0.20\n  plugin1/rule1: error\n"
    )
    (tmp_path / "snake").write_text("rules:\n  lowest-efficiency: 0.7\n  highest-user-wasted-percent: disabled\n")
    assert lay.read_dive_ci(tmp_path / "camel") == {
        "lowestEfficiency": 0.95,
        "highestWastedBytes": "20MB",
        "highestUserWastedPercent": 0.2,
    }
    assert lay.Rules.resolve({}, lay.read_dive_ci(tmp_path / "snake"), {}) == lay.Rules(0.7, None, None)
    (tmp_path / "bad").write_text("rules: [unclosed\n")
    with pytest.raises(UsageError, match="not a readable .dive-ci"):
        lay.read_dive_ci(tmp_path / "bad")


@pytest.mark.parametrize(
    ("args", "dive_ci", "message"),
    [
        ({"max-wasted-bytes": "a lot"}, {}, '^--max-wasted-bytes "a lot": expected a size'),
        ({"min-efficiency": "1.5"}, {}, '^--min-efficiency "1.5": expected a number 0-1'),
        ({}, {"highestUserWastedPercent": "lots"}, '^.dive-ci highestUserWastedPercent "lots": expected a number 0-1'),
    ],
)
def test_bad_rule_values_are_usage_errors_naming_where_they_came_from(args: dict, dive_ci: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        lay.Rules.resolve({}, dive_ci, args)


def test_each_rule_fails_past_its_threshold_like_dive_and_names_itself() -> None:
    figures = lay.read_dive(dive_json("wasted.json"))
    assert lay.Rules(0.95, None, None).problems(figures) == ["lowestEfficiency: efficiency 72.93% < 95.00%"]
    assert lay.Rules(None, MB, None).problems(figures) == ["highestWastedBytes: 8.4MB wasted > 1.0MB allowed"]
    assert lay.Rules(None, None, 0.5).problems(figures)[0].startswith("highestUserWastedPercent: 100.00%")
    assert lay.Rules(0.7293, 8388608, 1.0).problems(figures) == []  # at the threshold passes, as in dive
    assert lay.Rules(None, None, None).problems(figures) == []


def test_dive_reads_the_local_engine_into_a_json_file() -> None:
    assert lay.dive_argv("img:1", Path("/t/d.json")) == ["dive", "--source", "docker", "--json", "/t/d.json", "img:1"]


def test_oci_layout_names_gzip_layers_and_empty_layers_are_read_by_content() -> None:
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb") as zipped:
        zipped.write(layer_tar(("app", b"a" * 700, 0o755)))
    empty = b"\0" * 1024  # what an empty layer looks like
    names = ["blobs/sha256/" + c * 64 for c in "abc"]
    manifest = [{"Config": names[2], "RepoTags": [], "Layers": names[:2]}]
    archive = layer_tar(
        (names[0], gz.getvalue(), 0o644),
        (names[1], empty, 0o644),
        (
            names[2],
            json.dumps({"history": [{"created_by": "COPY app /app"}, {"created_by": "WORKDIR /"}]}).encode(),
            0o644,
        ),
        ("manifest.json", json.dumps(manifest).encode(), 0o644),
    )
    config, entries = lay.read_archive(chunks(archive))
    assert [[e.path for e in layer] for layer in entries] == [["app"], []]
    assert [h["created_by"] for h in config["history"]] == ["COPY app /app", "WORKDIR /"]
