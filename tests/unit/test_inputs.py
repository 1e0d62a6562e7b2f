"""The input digest: what changes it and what does not."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sos_images.catalog import load_catalog
from sos_images.inputs import LABEL, digest, labelled, may_skip, parse, with_label
from sos_images.plans import BuildOptions, plan_build
from sos_images.refs import resolve
from tests.unit.test_plans import BUILDX, SOURCE

BASES = {"GO_IMAGE": "golang:1.21-alpine@sha256:aaa", "ALPINE_IMAGE": "alpine:3.19@sha256:bbb"}


def plan(repo: Path, **options):
    catalog = load_catalog(repo)
    opts = BuildOptions(**options)
    ref = resolve(catalog, "device-service", opts.target, opts.version, opts.registry, {})
    return plan_build(catalog, ref, opts, SOURCE, BUILDX, {}, None)


def of(repo: Path, bases=BASES, **options) -> str:
    return digest(plan(repo, **options), bases)


def test_the_same_inputs_give_the_same_digest_and_the_label_does_not_feed_it(fake_repo: Path) -> None:
    first = of(fake_repo)
    assert first.startswith("sha256:") and of(fake_repo) == first
    labelled = with_label(plan(fake_repo), first)
    assert f"--label={LABEL}={first}" in labelled.argv and digest(labelled, BASES) == first
    assert parse(labelled).contexts == {"": str(fake_repo / "services" / "device-service")}


def test_an_edited_file_in_the_context_changes_it(fake_repo: Path) -> None:
    before = of(fake_repo)
    (fake_repo / "services/device-service/cmd/main.go").write_text("package main\n// edited\nfunc main() {}\n")
    assert of(fake_repo) != before


def test_an_excluded_file_does_not_change_it(fake_repo: Path) -> None:
    before = of(fake_repo)
    (fake_repo / "services/device-service/cmd/x_test.go").write_text("package main\n")
    (fake_repo / "services/device-service/.git").mkdir(exist_ok=True)
    (fake_repo / "services/device-service/.git/HEAD").write_text("ref\n")
    assert of(fake_repo) == before


def test_an_edited_ignore_rule_changes_it(fake_repo: Path) -> None:
    before = of(fake_repo)
    ignore = (fake_repo / "dockerfiles/Dockerfile.go.dockerignore").resolve()
    ignore.write_text(ignore.read_text() + "\ninternal/\n")
    assert of(fake_repo) != before


def test_the_dockerfile_a_build_arg_and_the_target_change_it(fake_repo: Path) -> None:
    before = of(fake_repo)
    assert of(fake_repo, build_args=("EXTRA=1",)) != before
    assert of(fake_repo, target="development") != before
    dockerfile = fake_repo / "dockerfiles/Dockerfile.go"
    dockerfile.write_text(dockerfile.read_text() + "\n# edited\n")
    assert of(fake_repo) != before


def test_another_base_image_id_changes_it_and_progress_does_not(fake_repo: Path) -> None:
    before = of(fake_repo)
    assert of(fake_repo, bases=BASES | {"GO_IMAGE": "golang:1.21-alpine@sha256:ccc"}) != before
    assert of(fake_repo, progress="plain") == before


def test_a_named_context_folder_counts_and_a_reference_by_its_name(fake_repo: Path, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.go").write_text("package lib\n")
    base = plan(fake_repo)
    named = replace(base, argv=(*base.argv[:-1], f"--build-context=lib={lib}", base.argv[-1]))
    before = digest(named, BASES)
    assert before != digest(base, BASES)
    (lib / "a.go").write_text("package lib // edited\n")
    assert digest(named, BASES) != before
    image = replace(base, argv=(*base.argv[:-1], "--build-context=lib=docker-image://alpine:3.19", base.argv[-1]))
    assert digest(image, BASES) != digest(base, BASES)


def test_only_a_plain_local_build_may_be_skipped(fake_repo: Path) -> None:
    p = plan(fake_repo)
    assert may_skip(BuildOptions(), p)
    for options in (
        BuildOptions(no_cache=True),
        BuildOptions(rebuild=True),
        BuildOptions(release=True),
        BuildOptions(oci_layout="/tmp/layout"),
    ):
        assert not may_skip(options, p), options


def test_a_release_or_reproducible_build_carries_no_label(fake_repo: Path) -> None:
    p = plan(fake_repo)
    assert labelled(BuildOptions(rebuild=True), p)
    assert not labelled(BuildOptions(release=True), p)
    assert not labelled(BuildOptions(), replace(p, oci_archive="/tmp/x.oci.tar"))
