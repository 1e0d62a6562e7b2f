"""Reading a Dockerfile as BuildKit does, for what the catalog needs: stages, targets, ports, health. Pure.

A target is a stage no other stage builds on (`FROM <stage>`) or reads from (`COPY --from=<stage>`,
`RUN --mount=...,from=<stage>`); the last stage is the default, as `docker build` without `--target` builds.
Ports and health checks are what the target's image ends up with: its own and its ancestor stages'
instructions, ARG defaults (or given build arguments) and ENV values substituted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

UNNAMED = "default"  # the target name of an unnamed last stage (built without --target)
DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
FROM_FLAG = re.compile(r"--from=(\S+)")
MOUNT_FROM = re.compile(r"--mount=\S*?\bfrom=([^,\s]+)")


class DockerfileError(ValueError):
    """A Dockerfile this module cannot read as a build (no FROM, a malformed FROM line)."""


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str
    line: int


@dataclass(frozen=True)
class Stage:
    index: int
    name: str | None  # `AS name`, lower case (stage names are case-insensitive)
    base: str  # the FROM image or stage, as written
    instructions: tuple[Instruction, ...]

    @property
    def ref(self) -> str:
        return self.name or str(self.index)


@dataclass(frozen=True)
class Dockerfile:
    stages: tuple[Stage, ...]
    global_args: tuple[tuple[str, str | None], ...] = ()  # ARGs before the first FROM
    syntax: str | None = None  # the `# syntax=` directive: a frontend image BuildKit pulls

    @property
    def names(self) -> tuple[str, ...]:
        """Every stage a --target can name."""
        return tuple(s.name for s in self.stages if s.name)

    @property
    def targets(self) -> tuple[str, ...]:
        """The stages nothing else uses, in file order; an unnamed last stage is called UNNAMED."""
        used = {ref for stage in self.stages for ref in self.uses(stage)}
        last = self.stages[-1]
        leaves = [s.name for s in self.stages[:-1] if s.name and s.ref not in used]
        return (*leaves, last.name or UNNAMED)

    @property
    def default_target(self) -> str:
        return self.targets[-1]

    def stage(self, target: str) -> Stage:
        if target == UNNAMED and not self.stages[-1].name:
            return self.stages[-1]
        return next(s for s in self.stages if s.name == target.lower())

    def parent(self, stage: Stage) -> Stage | None:
        return self._stage_named(_expand(stage.base, dict(self.global_args)), before=stage.index)

    def uses(self, stage: Stage) -> set[str]:
        """The refs of the earlier stages this one builds on or copies from."""
        found = set()
        parent = self.parent(stage)
        if parent:
            found.add(parent.ref)
        for ins in stage.instructions:
            sources = FROM_FLAG.findall(ins.args) if ins.keyword in ("COPY", "ADD") else []
            sources += MOUNT_FROM.findall(ins.args) if ins.keyword == "RUN" else []
            found |= {s.ref for name in sources if (s := self._stage_named(name, before=stage.index))}
        return found

    def chain(self, target: str) -> list[Stage]:
        """The target's stage and the stages it builds on, the first base first."""
        stages = [self.stage(target)]
        while (parent := self.parent(stages[-1])) is not None:
            stages.append(parent)
        return stages[::-1]

    def _stage_named(self, name: str, before: int) -> Stage | None:
        name = name.lower()
        for stage in self.stages[:before]:
            if stage.name == name or (name.isdigit() and stage.index == int(name)):
                return stage
        return None

    def port(self, target: str, build_args: Mapping[str, str] = {}) -> int | None:
        """The first port the target's image exposes (its ancestors' EXPOSE lines come first)."""
        for ins, values in self._walk(target, build_args):
            if ins.keyword == "EXPOSE":
                for word in _expand(ins.args, values).split():
                    number = word.split("/")[0].split("-")[0]
                    if number.isdigit() and not word.endswith("/udp") and 0 < int(number) < 65536:
                        return int(number)
        return None

    def healthcheck(self, target: str) -> str | None:
        """The command of the target's HEALTHCHECK (the last one wins; NONE switches it off)."""
        found = None
        for ins, _ in self._walk(target, {}):
            if ins.keyword == "HEALTHCHECK":
                words = [w for w in ins.args.split() if not w.startswith("--")]
                found = None if words[:1] == ["NONE"] else ins.args.split("CMD", 1)[-1].strip()
        return found

    def _walk(self, target: str, build_args: Mapping[str, str]) -> list[tuple[Instruction, dict[str, str]]]:
        """Every instruction of the chain with the variables in scope at it (ENV carries over, ARG does not)."""
        globals_ = {k: build_args.get(k, v or "") for k, v in self.global_args}
        env: dict[str, str] = {}
        walked = []
        for stage in self.chain(target):
            values = dict(env)
            for ins in stage.instructions:
                if ins.keyword == "ARG":
                    values |= _args(ins.args, values, globals_, build_args)
                elif ins.keyword == "ENV":
                    pairs = _env(ins.args, values)
                    values |= pairs
                    env |= pairs
                walked.append((ins, dict(values)))
        return walked


