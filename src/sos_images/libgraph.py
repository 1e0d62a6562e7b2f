"""Pure: a service's local libraries, read from the files maintainers already write. No Docker.

Node: `file:`, `link:` and `workspace:` dependencies in package.json (and, in an npm or pnpm workspace, a
dependency named like a member). Go: `replace X => ./path` in go.mod and the `use` lines of a go.work.
The closure is transitive. Go honours `replace` only in the main module, so a Go library that another library
uses must also be replaced in the service's own go.mod: `go build` on a laptop and in the image then read the
same file, with nothing generated (the alternative, a generated go.work, would build something no one can run
by hand). Errors are one line (exit 2): a path leaving the repository, a missing library folder, a cycle, a
service with two lockfiles, a transitive Go library without its replace line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import UsageError

NODE_PREFIXES = ("file:", "link:")
NODE_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
LOCKFILES = {"package-lock.json": "npm", "pnpm-lock.yaml": "pnpm", "yarn.lock": "yarn"}
REPLACE = re.compile(r"^\s*(?:replace\s+)?(\S+)(?:\s+\S+)?\s+=>\s+(\.{1,2}/\S*|\.{1,2})\s*$")
REQUIRE = re.compile(r"^\s*(?:require\s+)?([\w.\-/~]+\.[\w.\-/~]+)\s+v\S+")


class LibraryError(UsageError):
    """A library graph the build cannot follow."""


@dataclass(frozen=True)
class Library:
    path: str  # repository path, posix (libs/node-health)
    name: str  # npm package name or Go module path
    uses: tuple[str, ...] = ()  # repository paths of the libraries it uses
    build: bool = False  # a Node library with a build script: built before the service (Nx's ^build)


@dataclass(frozen=True)
class Closure:
    """What one service's build needs beside its own folder."""

    service: str  # repository path of the service
    libraries: tuple[Library, ...] = ()  # dependencies first (build order)
    files: tuple[str, ...] = ()  # root files it reads: tsconfig bases, a workspace's lockfile and manifests
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)  # library path -> names down to it
    package_manager: str | None = None  # node: npm, pnpm or yarn (from the lockfile)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(lib.path for lib in self.libraries)

    def chain(self, path: str) -> tuple[str, ...]:
        return self.chains.get(path, ())


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def _inside(root: Path, base: Path, target: str, where: str) -> Path:
    """base/target resolved lexically; a LibraryError when it leaves the repository or does not exist."""
    resolved = Path(_normalize((base / target).as_posix()))
    if not resolved.is_relative_to(root):
        raise LibraryError(f"{where}: {target} leaves the repository; keep libraries inside it (e.g. libs/NAME)")
    if not resolved.is_dir():
        raise LibraryError(f"{where}: library folder {_rel(root, resolved)} does not exist; create it or fix the path")
    return resolved


def _normalize(path: str) -> str:
    parts: list[str] = []
    for part in PurePosixPath(path).parts:
        if part == "..":
            if len(parts) > 1:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return str(PurePosixPath(*parts)) if parts else "/"


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise LibraryError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno}); fix the file") from None
    return data if isinstance(data, dict) else {}


def lockfile(root: Path, folder: Path) -> tuple[str, str] | None:
    """(file name, package manager) of the one lockfile in a folder; two lockfiles are an error."""
    found = [(name, pm) for name, pm in LOCKFILES.items() if (folder / name).is_file()]
    if len(found) > 1:
        names = " and ".join(name for name, _ in found)
        raise LibraryError(f"{_rel(root, folder)} has {names}: keep the lockfile of the package manager you use")
    return found[0] if found else None


# --- Node ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    """An npm (package.json "workspaces") or pnpm (pnpm-workspace.yaml) workspace: its root and members."""

    root: Path
    members: dict[str, Path]  # package name -> folder
    files: tuple[Path, ...]  # root manifest, workspace file, lockfile: inputs of every member


def find_workspace(root: Path, folder: Path) -> Workspace | None:
    for up in (folder.parent, *folder.parent.parents):
        if not up.is_relative_to(root):
            return None
        patterns = _workspace_patterns(up)
        if patterns is not None:
            return _workspace(root, up, patterns)
    return None


