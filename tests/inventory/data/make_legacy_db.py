# mypy: ignore-errors
# (it runs against the OLD code: checking it against today's would be meaningless)
"""Build ``legacy-d320795.db``: an inventory made by the code before migrations existed.

The file is committed; this script says how it was made and is NOT run by the tests (it
needs the old code). Run it from the repository root with the pre-migration commit on the
path, so that the OLD ``create_all`` makes the tables and the OLD importer fills them:

    git worktree add /tmp/old d320795
    PYTHONPATH=/tmp/old .venv/bin/python tests/inventory/data/make_legacy_db.py
    git worktree remove /tmp/old
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "legacy-d320795.db"


def main() -> None:
    import inventory  # the old one, from PYTHONPATH
    import inventory.models

    if hasattr(inventory.models, "ApEvent"):
        sys.exit("error: run with PYTHONPATH set to a checkout of d320795 (the old code)")
    from inventory.db import make_engine, transaction
    from inventory.queries import ApStatusUpdate, record_status

    TARGET.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{TARGET}")
    print(inventory.import_file(engine, HERE / "city.yaml").summary())
    with transaction(engine) as session:
        record_status(
            session,
            [
                ApStatusUpdate("ap00001", "up", 1_767_225_000.0, 1_767_225_588.0,
                               1_767_225_588.0, 0, "generic", None, 400, 398),
                ApStatusUpdate("ap00002", "down", 1_767_225_300.0, 1_767_225_290.0,
                               1_767_225_590.0, 9, "mikrotik", "timeout", 120, 100),
                ApStatusUpdate("ap00003", "unknown", None, None, None, 0, None, None),
            ],
        )  # fmt: skip
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("PRAGMA journal_mode=DELETE")  # one self-contained file
    engine.dispose()
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
