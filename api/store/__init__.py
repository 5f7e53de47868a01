"""Persistence: SQLAlchemy 2.0 Core tables, Alembic migrations, repository functions.

Route handlers and CLI commands call the repository functions here; nothing else issues
queries. SQLite (a file) is the default backend; any SQLAlchemy URL works (PostgreSQL is
tested in CI).
"""
