"""Download and unpacked sizes from inspect + history (pure)."""

from sos_images.report import ImageReport, size_text
from sos_images.sizes import HISTORY_KEY, image_sizes

# Figures measured on Engine 26, containerd store: auth-service (node) image.
CONTAINERD = {"Size": 55925934, HISTORY_KEY: [{"Size": 134213632 - 36864}, {"Size": 36864}, {"Size": 0}]}


def test_containerd_store_size_is_download_and_history_is_unpacked():
    assert image_sizes(CONTAINERD) == (55925934, 134213632)


def test_classic_store_size_is_unpacked_and_download_unknown():
    assert image_sizes({"Size": 6107136, HISTORY_KEY: [{"Size": 6107136}, {"Size": 0}]}) == (None, 6107136)


def test_without_history_the_engine_size_stands_as_unpacked():
    assert image_sizes({"Size": 100}) == (None, 100)


def test_report_json_has_both_fields_and_keeps_size():
    data = ImageReport.from_inspect("img", CONTAINERD).to_dict()
    assert (data["size"], data["download_bytes"], data["unpacked_bytes"]) == (55925934, 55925934, 134213632)


def test_size_text_labels_both():
    assert size_text(55925934, 134213632) == "55.9MB download, 134.2MB unpacked"
    assert size_text(None, 6107136) == "6.1MB unpacked"
