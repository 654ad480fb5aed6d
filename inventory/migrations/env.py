"""Alembic's environment, run by :mod:`inventory.migrations` (there is no alembic.ini).

The caller passes an open connection in ``config.attributes["connection"]``, so the
migrations run on an engine made by :func:`inventory.engine.make_engine` (the same SQLite
pragmas and 0600 file as the rest of the program). Run by hand (``alembic -c ...``), it
falls back to the ``sqlalchemy.url`` main option. SQLite cannot alter most of a table in
place, so its migrations are rendered in batch mode (copy, move, rename). The secret box
(``config.attributes["secret_box"]``, for the revision that seals device secrets) reaches
the migrations as the context option ``secret_box``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from inventory.engine import make_engine
from inventory.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        secret_box=context.config.attributes.get("secret_box"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url given to the migrations")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


_main()
