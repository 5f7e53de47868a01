"""`transit serve` (the HTTP service) and `transit keys create` (an API key, shown once)."""

from __future__ import annotations

from typing import Annotated

import typer

from transit.errors import InputError

__all__ = ["register"]

keys_app = typer.Typer(help="API keys of the service (stored hashed).", no_args_is_help=True)

_DB_HELP = ("SQLAlchemy URL or SQLite path of the store [env TRANSIT_DATABASE_URL; default "
            "sqlite:///transit.sqlite]")


def serve(
    db: Annotated[str | None, typer.Option("--db", help=_DB_HELP)] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Start the HTTP service (OpenAPI docs at /docs). Migrations are applied at start.

    Configure with TRANSIT_* environment variables (see the README): e.g.
    TRANSIT_PUBLIC_QUERIES=true, TRANSIT_MAX_UPLOAD_BYTES, TRANSIT_DATA_DIR.
    """
    import uvicorn
    from pydantic import ValidationError

    from api.app import create_app
    from api.settings import Settings
    from api.store.db import database_url, open_store

    url = database_url(db)
    try:
        settings = Settings(database_url=url)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "TRANSIT_" + "_".join(str(p) for p in first["loc"]).upper()
        raise InputError(f"{first['msg']}", where=name,
                         fix="correct or unset the environment variable") from None
    open_store(url).dispose()  # fail fast, as one line, on a bad URL or database
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level,
                access_log=False)


@keys_app.command("create")
def create(
    role: Annotated[str, typer.Option(help="field (upload) | planner (query) | admin (all)")],
    db: Annotated[str | None, typer.Option("--db", help=_DB_HELP)] = None,
    name: Annotated[str | None, typer.Option(help="A label, e.g. the team or app")] = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from api.store.db import open_store
    from api.store.keys import create_key

    engine = open_store(db)
    try:
        with engine.begin() as conn:
            key, secret = create_key(conn, role, name)
    finally:
        engine.dispose()
    typer.echo(secret)
    typer.echo(f"created {key.role} key {key.prefix}... (id {key.id}); it is not shown "
               "again", err=True)


@keys_app.command("list")
def list_keys(db: Annotated[str | None, typer.Option("--db", help=_DB_HELP)] = None) -> None:
    """List keys: id, prefix, role, name, created, revoked."""
    from api.store.db import open_store
    from api.store.keys import list_keys as stored_keys

    engine = open_store(db)
    try:
        with engine.connect() as conn:
            rows = stored_keys(conn)
    finally:
        engine.dispose()
    for k in rows:
        revoked = f" revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else ""
        typer.echo(f"{k.id}\t{k.prefix}...\t{k.role}\t{k.name or ''}\t"
                   f"{k.created_at:%Y-%m-%d}{revoked}")


def register(app: typer.Typer) -> None:
    """Add ``transit serve`` and ``transit keys`` to the CLI."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
