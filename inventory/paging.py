"""One page of a query and how many rows match in all: the ``{data, count}`` of every list.

One definition, so every list (sites, APs, events, users, the audit log, and the lists
later issues add) counts the same rows it pages through: the count is taken over the
query without its order, limit or offset.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def page(
    session: Session,
    query: Select[T],
    *,
    order_by: tuple[ColumnElement[Any] | Any, ...],
    limit: int,
    offset: int,
) -> tuple[list[T], int]:
    """Rows ``offset`` .. ``offset + limit`` of ``query`` in ``order_by`` order (which
    should end with a unique column, so pages never overlap), and the total count."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.order_by(*order_by).limit(limit).offset(offset)).all()
    return list(rows), int(total or 0)
