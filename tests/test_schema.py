"""The migrations build exactly the schema the models describe, on every engine."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nebula_core.db import Base, Database


def test_migrations_match_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.migrate()
        db.migrate()  # idempotent
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        with db.write() as session:
            assert [db.next_id(session, "vm") for _ in range(3)] == [0, 1, 2]
    finally:
        db.dispose()
