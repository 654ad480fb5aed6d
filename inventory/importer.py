"""Import an inventory file (YAML, or CSV of sites or APs): validate all, then write all.

Nothing is written unless the whole file is valid, and then everything is written in one
transaction, so a failed import never leaves a half-updated city. Rows are upserted by id,
which makes re-importing the same file a no-op.

Import never deletes rows that are absent from the file: files are often partial (one
district's CSV). A later ``--prune`` option may add deletion of what the file omits.

Device secrets are sealed on the way in (:func:`inventory.mapping.to_columns`). Sealing is
randomised, so two seals of one secret differ: a profile is "unchanged" when its opened
secrets are equal, and a re-import rewrites nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from inventory.db import transaction
from inventory.mapping import IMPORTED_COLUMNS, TABLES, Columns, to_columns
from inventory.models import CredentialProfile
from inventory.rawdoc import SECTIONS
from inventory.schemas import InventoryDoc
from inventory.secretbox import SecretBox
from inventory.validation import CHUNK, read_source, validate


@dataclass
class ImportReport:
    path: Path
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """section -> {"created": n, "updated": n, "unchanged": n}."""

    def summary(self) -> str:
        """One line for the CLI, e.g. ``inv.yaml: sites 3 created, 1 updated; aps ...``."""
        parts = [
            f"{section} {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged"
            for section, c in self.counts.items()
            if any(c.values())
        ]
        return f"{self.path}: " + ("; ".join(parts) if parts else "nothing to import")


def validate_file(engine: Engine, path: Path) -> InventoryDoc:
    """Check a file as ``import_file`` would, writing nothing (the CLI's ``--dry-run``)."""
    raw = read_source(path)
    with Session(engine) as session:
        return validate(session, raw)


def import_file(
    engine: Engine,
    path: Path,
    box: SecretBox,
    *,
    audit: Callable[[Session, ImportReport], None] | None = None,
) -> ImportReport:
    """Raise ``InventoryError`` with every problem, or write the whole file atomically;
    ``box`` seals the credentials' secrets (and opens the stored ones to compare).
    ``audit`` records the import in the import's transaction: logged if and only if done."""
    raw = read_source(path)
    report = ImportReport(path)
    # Validating inside the writing transaction means references checked against the
    # database are still there when the rows that need them are written.
    with transaction(engine) as session:
        doc = validate(session, raw)
        for section in SECTIONS:
            if section in raw.sections:
                rows = [to_columns(section, item, box) for item in getattr(doc, section)]
                report.counts[section] = _upsert(session, section, rows, _same(section, box))
        if audit is not None:
            audit(session, report)
    return report


Same = Callable[[str, Any, Any], bool]
"""(column, stored value, imported value) -> whether they mean the same."""


def _same(section: str, box: SecretBox) -> Same:
    secrets = frozenset(CredentialProfile.SECRET_COLUMNS) if section == "credentials" else None

    def same(name: str, stored: Any, given: Any) -> bool:
        if secrets is not None and name in secrets:
            return box.open(stored) == box.open(given)
        return bool(stored == given)

    return same


def _upsert(session: Session, section: str, rows: list[Columns], same: Same) -> dict[str, int]:
    """One SELECT per chunk of ids, then bulk INSERT and bulk UPDATE by primary key."""
    table = TABLES[section]
    names = IMPORTED_COLUMNS[section]
    columns = [getattr(table, name) for name in names]
    current: dict[str, dict[str, Any]] = {}
    ids = [row["id"] for row in rows]
    for start in range(0, len(ids), CHUNK):
        found = session.execute(select(*columns).where(table.id.in_(ids[start : start + CHUNK])))
        current.update({values.id: dict(values._mapping) for values in found})
    new = [row for row in rows if row["id"] not in current]
    # Compare only the columns a row gives: an omitted optional column keeps its value.
    changed = [
        row
        for row in rows
        if row["id"] in current
        and not all(same(k, current[row["id"]][k], v) for k, v in row.items())
    ]
    if new:
        # render_nulls keeps rows with and without None in one executemany batch.
        session.execute(insert(table).execution_options(render_nulls=True), new)
    if changed:
        session.execute(update(table), changed)
    return {
        "created": len(new),
        "updated": len(changed),
        "unchanged": len(rows) - len(new) - len(changed),
    }
