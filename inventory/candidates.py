"""Candidate sites: the places the city could build, read from a file and stored as one list.

A planner hands over a CSV (header ``id,name,lat,lon[,kind][,coverage_radius_m]``) or a
GeoJSON FeatureCollection of Point features (``properties`` id/name/kind/
coverage_radius_m, or the feature's ``id``). Every bad row is reported as
``file:line: message``, all of them at once, like an inventory import: the file is fixed
by a person in one sitting. The list is planning input, not inventory: an import replaces
it as a whole (:func:`replace_candidates`), so a candidate dropped from the file is gone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from core.errors import InventoryError
from inventory.csvformat import check_header, read_rows
from inventory.models import CandidateSite
from inventory.rawdoc import RawInventory, RawRow, read_text
from inventory.schemas import CandidateIn

_COLUMNS: tuple[str, ...] = tuple(CandidateIn.model_fields)
_REQUIRED: tuple[str, ...] = ("id", "lat", "lon")
_SECTION = "candidates"
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CHUNK = 1000
"""Rows per INSERT: keeps each statement well under the databases' parameter limits."""


def read_candidates(path: Path) -> list[CandidateIn]:
    """The candidates in ``path`` (.csv, .geojson or .json), in file order; raise
    ``InventoryError`` listing every problem, each ``file:line: message``."""
    suffix, text = read_text(
        path, (".csv", ".geojson", ".json"), "candidates file", ".csv or .geojson"
    )
    raw = _read_csv(path, text) if suffix == ".csv" else _read_geojson(path, text)
    return _validate(raw)


def replace_candidates(session: Session, items: Sequence[CandidateIn]) -> int:
    """Make ``items`` the stored list, in the caller's transaction (nothing is committed
    here, so a failed import leaves the old list). Returns how many are stored."""
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise InventoryError([f"candidates: duplicate id {item.id!r}"])
        seen.add(item.id)
    session.execute(delete(CandidateSite))
    rows = [item.model_dump() for item in items]
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(CandidateSite), rows[start : start + CHUNK])
    return len(rows)


def stored_candidates(session: Session) -> list[CandidateIn]:
    """The stored list, by id. ``coverage_radius_m`` None: the setting applies (the
    caller's to resolve, so a changed setting needs no re-import)."""
    table = CandidateSite.__table__
    rows = session.execute(select(table).order_by(table.c.id)).mappings()
    return [CandidateIn.model_construct(**row) for row in rows]


# --- reading ------------------------------------------------------------------------------


def _read_csv(path: Path, text: str) -> RawInventory:
    raw = RawInventory(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip() for cell in next(reader, [])]
    if not any(header):
        raw.problem(1, "empty CSV file: expected a header id,name,lat,lon[,kind][,radius]")
        return raw
    check_header(raw, _SECTION, header, _COLUMNS)
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        raw.problem(1, f"{_SECTION} header: missing column(s) {', '.join(missing)}")
    if raw.problems:
        return raw
    # Empty cells are left out: the schema's default (name = id, radius = setting).
    raw.sections[_SECTION] = read_rows(raw, reader, _SECTION, header)
    return raw


def _read_geojson(path: Path, text: str) -> RawInventory:
    """JSON read through the YAML composer, which keeps the line each feature starts on
    (as :mod:`inventory.geojsonformat` does for districts)."""
    raw = RawInventory(path)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        members = (
            {k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode)}
            if isinstance(root, yaml.MappingNode)
            else {}
        )
        kind, features = members.get("type"), members.get("features")
        if (
            not isinstance(kind, yaml.ScalarNode)
            or kind.value != "FeatureCollection"
            or not isinstance(features, yaml.SequenceNode)
        ):
            raw.problem(1, "GeoJSON: expected a FeatureCollection with a features list")
            return raw
        rows: list[RawRow] = []
        for index, node in enumerate(features.value):
            line = node.start_mark.line + 1
            row = _candidate(loader.construct_object(node, deep=True))
            if isinstance(row, str):
                raw.problem(line, f"{_SECTION}[{index}]: {row}")
            rows.append(RawRow(line, row if isinstance(row, dict) else None))
        raw.sections[_SECTION] = rows
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raw.problem(mark.line + 1 if mark else 1, f"GeoJSON syntax error: {exc.problem}")
    finally:
        loader.dispose()
    return raw


def _candidate(feature: Any) -> dict[str, Any] | str:
    """The candidate row a Point feature describes, or why it describes none. Properties
    other than the candidate's fields are ignored: GIS tools add their own."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return "not a GeoJSON Feature"
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        return "properties must be an object"
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return "a candidate feature needs a Point geometry"
    position = geometry.get("coordinates")
    if (
        not isinstance(position, list)
        or len(position) < 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in position[:2])
    ):
        return f"a Point's coordinates must be [lon, lat], got {position!r}"
    candidate_id = properties.get("id", feature.get("id"))
    if candidate_id is None:
        return "a candidate feature needs an id (properties.id or the feature id)"
    row = {name: properties[name] for name in _COLUMNS if properties.get(name) is not None}
    return {**row, "id": candidate_id, "lon": position[0], "lat": position[1]}


# --- validating ---------------------------------------------------------------------------


def _validate(raw: RawInventory) -> list[CandidateIn]:
    problems = list(raw.problems)
    items: list[CandidateIn] = []
    first_line: dict[str, int] = {}
    for index, row in enumerate(raw.sections.get(_SECTION, [])):
        if row.value is None:  # already reported by the reader
            continue
        raw_id = row.value.get("id")
        where = f"{_SECTION}[{index}] id={raw_id if raw_id is not None else '?'}"
        item: CandidateIn | None = None
        try:
            item = CandidateIn.model_validate(row.value)
        except ValidationError as exc:
            problems.extend((row.line, f"{where}: {_describe(err)}") for err in exc.errors())
        key = item.id if item is not None else (str(raw_id).strip() if raw_id else None)
        if key is not None and key in first_line:
            problems.append(
                (row.line, f"{where}: id: duplicate id, first at line {first_line[key]}")
            )
            continue
        if key is not None:
            first_line[key] = row.line
        if item is not None:
            items.append(item)
    if problems:
        problems.sort(key=lambda problem: problem[0])  # stable: file order, then found order
        raise InventoryError([f"{raw.path}:{line}: {message}" for line, message in problems])
    return items


def _describe(err: ErrorDetails) -> str:
    names = ".".join(str(part) for part in err["loc"])
    return f"{names}: {err['msg']}" if names else str(err["msg"])
