"""The example pipelines: valid YAML, and every nox session, Invoke task, flag and script they name exists."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from invoke.parser import Parser, ParserContext

from tests.conftest import REPO

GITHUB = sorted((REPO / ".github" / "workflows").glob("*.yml"))
GITLAB = REPO / ".gitlab-ci.yml"
EXPR = "EXPR"  # stands for a CI expression such as ${{ matrix.service }}
MATRIX = "MATRIX_SESSION"  # ${{ matrix.session }}: an entry of `nox -l --json -t build` (checked below)
SHELL_OPERATORS = "();<>|&"
SESSION_TASKS = {"build": "build", "verify": "verify", "scan": "scan", "push": "push"}
SESSION_TASKS |= {"publish_platform": "publish", "merge": "merge"}


def load(path: Path) -> dict[Any, Any]:
    return yaml.safe_load(path.read_text())


def shell_blocks(path: Path) -> list[str]:
    data = load(path)
    if path == GITLAB:
        jobs = [job for job in data.values() if isinstance(job, dict)]
        return [line for job in jobs for key in ("before_script", "script") for line in job.get(key, [])]
    return [step["run"] for job in data["jobs"].values() for step in job.get("steps", []) if "run" in step]


def command_lines(block: str) -> list[str]:
    """Logical shell lines, without comments and without heredoc bodies (those are tested on their own)."""
    lines, heredoc = [], None
    for raw in block.replace("\\\n", " ").splitlines():
        line = raw.strip()
        if heredoc:
            heredoc = None if line == heredoc else heredoc
            continue
        if match := re.search(r"<<-?'?(\w+)'?", line):
            heredoc = match.group(1)
        if line and not line.startswith("#"):
            line = re.sub(r"\$\{\{\s*matrix\.session\s*\}\}", MATRIX, line)
            lines.append(re.sub(r"\$\{\{[^}]*\}\}", EXPR, line))
    return lines


def calls(program: str) -> list[tuple[Path, list[str]]]:
    """Each `program ARGS` in the pipelines, ARGS ending at a shell operator (|, ;, &&, ), >...)."""
    found = []
    for path in [*GITHUB, GITLAB]:
        for block in shell_blocks(path):
            for line in command_lines(block):
                lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
                lexer.whitespace_split = True
                try:
                    tokens = list(lexer)
                except ValueError:  # one line of a multi-line quoted program (jq, python): not a command
                    continue
                for i, token in enumerate(tokens):
                    args = list(itertools.takewhile(lambda t: t.strip(SHELL_OPERATORS), tokens[i + 1 :]))
                    if token == program and args:
                        found.append((path, args))
    return found


@cache
def all_sessions() -> tuple[dict[str, Any], ...]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "nox",
            "-l",
            "--json",
            "-t",
            "lint",
            "tests",
            "docker",
            "build",
            "verify",
            "scan",
            "push",
            "publish-platform",
            "merge",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SOS_IMAGES_ROOT": str(REPO)},
    )
    return tuple(json.loads(out.stdout))


@cache
def tasks() -> Any:
    spec = importlib.util.spec_from_file_location("sos_tasks_for_workflows", REPO / "tasks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ns


def assert_invoke_accepts(task_name: str, args: list[str]) -> None:
    assert task_name in tasks().task_names, f"invoke has no task {task_name!r}"
    task = tasks()[task_name]
    Parser(contexts=[ParserContext(name=task_name, args=task.get_arguments())]).parse_argv([task_name, *args])


def nox_selection(args: list[str]) -> tuple[list[str], list[str]]:
    """(selection options, posargs) of one nox command line."""
    if "--" in args:
        cut = args.index("--")
        return args[:cut], args[cut + 1 :]
    return args, []


def selected(selection: list[str]) -> list[dict[str, Any]]:
    """The sessions a nox command selects: nox itself decides, except for names made of CI expressions."""
    names = []
    if "-s" in selection:
        start = selection.index("-s") + 1
        names = [n for n in selection[start:] if not n.startswith("-")]
    if names == [MATRIX]:
        return [s for s in all_sessions() if s["name"] == "build"]
    if any(EXPR in name for name in names):
        patterns = [re.escape(n).replace(EXPR, "[^']+") for n in names]
        return [s for s in all_sessions() if any(re.fullmatch(p, s["session"]) for p in patterns)]
    cmd = [sys.executable, "-m", "nox", *selection, *([] if "-l" in selection else ["-l"])]
    cmd += [] if "--json" in selection else ["--json"]
    out = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, "SOS_IMAGES_ROOT": str(REPO)}
    )
    assert out.returncode == 0, f"nox {shlex.join(selection)}: {out.stderr}"
    return json.loads(out.stdout)


@pytest.mark.parametrize("path", [*GITHUB, GITLAB], ids=lambda p: p.name)
def test_pipelines_are_valid_yaml_with_jobs(path: Path) -> None:
    data = load(path)
    if path == GITLAB:
        jobs = {k: v for k, v in data.items() if isinstance(v, dict) and not k.startswith(".") and k != "variables"}
        for name, job in jobs.items():
            assert job["stage"] in data["stages"], name
            assert job.get("extends", ".python") in data, name
    else:
        assert data["name"] and data[True]  # YAML 1.1 reads the key `on` as True
        for name, job in data["jobs"].items():
            assert job["runs-on"] in ("ubuntu-latest", "${{ matrix.runner }}"), name
            assert set(job.get("needs", [])) <= set(data["jobs"]), name
        for job, output in re.findall(r"needs\.([\w-]+)\.outputs\.([\w-]+)", path.read_text()):
            assert output in data["jobs"][job]["outputs"], f"{job} has no output {output}"


def test_the_pipelines_run_nox_and_invoke() -> None:
    assert len(calls("nox")) >= 5 and len(calls("invoke")) >= 4


@pytest.mark.parametrize("call", calls("nox"), ids=lambda c: f"{c[0].name}: nox {shlex.join(c[1])}"[:80])
def test_every_nox_command_selects_existing_sessions_with_valid_arguments(call: tuple[Path, list[str]]) -> None:
    _, args = call
    selection, posargs = nox_selection(args)
    sessions = selected(selection)
    assert sessions, f"nox {shlex.join(selection)} selects nothing"
    for name in {s["name"] for s in sessions}:
        if name in SESSION_TASKS:
            assert_invoke_accepts(SESSION_TASKS[name], posargs)
        else:
            assert not posargs


@pytest.mark.parametrize("call", calls("invoke"), ids=lambda c: f"{c[0].name}: invoke {shlex.join(c[1])}"[:80])
def test_every_invoke_command_names_a_task_and_its_flags(call: tuple[Path, list[str]]) -> None:
    _, (task_name, *args) = call
    assert_invoke_accepts(task_name, args)


def test_every_matrix_comes_from_nox_json_listing() -> None:
    listings = [args for _, args in calls("nox") if "--json" in args]
    assert {tuple(a) for a in listings} >= {("-l", "--json", "-t", "build")}


def test_the_gitlab_child_pipeline_has_one_valid_job_per_build_session(tmp_path: Path) -> None:
    script = next(line for line in load(GITLAB)["build-matrix"]["script"] if "<<'PY'" in line)
    program = script.split("<<'PY'\n", 1)[1].rsplit("PY", 1)[0]
    builds = [s for s in all_sessions() if s["name"] == "build"]
    (tmp_path / "sessions.json").write_text(json.dumps(builds))
    subprocess.run([sys.executable, "-c", program], cwd=tmp_path, check=True, timeout=30)
    child = yaml.safe_load((tmp_path / "build-pipeline.yml").read_text())
    assert set(child) == {s["session"] for s in builds}
    for name, job in child.items():
        (command,) = job["script"]
        selection, posargs = nox_selection(shlex.split(command)[1:])
        assert selection == ["-s", name]
        assert_invoke_accepts("build", posargs)
        assert "docker:27-dind" in job["services"] and job["variables"]["DOCKER_TLS_VERIFY"] == "1"
    # the real GitLab linter on the generated child pipeline too
    (tmp_path / ".gitlab-ci.yml").write_text((tmp_path / "build-pipeline.yml").read_text())
    lint = subprocess.run(["gitlab-ci-verify", "--no-lint-api"], cwd=tmp_path, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


RELEASE = REPO / ".github" / "workflows" / "release.yml"


def test_the_release_builds_each_platform_on_its_own_runner_whose_label_is_an_input() -> None:
    data = load(RELEASE)
    inputs = data[True]["workflow_dispatch"]["inputs"]
    defaults = (inputs["amd64-runner"]["default"], inputs["arm64-runner"]["default"])
    assert defaults == ("ubuntu-24.04", "ubuntu-24.04-arm")
    assert "inputs.amd64-runner" in data["env"]["AMD64_RUNNER"] and "inputs.arm64-runner" in data["env"]["ARM64_RUNNER"]
    assert data["jobs"]["platform"]["runs-on"] == "${{ matrix.runner }}"
    assert set(data["jobs"]["merge"]["needs"]) == {"plan", "platform"}


def test_the_gitlab_platform_jobs_run_on_runner_tags_per_platform() -> None:
    job = load(GITLAB)["publish-platform"]
    assert job["tags"] == ["$RUNNER_TAG"]
    assert {m["PLATFORM"] for m in job["parallel"]["matrix"]} == {"linux/amd64", "linux/arm64"}
    assert load(GITLAB)["release"]["needs"] == ["publish-platform"]


def test_every_release_job_writes_its_summary_through_the_task() -> None:
    commands = [c for _, c in calls("nox") if "publish_platform" in " ".join(c) or "merge" in " ".join(c)]
    commands += [c for _, c in calls("nox") if "-t" in c and {"publish-platform", "merge"} & set(c)]
    assert commands and all("--summary" in c for c in commands)
