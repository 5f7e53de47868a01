"""feed_info.txt is present with a version and a date range in order."""

from __future__ import annotations

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import column


def check(feed: GtfsTables) -> list[Finding]:
    """Warnings for a missing file or missing recommended fields; an error for
    reversed dates."""
    info = feed.get("feed_info")
    if info is None or info.empty:
        return [Finding("missing_feed_info", "warning", "feed_info.txt",
                        message="feed_info.txt tells users who publishes the feed and "
                                "which version it is")]
    out: list[Finding] = []
    for col in ("feed_version", "feed_start_date", "feed_end_date"):
        if column(info, col).iloc[0].strip() == "":
            out.append(Finding("missing_recommended_field", "warning", "feed_info.txt",
                               "row 2", col, "", f"{col} is recommended"))
    start, end = column(info, "feed_start_date").iloc[0], column(info, "feed_end_date").iloc[0]
    if start.strip() and end.strip() and end < start:
        out.append(Finding("start_and_end_range_out_of_order", "error", "feed_info.txt",
                           "row 2", "feed_end_date", end, "feed_end_date is before start"))
    if len(info) > 1:
        out.append(Finding("more_than_one_entity", "error", "feed_info.txt",
                           message="feed_info.txt must have exactly one row"))
    return out
