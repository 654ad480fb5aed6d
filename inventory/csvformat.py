"""Read sites, APs or demand points from a CSV file, as exported by a spreadsheet.

The header says which section the file holds; cells are handed to the same pydantic models
as YAML values (pydantic's lax mode turns "1161" into an int and "yes" into True), so a CSV
row and a YAML row are validated by one code path. Empty cells are left out, which gives
the schema's default, or null for optional references.
"""

from __future__ import annotations

import csv
import io
from _csv import Reader as CsvReader
from pathlib import Path

from inventory.rawdoc import RawInventory, RawRow
from inventory.schemas import ApIn, DemandPointIn, SiteIn

_COLUMNS: dict[str, tuple[str, ...]] = {
    "sites": tuple(SiteIn.model_fields),
    "aps": tuple(ApIn.model_fields),
    "demand": tuple(DemandPointIn.model_fields),
}


def section_for_header(header: list[str]) -> str | None:
    columns = set(header)
    if {"site", "host"} <= columns:
        return "aps"
    if {"lat", "lon", "weight"} <= columns:
        return "demand"
    if {"lat", "lon"} <= columns:
        return "sites"
    return None


def read_csv(path: Path, text: str) -> RawInventory:
    raw = RawInventory(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip() for cell in next(reader, [])]
    if not any(header):
        raw.problem(1, "empty CSV file: expected a header of sites or APs columns")
        return raw
    section = section_for_header(header)
    if section is None:
        raw.problem(
            1,
            "cannot tell what this CSV holds: a sites file needs lat and lon columns, "
            "an APs file needs site and host columns, a demand file lat, lon and weight "
            f"(header: {', '.join(header)})",
        )
        return raw
    check_header(raw, section, header, _COLUMNS[section])
    if raw.problems:
        return raw
    raw.sections[section] = read_rows(raw, reader, section, header)
    return raw


def check_header(
    raw: RawInventory, section: str, header: list[str], known: tuple[str, ...]
) -> None:
    """Every column known, none twice (problems on line 1)."""
    for position, name in enumerate(header):
        if name not in known:
            raw.problem(1, f"{section} header: unknown column {name!r} ({', '.join(known)})")
        elif name in header[:position]:
            raw.problem(1, f"{section} header: column {name!r} appears twice")


def read_rows(
    raw: RawInventory, reader: CsvReader, section: str, header: list[str]
) -> list[RawRow]:
    """The data rows after the header, each with the line it starts on; empty cells left
    out (the schema's default applies), blank lines skipped."""
    rows: list[RawRow] = []
    row_start = reader.line_num + 1
    for cells in reader:
        line, row_start = row_start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue  # a quoted cell may span lines: line numbers come from the reader
        if len(cells) > len(header):
            # Still validated below, so that the row index stays the data row's position.
            raw.problem(
                line,
                f"{section}[{len(rows)}]: {len(cells)} cells but the header has "
                f"{len(header)} columns",
            )
        values = {
            name: cell.strip() for name, cell in zip(header, cells, strict=False) if cell.strip()
        }
        rows.append(RawRow(line, values))
    return rows
