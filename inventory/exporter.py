"""Export the inventory in the import file's shape: the city's backup and migration format.

Secrets are written in clear on purpose, since a backup that cannot restore credentials is
not a backup; callers (the CLI) warn about it. Sections are sorted by id so that two
exports of the same inventory are byte-identical and diff well under version control.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inventory.mapping import (
    TABLES,
    ap_doc,
    credential_doc,
    demand_doc,
    district_doc,
    partner_doc,
    site_doc,
)
from inventory.rawdoc import SECTIONS

_DOCS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "partners": partner_doc,
    "districts": district_doc,
    "credentials": credential_doc,
    "sites": site_doc,
    "aps": ap_doc,
    "demand": demand_doc,
}

_HEADER = (
    "# citywifi inventory export. It contains credentials in clear: keep it as safe as\n"
    "# the devices themselves. It re-imports as is.\n"
)


def export_doc(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with Session(engine) as session:
        return {
            section: [
                _DOCS[section](row)
                for row in session.scalars(select(TABLES[section]).order_by(TABLES[section].id))
            ]
            for section in SECTIONS
        }


def export_yaml(engine: Engine) -> str:
    body = yaml.safe_dump(
        export_doc(engine), sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return _HEADER + body
