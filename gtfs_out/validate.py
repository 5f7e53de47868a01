"""Run the project's own GTFS rules (:mod:`gtfs_out.rules`) on a feed.

Thin by design (after partridge/transitland-lib): :func:`validate_tables` is a pure
function of already-read tables; :func:`validate_feed` reads a path and calls it.
A feed that cannot be read raises :class:`transit.errors.FeedError` (unusable); every
other problem is a :class:`gtfs_out.findings.Finding`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables, read_feed
from gtfs_out.rules import RULES

__all__ = ["EXIT_ERRORS", "EXIT_OK", "EXIT_UNUSABLE", "exit_code", "validate_feed",
           "validate_tables"]

#: ``transit validate`` exit codes: no errors / findings of severity error / unusable feed.
EXIT_OK, EXIT_ERRORS, EXIT_UNUSABLE = 0, 1, 2


def validate_tables(feed: GtfsTables, rules: Iterable[str] | None = None) -> list[Finding]:
    """Findings of every rule (or of the named ``rules``), errors first, deterministic."""
    names = list(RULES) if rules is None else list(rules)
    unknown = [n for n in names if n not in RULES]
    if unknown:
        raise ValueError(f"unknown rule(s) {unknown}; known: {sorted(RULES)}")
    findings: list[Finding] = []
    for name in names:
        findings.extend(RULES[name](feed))
    return sorted(findings, key=Finding.sort_key)


def validate_feed(path: str | Path, rules: Iterable[str] | None = None) -> list[Finding]:
    """Read the GTFS zip or folder at ``path`` and run :func:`validate_tables` on it.

    Raises
    ------
    FeedError
        When the feed cannot be read (missing, not a zip, a required file absent).
    """
    return validate_tables(read_feed(path), rules)


def exit_code(findings: Iterable[Finding]) -> int:
    """:data:`EXIT_ERRORS` when any finding is an error, else :data:`EXIT_OK`."""
    return EXIT_ERRORS if any(f.severity == "error" for f in findings) else EXIT_OK