def _workspace_patterns(folder: Path) -> list[str] | None:
    pnpm = folder / "pnpm-workspace.yaml"
    if pnpm.is_file():
        import yaml  # lazy: only pnpm workspaces pay for it

        data = yaml.safe_load(pnpm.read_text(encoding="utf-8")) or {}
        return [str(p) for p in data.get("packages", [])]
    declared = read_json(folder / "package.json").get("workspaces")
    if isinstance(declared, dict):  # yarn's {"packages": [...]}
        declared = declared.get("packages")
    return [str(p) for p in declared] if isinstance(declared, list) else None


def _workspace(root: Path, top: Path, patterns: list[str]) -> Workspace:
    members: dict[str, Path] = {}
    for pattern in patterns:
        if pattern.startswith("!"):
            continue
        for folder in sorted(top.glob(pattern.rstrip("/"))):
            name = read_json(folder / "package.json").get("name")
            if folder.is_dir() and isinstance(name, str):
                members[name] = folder
    files = [top / f for f in ("package.json", "pnpm-workspace.yaml", *LOCKFILES) if (top / f).is_file()]
    lockfile(root, top)
    return Workspace(top, members, tuple(files))


def node_uses(root: Path, folder: Path, workspace: Workspace | None) -> list[Path]:
    """The local library folders a package.json names: file:/link: paths, workspace: and workspace members."""
    manifest = read_json(folder / "package.json")
    where = f"{_rel(root, folder)}/package.json"
    found: list[Path] = []
    for section in NODE_SECTIONS:
        deps = manifest.get(section) or {}
        for name, spec in sorted(deps.items()) if isinstance(deps, dict) else ():
            spec = str(spec)
            if spec.startswith(NODE_PREFIXES):
                found.append(_inside(root, folder, spec.split(":", 1)[1], where))
            elif workspace and (spec.startswith("workspace:") or name in workspace.members):
                if name not in workspace.members:
                    raise LibraryError(f"{where}: {name} is {spec} but no workspace member is named {name}")
                found.append(workspace.members[name])
            elif spec.startswith("workspace:"):
                raise LibraryError(f"{where}: {name} is {spec} but {_rel(root, folder)} is in no workspace")
    return list(dict.fromkeys(found))


def tsconfig_bases(root: Path, folder: Path) -> list[Path]:
    """Files outside the folder that its tsconfig.json extends (relative `extends`, followed)."""
    found: list[Path] = []
    config = folder / "tsconfig.json"
    while config.is_file():
        extends = _extends(config)
        if not extends or not extends.startswith("."):
            break
        target = Path(_normalize((config.parent / extends).as_posix()))
        target = target if target.suffix == ".json" else target.with_name(target.name + ".json")
        if not target.is_relative_to(root):
            raise LibraryError(f"{_rel(root, config)}: extends {extends}, outside the repository; keep it inside")
        if target in found or target.is_relative_to(folder):
            break
        found.append(target)
        config = target
    return found


def _extends(config: Path) -> str | None:
    # tsconfig allows comments; only the "extends" string is needed
    match = re.search(r'"extends"\s*:\s*"([^"]+)"', config.read_text(encoding="utf-8"))
    return match.group(1) if match else None


# --- Go -----------------------------------------------------------------------------------------------------


def go_module(folder: Path) -> str:
    for line in _lines(folder / "go.mod"):
        if line.startswith("module "):
            return line.split()[1].strip('"')
    return ""


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [line.split("//", 1)[0].rstrip() for line in text.splitlines()]


def go_replaces(root: Path, folder: Path) -> dict[str, Path]:
    """module path -> local folder, from the replace lines (single and in blocks) that point at a directory."""
    found: dict[str, Path] = {}
    where = f"{_rel(root, folder)}/go.mod"
    for line in _lines(folder / "go.mod"):
        match = REPLACE.match(line)
        if match and not line.lstrip().startswith("module"):
            found[match.group(1)] = _inside(root, folder, match.group(2), where)
    return found


def go_requires(folder: Path) -> set[str]:
    return {m.group(1) for line in _lines(folder / "go.mod") if (m := REQUIRE.match(line))}


def go_work_members(root: Path) -> dict[str, Path]:
    """module path -> folder for the `use` lines of the repository's go.work (none without one)."""
    members: dict[str, Path] = {}
    for line in _lines(root / "go.work"):
        words = line.replace("use", " ", 1).split() if line.lstrip().startswith("use") else line.split()
        for word in words:
            if word.startswith("."):
                folder = _inside(root, root, word, "go.work")
                if go_module(folder):
                    members[go_module(folder)] = folder
    return members


