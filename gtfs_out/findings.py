"""Validation findings as data (after transitland-lib): one row per problem found.

A rule never raises on a bad feed; it returns :class:`Finding` rows. Exceptions are kept
for feeds that cannot be read at all (:class:`transit.errors.FeedError`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["SEVERITIES", "Finding", "Severity", "count_by_severity"]

Severity = Literal["error", "warning", "info"]
#: Severities from worst to mildest (also the sort order of reports).
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a feed.

    ``code`` is a stable snake_case identifier (independent validators' notice codes are
    kept verbatim); ``file`` the GTFS file (``"stops.txt"``) or ``""`` for the whole feed;
    ``entity_id`` the id of the offending row (``stop_id``, ``trip_id``...) or its CSV row
    number as ``"row 12"``; ``field`` and ``value`` the offending column and cell text;
    ``source`` who found it (``"transit"``, ``"gtfs-guru"``, ``"gtfs-validator"``).
    """

    code: str
    severity: Severity
    file: str = ""
    entity_id: str = ""
    field: str = ""
    value: str = ""
    message: str = ""
    source: str = "transit"

    def to_dict(self) -> dict[str, str]:
        """The finding as a JSON-ready dict."""
        return asdict(self)

    def sort_key(self) -> tuple[int, str, str, str, str, str]:
        """Errors first, then by code, file, entity, field, value."""
        return (SEVERITIES.index(self.severity), self.code, self.file, self.entity_id,
                self.field, self.value)


def count_by_severity(findings: list[Finding]) -> dict[str, int]:
    """``{"error": n, "warning": n, "info": n}``."""
    counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        counts[f.severity] += 1
    return counts
