"""One error hierarchy for the whole project.

Every message says *what* went wrong, *where* (file, row, field, entity) and *how to fix
it*, and fits on one line so the CLI can print it without a traceback and the service can
put it in a problem+json body. Validation that can go on (a bad row, a questionable stop)
returns findings as data instead of raising; exceptions are for unusable input.
"""

from __future__ import annotations


class TransitError(Exception):
    """Base class of every error this project raises on purpose.

    Parameters
    ----------
    what
        What is wrong, e.g. ``"no latitude column"``.
    where
        Where it is, e.g. ``"traces.csv line 12"``; optional.
    fix
        How to fix it, e.g. ``"name the column 'lat' or 'latitude'"``; optional.
    """

    #: Exit code the CLI uses for this kind of error.
    exit_code: int = 2
    #: HTTP status the service uses for this kind of error.
    http_status: int = 400

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message as one line: ``where: what (fix)``."""
        text = " ".join(self.what.split())
        if self.where:
            text = f"{self.where}: {text}"
        if self.fix:
            text = f"{text}; fix: {' '.join(self.fix.split())}"
        return text


class InputError(TransitError):
    """Input the user gave is not usable (argument, option, value)."""


class FormatError(InputError):
    """A file cannot be read in the format it claims or appears to have."""

    http_status = 422


class TooLargeError(InputError):
    """An input exceeds a configured size limit (file size, zip expansion)."""

    http_status = 413


class FeedError(InputError):
    """A GTFS feed cannot be loaded or routed on."""

    http_status = 422


class NotFoundError(TransitError):
    """A stored entity (upload, trace, build, feed) does not exist."""

    http_status = 404


class BuildError(TransitError):
    """The builder cannot produce a feed from the given traces."""

    http_status = 422


class StoreError(TransitError):
    """The database cannot be opened, migrated or written."""

    exit_code = 3
    http_status = 503
