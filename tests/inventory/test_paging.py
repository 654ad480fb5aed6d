"""One page and the total: the count ignores order, limit and offset."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.db import open_inventory, transaction
from inventory.models import Partner
from inventory.paging import page


def test_pages_cover_every_row_once_and_count_them_all(new_db_url: Callable[[], str]) -> None:
    engine = open_inventory(new_db_url(), create=True)
    try:
        with transaction(engine) as session:
            session.add_all(Partner(id=f"p{i:02d}", name=f"P {i % 3}") for i in range(25))
        with Session(engine) as session:
            query = select(Partner).where(Partner.name != "P 0")
            seen: list[str] = []
            for offset in range(0, 30, 7):
                rows, total = page(
                    session, query, order_by=(Partner.name, Partner.id), limit=7, offset=offset
                )
                assert total == 16
                seen += [p.id for p in rows]
            assert len(seen) == len(set(seen)) == 16
            assert page(session, query, order_by=(Partner.id,), limit=5, offset=100) == ([], 16)
    finally:
        engine.dispose()
