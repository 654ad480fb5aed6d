"""Validate a whole inventory file before anything is written.

Every problem of every row is collected, not just the first, because an inventory file is
usually fixed by a person in one sitting: they want the full list with line numbers.
References may point into the same file or into the database, so validation needs a
session, but it only ever reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InventoryError
from inventory.csvformat import read_csv
from inventory.geojsonformat import read_geojson
from inventory.mapping import TABLES
from inventory.models import CredentialProfile
from inventory.rawdoc import SECTIONS, RawInventory, RawRow, read_text
from inventory.schemas import (
    STORED_SECRETS,
    ApIn,
    CredentialIn,
    DemandPointIn,
    DistrictIn,
    InventoryDoc,
    PartnerIn,
    SiteIn,
    UplinkIn,
)
from inventory.yamlformat import read_yaml

Item = PartnerIn | DistrictIn | CredentialIn | UplinkIn | SiteIn | ApIn | DemandPointIn

MODELS: dict[str, type[Item]] = {
    "partners": PartnerIn,
    "districts": DistrictIn,
    "credentials": CredentialIn,
    "uplinks": UplinkIn,
    "sites": SiteIn,
    "aps": ApIn,
    "demand": DemandPointIn,
}

REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "sites": (("district", "districts"), ("partner", "partners"), ("uplink", "uplinks")),
    "aps": (("site", "sites"), ("credentials", "credentials")),
    "demand": (("district", "districts"),),
}
"""section -> (field, section it names)."""

_NOUN = {
    "districts": "district",
    "partners": "partner",
    "sites": "site",
    "credentials": "credential profile",
    "uplinks": "uplink",
}

CHUNK = 500
"""Ids per IN (...) query: well under SQLite's and PostgreSQL's bound-parameter limits."""


@dataclass(frozen=True)
class _Valid:
    where: str
    line: int
    item: Item


def read_source(path: Path) -> RawInventory:
    suffixes = (".yaml", ".yml", ".csv", ".geojson", ".json")
    suffix, text = read_text(path, suffixes, "file", ".yaml, .yml, .csv or .geojson")
    if suffix == ".csv":
        return read_csv(path, text)
    if suffix in (".geojson", ".json"):
        return read_geojson(path, text)
    return read_yaml(path, text)


def validate(session: Session, raw: RawInventory) -> InventoryDoc:
    """Return the validated document, or raise ``InventoryError`` listing every problem."""
    problems = list(raw.problems)
    valid: dict[str, list[_Valid]] = {}
    ids_in_file: dict[str, set[str]] = {}
    for section in SECTIONS:
        rows = raw.sections.get(section, [])
        context = _stored_secrets(session, rows) if section == "credentials" else None
        valid[section], ids_in_file[section] = _validate_section(
            raw, section, rows, problems, context
        )
    problems.extend(_reference_problems(session, valid, ids_in_file))
    if problems:
        problems.sort(key=lambda problem: problem[0])  # stable: file order, then found order
        raise InventoryError([f"{raw.path}:{line}: {message}" for line, message in problems])
    return InventoryDoc.model_validate(
        {section: [entry.item for entry in entries] for section, entries in valid.items()}
    )


def _validate_section(
    raw: RawInventory,
    section: str,
    rows: list[RawRow],
    problems: list[tuple[int, str]],
    context: dict[str, Any] | None = None,
) -> tuple[list[_Valid], set[str]]:
    model = MODELS[section]
    valid: list[_Valid] = []
    first_line: dict[str, int] = {}
    for index, row in enumerate(rows):
        raw_id = _raw_id(row.value)
        where = f"{section}[{index}] id={raw_id if raw_id is not None else '?'}"
        item: Item | None = None
        try:
            item = model.model_validate(row.value, context=context)
        except ValidationError as exc:
            problems.extend((row.line, f"{where}: {_describe(err)}") for err in exc.errors())
        key = item.id if item is not None else raw_id
        if key is not None and key in first_line:
            problems.append(
                (row.line, f"{where}: id: duplicate id, first at line {first_line[key]}")
            )
            continue
        if key is not None:
            # Invalid rows still count as present, so their dependants do not also fail.
            first_line[key] = row.line
        if item is not None:
            valid.append(_Valid(where, row.line, item))
    return valid, set(first_line)


def _stored_secrets(session: Session, rows: list[RawRow]) -> dict[str, Any]:
    """Which secret columns the database holds for the profiles in ``rows`` (whether they
    are set, never their values): a profile may omit a secret that is stored, keeping it
    (see :data:`inventory.schemas.STORED_SECRETS`)."""
    ids = sorted({raw_id for row in rows if (raw_id := _raw_id(row.value)) is not None})
    names = CredentialProfile.SECRET_COLUMNS
    stored: dict[str, frozenset[str]] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(
            CredentialProfile.id,
            *(getattr(CredentialProfile, name).is_not(None).label(name) for name in names),
        ).where(CredentialProfile.id.in_(ids[start : start + CHUNK]))
        for found in session.execute(query):
            stored[found.id] = frozenset(name for name in names if found._mapping[name])
    return {STORED_SECRETS: stored}


def _raw_id(value: object) -> str | None:
    if not isinstance(value, dict) or value.get("id") is None:
        return None
    return str(value["id"]).strip()


def _describe(err: ErrorDetails) -> str:
    # A tagged union puts its tag in the location ("snmp", "3", "auth_key"); tags are not
    # field names, and the reader only needs the path of names.
    names = [str(part) for part in err["loc"] if not isinstance(part, str) or part.isidentifier()]
    return f"{'.'.join(names)}: {err['msg']}" if names else err["msg"]


def _reference_problems(
    session: Session, valid: dict[str, list[_Valid]], ids_in_file: dict[str, set[str]]
) -> list[tuple[int, str]]:
    pending: list[tuple[_Valid, str, str, str]] = []
    wanted: dict[str, set[str]] = {}
    for section, references in REFERENCES.items():
        for entry in valid[section]:
            for field, target in references:
                ref = getattr(entry.item, field)
                if ref is not None and ref not in ids_in_file[target]:
                    pending.append((entry, field, target, ref))
                    wanted.setdefault(target, set()).add(ref)
    in_db = {target: existing_ids(session, target, ids) for target, ids in wanted.items()}
    return [
        (
            entry.line,
            f"{entry.where}: {field}: unknown {_NOUN[target]} {ref!r} "
            "(neither in this file nor in the database)",
        )
        for entry, field, target, ref in pending
        if ref not in in_db[target]
    ]


def existing_ids(session: Session, section: str, ids: Iterable[str]) -> set[str]:
    table = TABLES[section]
    wanted = sorted(set(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found.update(session.scalars(select(table.id).where(table.id.in_(chunk))))
    return found
