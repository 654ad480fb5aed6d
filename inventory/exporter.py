"""Export the inventory in the import file's shape: the city's backup and migration format.

Device secrets are left out unless asked for (``include_secrets``, the CLI's
``--include-secrets``, audited): most exports are for review or version control, and a
credential profile without its secrets still says which user, protocols and key file it
uses; importing such a file back keeps the stored secrets. A full backup asks for them,
written in clear on purpose, since a backup that cannot restore credentials is not one.
Sections are sorted by id so that two exports of the same inventory are byte-identical
and diff well under version control.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
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
    uplink_doc,
)
from inventory.rawdoc import SECTIONS
from inventory.secretbox import SecretBox

_DOCS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "partners": partner_doc,
    "districts": district_doc,
    "uplinks": uplink_doc,
    "sites": site_doc,
    "aps": ap_doc,
    "demand": demand_doc,
}

HEADER_WITH_SECRETS = (
    "# citywifi inventory export. It contains credentials in clear: keep it as safe as\n"
    "# the devices themselves. It re-imports as is.\n"
)
HEADER_WITHOUT_SECRETS = (
    "# citywifi inventory export, without device secrets (communities, keys, passwords).\n"
    "# Importing it keeps the secrets stored in the database; it cannot restore them into\n"
    "# a new one (export with --include-secrets for that).\n"
)


def export_doc(
    engine: Engine, box: SecretBox | None = None, *, include_secrets: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """The inventory as the import file's document; secrets only with ``include_secrets``
    (then ``box`` opens them)."""
    opener = _opener(box, include_secrets)
    docs: dict[str, Callable[[Any], dict[str, Any]]] = {
        **_DOCS,
        "credentials": partial(credential_doc, box=opener),
    }
    with Session(engine) as session:
        return {
            section: [
                docs[section](row)
                for row in session.scalars(select(TABLES[section]).order_by(TABLES[section].id))
            ]
            for section in SECTIONS
        }


def export_yaml(
    engine: Engine, box: SecretBox | None = None, *, include_secrets: bool = False
) -> str:
    doc = export_doc(engine, box, include_secrets=include_secrets)
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return (HEADER_WITH_SECRETS if include_secrets else HEADER_WITHOUT_SECRETS) + body


def _opener(box: SecretBox | None, include_secrets: bool) -> SecretBox | None:
    if not include_secrets:
        return None
    if box is None:
        raise TypeError("exporting secrets needs the box that opens them")
    return box
