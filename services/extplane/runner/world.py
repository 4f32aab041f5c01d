"""The Alga world as `wit/alga-extension.wit` declares it: the package, each
interface's names, and what the `runner` world imports.

This reads only the subset of WIT the file uses (interfaces with functions,
records, enums, variants, flags, resources, type aliases and `use`; a world
importing and exporting by name), enough to know which interface names a
component of the world may import and what each may hold. It is the one
source of those names: nothing else lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

WORLD = "runner"
WIT_FILE = "alga-extension.wit"

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_PACKAGE = re.compile(r"\bpackage\s+([a-z0-9-]+:[a-z0-9-]+)(?:@([0-9A-Za-z.+-]+))?\s*;")
_BLOCK = re.compile(r"\b(interface|world)\s+(%?[a-z0-9-]+)\s*\{")
_FUNCTION = re.compile(r"(%?[a-z0-9-]+)\s*:\s*func\b")
_TYPE = re.compile(r"\b(?:record|enum|variant|flags|resource|type)\s+(%?[a-z0-9-]+)")
_USE = re.compile(r"\buse\s+(%?[a-z0-9-]+)\.\{([^}]*)\}")
_WORLD_IMPORT = re.compile(r"\bimport\s+(%?[a-z0-9-]+)\s*;")


class WitError(ValueError):
    """The file is not WIT this reader understands."""


def _name(token: str) -> str:
    # `%list` is the identifier `list` escaped because it is a keyword.
    return token.removeprefix("%")


@dataclass(frozen=True)
class Interface:
    name: str
    functions: frozenset[str]
    # Types the interface defines, and those it takes from others by `use`.
    types: frozenset[str]
    uses: frozenset[str]

    @property
    def members(self) -> frozenset[str]:
        """Every name an instance of the interface may export."""
        return self.functions | self.types


@dataclass(frozen=True)
class World:
    """The package's interfaces a component of `world` may import, by the
    name a component gives each import (`alga:extension/storage`, with
    `@version` when the package has one)."""

    package: str
    version: str | None
    imports: dict[str, Interface]

    def import_name(self, interface: str) -> str:
        suffix = f"@{self.version}" if self.version else ""
        return f"{self.package}/{interface}{suffix}"


def _body(text: str, open_brace: int) -> str:
    depth = 0
    for index in range(open_brace, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[open_brace + 1 : index]
    raise WitError("a block is not closed")


def _interface(name: str, body: str) -> Interface:
    used: set[str] = set()
    uses: set[str] = set()
    for source, names in _USE.findall(body):
        uses.add(_name(source))
        for item in names.split(","):
            item = item.strip()
            if item:
                # `use types.{a as b}` makes `b` the name here.
                used.add(_name(item.split(" as ")[-1].strip()))
    return Interface(
        name=name,
        functions=frozenset(_name(f) for f in _FUNCTION.findall(body)),
        types=frozenset({_name(t) for t in _TYPE.findall(body)} | used),
        uses=frozenset(uses),
    )


def parse_world(text: str, world: str = WORLD) -> World:
    """The interfaces `world` imports and, transitively, those they `use`."""
    text = _COMMENT.sub("", text)
    package = _PACKAGE.search(text)
    if package is None:
        raise WitError("no `package namespace:name;` declaration")
    interfaces: dict[str, Interface] = {}
    worlds: dict[str, str] = {}
    for block in _BLOCK.finditer(text):
        kind, name = block.group(1), _name(block.group(2))
        body = _body(text, block.end() - 1)
        if kind == "interface":
            interfaces[name] = _interface(name, body)
        else:
            worlds[name] = body
    if world not in worlds:
        raise WitError(f"no world {world!r}")
    pending = [_name(n) for n in _WORLD_IMPORT.findall(worlds[world])]
    pending += [_name(source) for source, _ in _USE.findall(worlds[world])]
    imported: dict[str, Interface] = {}
    while pending:
        name = pending.pop()
        if name in imported:
            continue
        if name not in interfaces:
            raise WitError(f"world {world!r} imports {name!r}, which the package does not define")
        imported[name] = interfaces[name]
        pending.extend(interfaces[name].uses)
    return World(package.group(1), package.group(2), imported)


def wit_path() -> Path:
    """The WIT file: packaged beside this module in a wheel, else the repository's."""
    beside = Path(__file__).with_name(WIT_FILE)
    if beside.is_file():
        return beside
    return Path(__file__).resolve().parents[3] / "wit" / WIT_FILE


@cache
def alga_world() -> World:
    return parse_world(wit_path().read_text(encoding="utf-8"))
