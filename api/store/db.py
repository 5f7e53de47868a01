"""Open the store: resolve the URL, create the engine, apply Alembic migrations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from transit.errors import StoreError

__all__ = ["DEFAULT_DATABASE_URL", "database_url", "migrate", "open_store"]

#: Used when neither ``--db`` nor ``TRANSIT_DATABASE_URL`` is given: a file in the
#: current folder.
DEFAULT_DATABASE_URL = "sqlite:///transit.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(url: str | None = None) -> str:
    """``url``, else ``TRANSIT_DATABASE_URL``, else :data:`DEFAULT_DATABASE_URL`.

    A bare path (``traces.sqlite``) is taken as a SQLite file.
    """
    chosen = url or os.environ.get("TRANSIT_DATABASE_URL") or DEFAULT_DATABASE_URL
    if "://" not in chosen:
        chosen = f"sqlite:///{chosen}"
    return chosen


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE (below) instead of pysqlite's
    # deferred BEGIN: a deferred reader that later writes can fail with "database is
    # locked" when another writer committed meanwhile; IMMEDIATE waits its turn instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_store(url: str | None = None, *, upgrade: bool = True) -> Engine:
    """An engine on the store, migrated to the newest schema unless ``upgrade`` is False.

    Raises
    ------
    StoreError
        When the URL is malformed or the database cannot be reached or migrated.
    """
    resolved = database_url(url)
    shown = resolved.split("@")[-1] if "@" in resolved else resolved
    try:
        engine = create_engine(resolved, pool_pre_ping=True)
    except (ArgumentError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot use database URL {shown!r} ({exc})", where="--db",
                         fix="give e.g. sqlite:///transit.sqlite or "
                             "postgresql+psycopg://user@host/db") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        db_path = engine.url.database
        if db_path and db_path != ":memory:":
            parent = Path(db_path).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreError(f"the folder {parent} does not exist", where="--db",
                                 fix="create the folder or give another database path")
    if upgrade:
        migrate(engine)
    return engine


def migrate(engine: Engine) -> None:
    """Apply every Alembic migration not yet applied (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise StoreError(f"cannot open the database ({exc.orig})",
                         where=engine.url.render_as_string(hide_password=True),
                         fix="check the URL, that the server runs and that you may write") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate the database ({exc})",
                         where=engine.url.render_as_string(hide_password=True),
                         fix="back up the file and report the problem") from None


def table_names(engine: Engine) -> list[str]:
    """Tables present (for diagnostics and tests)."""
    return sorted(inspect(engine).get_table_names())
