"""A partner's own SLA target and report addresses (issue 13): imported, checked, stored
in the columns of migration 0011 and exported back in the same shape."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from inventory import export_doc, import_file
from inventory.mapping import report_addresses
from inventory.models import Partner
from inventory.secretbox import SecretBox

Write = Callable[[Path, str, str], Path]
Problems = Callable[[Engine, Path], list[str]]

PARTNERS = (
    "partners:\n"
    "  - {id: p1, name: PT Satu, sla_target_pct: 97.5,"
    " report_to: [csr@satu.example, ' board@satu.example ']}\n"
    "  - {id: p2, name: PT Dua}\n"
)


def partner_row(engine: Engine, partner: str) -> tuple[float | None, str | None]:
    with Session(engine) as session:
        row = session.get_one(Partner, partner)
        return row.sla_target_pct, row.report_to


def test_target_and_addresses_are_stored_and_exported_back(
    engine: Engine, tmp_path: Path, write: Write, secret_box: SecretBox
) -> None:
    import_file(engine, write(tmp_path, "partners.yaml", PARTNERS), secret_box)

    assert partner_row(engine, "p1") == (97.5, "csr@satu.example, board@satu.example")
    assert partner_row(engine, "p2") == (None, None)
    assert export_doc(engine)["partners"] == [
        {
            "id": "p1",
            "name": "PT Satu",
            "sla_target_pct": 97.5,
            "report_to": ["csr@satu.example", "board@satu.example"],
        },
        {"id": "p2", "name": "PT Dua"},  # as before issue 13
    ]


def test_the_import_owns_the_columns_so_a_file_without_them_clears_them(
    engine: Engine, tmp_path: Path, write: Write, secret_box: SecretBox
) -> None:
    import_file(engine, write(tmp_path, "a.yaml", PARTNERS), secret_box)
    again = import_file(engine, write(tmp_path, "a.yaml", PARTNERS), secret_box)
    assert again.counts["partners"] == {"created": 0, "updated": 0, "unchanged": 2}

    import_file(
        engine, write(tmp_path, "b.yaml", "partners:\n  - {id: p1, name: PT Satu}\n"), secret_box
    )
    assert partner_row(engine, "p1") == (None, None)


def test_an_exported_file_imports_to_the_same_rows(
    engine: Engine, tmp_path: Path, write: Write, secret_box: SecretBox
) -> None:
    import_file(engine, write(tmp_path, "partners.yaml", PARTNERS), secret_box)
    doc = export_doc(engine)
    lines = ["partners:"]
    for partner in doc["partners"]:
        lines.append(f"  - {partner!r}".replace("'", '"'))
    again = import_file(engine, write(tmp_path, "back.yaml", "\n".join(lines) + "\n"), secret_box)
    assert again.counts["partners"]["unchanged"] == 2


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("sla_target_pct: 0", "sla_target_pct: Input should be greater than 0"),
        ("sla_target_pct: 100.5", "sla_target_pct: Input should be less than or equal to 100"),
        ("report_to: []", "report_to: List should have at least 1 item after validation"),
        ("report_to: [not-an-address]", "report_to.0: String should match pattern"),
        ("report_to: ['a@b.example, c@d.example']", "report_to.0: String should match pattern"),
        ("report_to: ['Board <a@b.example>']", "report_to.0: String should match pattern"),
        ("report_to: [a@b.example, A@b.example]", "report_to: Value error, an address is listed"),
        ("report_to: csr@satu.example", "report_to: Input should be a valid list"),
    ],
)
def test_a_bad_target_or_address_is_refused(
    engine: Engine, tmp_path: Path, write: Write, failed_import: Problems, value: str, problem: str
) -> None:
    path = write(tmp_path, "bad.yaml", f"partners:\n  - {{id: p1, name: PT Satu, {value}}}\n")
    problems = failed_import(engine, path)
    assert len(problems) == 1 and problem in problems[0], problems


def test_the_addresses_must_fit_the_column(
    engine: Engine, tmp_path: Path, write: Write, failed_import: Problems
) -> None:
    many = ", ".join(f"board-{n:03d}@satu.example" for n in range(60))
    path = write(
        tmp_path, "long.yaml", f"partners:\n  - {{id: p1, name: PT Satu, report_to: [{many}]}}\n"
    )
    problems = failed_import(engine, path)
    assert len(problems) == 1 and "at most 1000 characters" in problems[0], problems


def test_stored_addresses_read_back_as_a_list() -> None:
    assert report_addresses("a@b.example, c@d.example") == ["a@b.example", "c@d.example"]
    assert report_addresses(None) == report_addresses("") == []