def parse(text: str) -> Dockerfile:
    directives, lines = _directives(text.splitlines())
    escape = directives.get("escape", "\\")
    stages: list[Stage] = []
    global_args: list[tuple[str, str | None]] = []
    current: list[Instruction] = []
    header: tuple[str | None, str] | None = None
    for keyword, args, number in _instructions(lines, escape):
        if keyword == "FROM":
            if header is not None:
                stages.append(Stage(len(stages), header[0], header[1], tuple(current)))
            header, current = _from(args, number), []
        elif header is None:
            if keyword != "ARG":
                raise DockerfileError(f"line {number}: {keyword} before the first FROM")
            global_args += list(_declared(args).items())
        else:
            current.append(Instruction(keyword, args, number))
    if header is None:
        raise DockerfileError("no FROM line")
    stages.append(Stage(len(stages), header[0], header[1], tuple(current)))
    return Dockerfile(tuple(stages), tuple(global_args), directives.get("syntax"))


def _directives(lines: list[str]) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """Parser directives (`# syntax=`, `# escape=`) count only at the very top, before anything else."""
    found: dict[str, str] = {}
    numbered = list(enumerate(lines, 1))
    for i, (_, line) in enumerate(numbered):
        match = DIRECTIVE.match(line.strip())
        if not match or match.group(1).lower() in found:
            return found, numbered[i:]
        found[match.group(1).lower()] = match.group(2)
    return found, []


def _instructions(lines: list[tuple[int, str]], escape: str) -> list[tuple[str, str, int]]:
    """(KEYWORD, arguments, line) with continuations joined, comments and heredoc bodies left out."""
    found: list[tuple[str, str, int]] = []
    pending, start, heredoc = "", 0, None
    for number, raw in lines:
        if heredoc is not None:
            heredoc = None if raw.strip() == heredoc else heredoc
            continue
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        start = start if pending else number
        if stripped.endswith(escape):
            pending += stripped[: -len(escape)] + " "
            continue
        text, pending = pending + stripped, ""
        keyword, _, args = text.partition(" ")
        found.append((keyword.upper(), args.strip(), start))
        match = HEREDOC.search(args) if keyword.upper() in ("RUN", "COPY", "ADD") else None
        heredoc = match.group(1) if match else None
    return found


def _from(args: str, number: int) -> tuple[str | None, str]:
    words = [w for w in args.split() if not w.startswith("--")]
    if len(words) == 3 and words[1].lower() == "as":
        return words[2].lower(), words[0]
    if len(words) == 1:
        return None, words[0]
    raise DockerfileError(f"line {number}: malformed FROM {args!r}")


def _declared(args: str) -> dict[str, str | None]:
    """`ARG NAME`, `ARG NAME=default` (several per line are allowed)."""
    declared: dict[str, str | None] = {}
    for word in args.split():
        name, sep, value = word.partition("=")
        declared[name] = value.strip("\"'") if sep else None
    return declared


def _args(args: str, values: Mapping[str, str], globals_: Mapping[str, str], given: Mapping[str, str]) -> dict:
    scoped = {}
    for name, default in _declared(args).items():
        if name in given:
            scoped[name] = given[name]
        elif default is not None:
            scoped[name] = _expand(default, values)
        elif name in globals_:
            scoped[name] = globals_[name]
    return scoped


def _env(args: str, values: Mapping[str, str]) -> dict[str, str]:
    """`ENV K=V K2=V2` or the legacy `ENV K V`."""
    words = args.split()
    if words and "=" not in words[0]:
        return {words[0]: _expand(" ".join(words[1:]), values)}
    pairs = (word.partition("=") for word in words)
    return {name: _expand(value.strip("\"'"), values) for name, _, value in pairs}


def _expand(text: str, values: Mapping[str, str]) -> str:
    """$NAME, ${NAME}, ${NAME:-default} and ${NAME:+alternative}, as the Dockerfile frontend substitutes them."""

    def one(match: re.Match[str]) -> str:
        name, operator, word = match.group(1) or match.group(4), match.group(2) or "", match.group(3) or ""
        value = values.get(name, "")
        if operator.endswith("+"):
            return word if value else ""
        return value or (word if operator else "")

    return VARIABLE.sub(one, text)
