"""Opening the inventory database at the schema this code needs, and units of work on it.

Every program (serve, collect, demo, import, export) opens the database through
:func:`open_inventory`, which refuses one that is behind its migrations with a line naming
the command that fixes it, rather than failing later on a missing column. Upgrading is a
deliberate act (`citywifi db upgrade`): a schema change on a shared PostgreSQL must not
happen because some process happened to start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import DatabaseError, first_line
from inventory.engine import make_engine, sqlite_path
from inventory.models import Base
from inventory.revision import UPGRADE_COMMAND, check_current, database_name, stamp_head

__all__ = ["make_engine", "open_inventory", "session_factory", "transaction"]


def open_inventory(url: str, *, create: bool) -> Engine:
    """An engine on the inventory at ``url``, whose schema is the newest.

    An empty database (or a SQLite file that does not exist yet) gets the newest schema
    when ``create`` is true and raises DatabaseError otherwise; so does a database behind
    its migrations, made before them, or by a newer version. Messages are one line naming
    the database (password hidden) and what to run.
    """
    name = database_name(url)
    path = sqlite_path(url)
    if not create and path is not None and not path.exists():
        raise DatabaseError(
            f"no inventory database at {path}; create it with `{UPGRADE_COMMAND}` "
            "(or `citywifi inventory import FILE`)"
        )
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            found = check_current(connection, url)
            if found.revision is None:
                if not create:
                    raise DatabaseError(
                        f"inventory database {name} is empty; create its tables with "
                        f"`{UPGRADE_COMMAND}`"
                    )
                # The models are the newest schema (a test proves the migrations from an
                # empty database give the same), and create_all is much faster.
                Base.metadata.create_all(connection)
                stamp_head(connection)
    except DatabaseError:
        engine.dispose()
        raise
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        reason = first_line(exc)
        raise DatabaseError(f"cannot open inventory database {name}: {reason}") from exc
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
