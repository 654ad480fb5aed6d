"""The file-independent middle of an import: rows as parsed, each with the line it starts on.

YAML and CSV readers both produce a ``RawInventory`` so that validation, reference checks
and problem messages are written once and read the same whatever the file type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InventoryError
from inventory.schemas import INVENTORY_SECTIONS

SECTIONS: tuple[str, ...] = tuple(INVENTORY_SECTIONS)
"""Import and export order: every section only refers to sections before it."""


@dataclass(frozen=True)
class RawRow:
    line: int
    value: Any


@dataclass
class RawInventory:
    path: Path
    sections: dict[str, list[RawRow]] = field(default_factory=dict)
    problems: list[tuple[int, str]] = field(default_factory=list)
    """(line, message) pairs, formatted once all problems are known so they sort by line."""

    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, message))


def read_text(path: Path, suffixes: tuple[str, ...], what: str, use: str) -> tuple[str, str]:
    """(the file's lower-case suffix, its text): refused as ``InventoryError`` when the
    suffix is not one of ``suffixes`` (``what``: "file", "candidates file"; ``use``: the
    types to name instead) or the file cannot be read as UTF-8. utf-8-sig: spreadsheets
    like to start a CSV with a byte-order mark."""
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise InventoryError([f"{path}: unsupported {what} type {suffix!r}: use {use}"])
    try:
        return suffix, path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError([f"{path}: cannot read: {exc}"]) from exc
