"""Opening the database: one engine, read and write sessions, migrations on start.

SQLite is the embedded default (WAL, one writer at a time: write sessions begin IMMEDIATE so
that two writers queue on the busy timeout instead of failing on a lock upgrade). PostgreSQL
and MariaDB run the same code; rows being changed are locked with ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Sequence as SQLSequence
from sqlalchemy import create_engine, event, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import models

MIGRATIONS = Path(__file__).with_name("migrations")
ID_KINDS = ("vm", "host", "vnet", "image", "user", "group", "template", "hook")


def sequence_name(kind: str) -> str:
    return f"nebula_{kind}_ids"



class Database:
    """The one way the core reaches its tables."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = create_engine(
                url, connect_args={"isolation_level": None, "check_same_thread": False, "timeout": 60}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            # READ COMMITTED (PostgreSQL's default; MariaDB's is REPEATABLE READ): a statement run
            # after waiting for a row lock sees what the lock holder committed.
            # No pre-ping (a round trip on every checkout): a connection the server dropped fails
            # one call, and SQLAlchemy then replaces every pooled connection.
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=3600,
                                        isolation_level="READ COMMITTED")
        self._writer = self.engine.execution_options(nebula_write=True)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; never commits."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextlib.contextmanager
    def rows(self) -> Iterator[Connection]:
        """A connection for Core queries that return plain rows: the hottest reads skip the ORM."""
        with self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any exception."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def next_id(self, session: Session, kind: str) -> int:
        """Take the next id of a kind (ids are never reused).

        PostgreSQL and MariaDB draw from native sequences, which never block a concurrent
        allocate (an id taken by a transaction that rolls back is skipped). SQLite, whose writers
        are serialised anyway, counts in the ``sequences`` table inside the caller's transaction.
        """
        conn = session.connection()  # plain SQL: this is on every allocate's path, the ORM adds nothing
        if not self.is_sqlite:
            return int(conn.scalar(SQLSequence(sequence_name(kind)).next_value()))
        counter = models.Sequence.next_id
        taken = conn.execute(
            update(models.Sequence).where(models.Sequence.kind == kind).values(next_id=counter + 1).returning(counter)
        ).scalar_one()
        return int(taken) - 1

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get("nebula_write") else "DEFERRED"
    conn.connection.dbapi_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]  # straight to sqlite3: every call pays it
