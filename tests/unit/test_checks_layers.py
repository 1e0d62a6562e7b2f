"""layers: wasted bytes from overwritten and deleted files, read from docker-archive tars built in memory."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest

from sos_images.checks import layers as lay
from sos_images.checks.layers import Entry
from sos_images.errors import CheckFailed, UsageError

MB = 1_000_000


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


def test_a_file_written_then_deleted_is_wasted_in_the_layer_that_wrote_it() -> None:
    analysis = lay.analyze(
        [
            [Entry("bin", kind="dir"), Entry("bin/sh", 1 * MB)],
            [Entry("big.bin", 8 * MB)],
            [Entry("big.bin", kind="whiteout")],
        ]
    )
    assert analysis.wasted == 8 * MB and analysis.wasted_by_layer == [0, 8 * MB, 0]
    assert analysis.total == 9 * MB and analysis.efficiency == pytest.approx(1 / 9)
    assert [(w.path, w.how) for w in analysis.waste] == [("big.bin", "deleted")]
    assert "big.bin" not in analysis.final


def test_an_overwritten_file_wastes_the_lower_copy_only() -> None:
    analysis = lay.analyze([[Entry("app", 5 * MB)], [Entry("app", 2 * MB)]])
    assert analysis.wasted_by_layer == [5 * MB, 0] and analysis.final["app"][0] == 1
    assert analysis.waste[0].how == "overwritten"


def test_deleting_a_directory_wastes_everything_under_it() -> None:
    analysis = lay.analyze(
        [
            [
                Entry("var/cache/apk", kind="dir"),
                Entry("var/cache/apk/a.tar", 3 * MB),
                Entry("var/cache/apk/b.tar", 1 * MB),
            ],
            [Entry("var/cache/apk", kind="whiteout")],
        ]
    )
    assert analysis.wasted == 4 * MB and not [p for p in analysis.final if p.startswith("var/cache/apk")]


def test_an_opaque_directory_hides_the_lower_contents_but_keeps_its_own() -> None:
    analysis = lay.analyze(
        [
            [Entry("app/node_modules/a.js", 2 * MB), Entry("app/keep.txt", 1)],
            [Entry("app/node_modules", kind="opaque"), Entry("app/node_modules/b.js", 1 * MB)],
        ]
    )
    assert analysis.wasted == 2 * MB
    assert {"app/node_modules/b.js", "app/keep.txt"} <= set(analysis.final)


def test_a_lean_image_is_fully_efficient() -> None:
    analysis = lay.analyze([[Entry("app", 5 * MB)], [Entry("etc/passwd", 50)], []])
    assert analysis.wasted == 0 and analysis.efficiency == 1.0
    assert lay.analyze([]).efficiency == 1.0


def test_the_docker_save_stream_is_read_with_whiteouts_and_instructions() -> None:
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
    analysis = lay.analyze(entries)
    assert analysis.wasted == 5000 and analysis.wasted_by_layer == [0, 5000, 0]
    assert lay.instructions(config, len(entries)) == [
        "ADD file:abc in /",
        "RUN head -c 5000 /dev/zero > /tmp/big.bin",
        "RUN rm /tmp/big.bin",
    ]


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
    assert lay.packed_binaries(lay.analyze(entries)) == ["app"]  # not data.bin: not executable


def test_an_archive_without_a_manifest_is_a_clear_error() -> None:
    with pytest.raises(CheckFailed, match="no readable manifest.json"):
        lay.read_archive(chunks(layer_tar(("hello", b"hi", 0o644))))


def test_thresholds_come_from_the_argument_then_pyproject_then_defaults() -> None:
    assert lay.Thresholds.resolve({}) == lay.Thresholds(10 * MB, 0.95)
    assert lay.Thresholds.resolve({"max-wasted-bytes": "1MB", "min-efficiency": 0.5}) == lay.Thresholds(MB, 0.5)
    assert lay.Thresholds.resolve({"max-wasted-bytes": "1MB"}, "2MiB", "90%") == lay.Thresholds(2 * 1024 * 1024, 0.9)


@pytest.mark.parametrize(
    ("wasted", "efficiency", "message"), [("a lot", "", "max-wasted-bytes"), ("", "1.5", "between 0 and 1")]
)
def test_bad_thresholds_are_usage_errors(wasted: str, efficiency: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        lay.Thresholds.resolve({}, wasted, efficiency)


def test_a_threshold_names_what_it_exceeded() -> None:
    analysis = lay.analyze([[Entry("big", 8 * MB)], [Entry("big", kind="whiteout")]])
    problems = lay.Thresholds(1 * MB, 0.0).problems(analysis)
    assert problems == ["8.0MB wasted > 1.0MB allowed"]
    assert lay.Thresholds(100 * MB, 0.95).problems(analysis) == ["efficiency 0.00% < 95.00%"]
    assert lay.Thresholds(100 * MB, 0.0).problems(analysis) == []


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
    assert lay.instructions(config, 2) == ["COPY app /app", "WORKDIR /"]
