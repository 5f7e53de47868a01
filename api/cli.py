"""The ``transit`` command line.

Each area registers its commands from its own module (``cli_ingest``, ``cli_build``,
``cli_router``...). Every :class:`transit.errors.TransitError` becomes one line on stderr
and the error's exit code (2 for bad input); no traceback reaches the user.
"""

from __future__ import annotations

import sys
from importlib import import_module

import typer

from transit.errors import TransitError

app = typer.Typer(
    name="transit",
    help="Informal-transit toolkit: phone traces -> validated GTFS -> journeys and access.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Modules that add commands to :data:`app` with a ``register(app)`` function.
COMMAND_MODULES = (
    "api.cli_ingest",
    "api.cli_build",
    "api.cli_feed",
    "api.cli_demo",
    "api.cli_router",
    "api.cli_access",
    "api.cli_serve",
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that area has not landed yet
                continue
            raise
        module.register(app)


_register_all()


def fail(error: TransitError) -> None:
    """Print one line for ``error`` on stderr and exit with its code."""
    typer.echo(f"error: {error.one_line()}", err=True)
    raise typer.Exit(error.exit_code)


def main() -> None:
    """Entry point of the ``transit`` console script."""
    try:
        app()
    except TransitError as error:
        typer.echo(f"error: {error.one_line()}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