# --- The closure --------------------------------------------------------------------------------------------


def closure(root: Path, folder: Path) -> Closure:
    """The libraries (dependencies first), root files and package manager of the service in folder."""
    root, folder = root.resolve(), folder.resolve()
    if (folder / "package.json").is_file():
        found = _node_closure(root, folder)
    elif (folder / "go.mod").is_file():
        found = _go_closure(root, folder)
    else:
        return Closure(_rel(root, folder))
    for path in found.paths:
        if path.startswith("services/"):  # images put libraries at /<path> and the service at /app
            raise LibraryError(f"{found.service} uses {path}, inside services/: move the library out (e.g. libs/)")
    return found


def _node_closure(root: Path, folder: Path) -> Closure:
    workspace = find_workspace(root, folder)
    found = lockfile(root, folder) or (lockfile(root, workspace.root) if workspace else None)

    def uses(lib: Path) -> list[Path]:
        return node_uses(root, lib, workspace)

    order, chains = _walk(root, folder, uses, lambda p: str(read_json(p / "package.json").get("name") or p.name))
    libraries = tuple(
        Library(
            _rel(root, lib),
            chains[_rel(root, lib)][0],
            tuple(_rel(root, u) for u in uses(lib)),
            bool((read_json(lib / "package.json").get("scripts") or {}).get("build")),
        )
        for lib in order
    )
    files = [*(workspace.files if workspace else ()), *tsconfig_bases(root, folder)]
    for lib in order:
        files += tsconfig_bases(root, lib)
    outside = [f for f in dict.fromkeys(files) if not any(f.is_relative_to(p) for p in (folder, *order))]
    return Closure(
        _rel(root, folder), libraries, tuple(_rel(root, f) for f in outside), chains, found[1] if found else "npm"
    )


def _go_closure(root: Path, folder: Path) -> Closure:
    replaced = go_replaces(root, folder)
    known = go_work_members(root) | replaced
    where = f"{_rel(root, folder)}/go.mod"

    def uses(lib: Path) -> list[Path]:
        if lib == folder:
            return list(replaced.values())
        local = {**known, **go_replaces(root, lib)}
        needed = sorted(m for m in go_requires(lib) if m in local)
        for module in needed:
            if module not in replaced:
                raise LibraryError(
                    f"{where}: {go_module(lib)} uses {module}, so add `replace {module} => "
                    f"{_relpath(folder, local[module])}` (Go reads replace lines only in the main module)"
                )
        return [replaced[m] for m in needed]

    order, chains = _walk(root, folder, uses, lambda p: go_module(p) or p.name)
    libraries = tuple(
        Library(_rel(root, lib), chains[_rel(root, lib)][0], tuple(_rel(root, u) for u in uses(lib))) for lib in order
    )
    return Closure(_rel(root, folder), libraries, (), chains)


def _relpath(start: Path, target: Path) -> str:
    import os

    return Path(os.path.relpath(target, start)).as_posix()


def _walk(root: Path, service: Path, uses: Any, name_of: Any) -> tuple[list[Path], dict[str, tuple[str, ...]]]:
    """Depth-first from the service: libraries in dependency order, the name chain to each, cycles refused."""
    order: list[Path] = []
    chains: dict[str, tuple[str, ...]] = {}
    done: set[Path] = set()

    def visit(lib: Path, stack: tuple[Path, ...], chain: tuple[str, ...]) -> None:
        if lib in stack:
            loop = [name_of(p) for p in (*stack[stack.index(lib) :], lib)]
            raise LibraryError(f"libraries form a cycle: {' -> '.join(loop)}; break it (move the shared part out)")
        if lib == service:
            raise LibraryError(f"{_rel(root, service)} uses itself through {' -> '.join(chain)}; break the cycle")
        chains.setdefault(_rel(root, lib), (name_of(lib), *chain))
        if lib in done:
            return
        for used in uses(lib):
            visit(used, (*stack, lib), (name_of(lib), *chain))
        done.add(lib)
        order.append(lib)

    for used in uses(service):
        visit(used, (), ())
    return order, chains
