"""Every route has a name and a known route_type."""

from __future__ import annotations

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import column

#: Basic GTFS route types plus the extended (Google) range 100-1702.
_BASIC_TYPES = {str(i) for i in (0, 1, 2, 3, 4, 5, 6, 7, 11, 12)}


def check(feed: GtfsTables) -> list[Finding]:
    """An error when both names are empty or the type is unknown."""
    routes = feed.get("routes")
    if routes is None or routes.empty:
        return []
    out: list[Finding] = []
    short, long_ = column(routes, "route_short_name"), column(routes, "route_long_name")
    types = column(routes, "route_type")
    for i, rid in enumerate(column(routes, "route_id")):
        if not short.iloc[i].strip() and not long_.iloc[i].strip():
            out.append(Finding("route_both_short_and_long_name_missing", "error", "routes.txt",
                               rid, "route_short_name", "",
                               "give the route the name riders use"))
        rtype = types.iloc[i].strip()
        if rtype and rtype not in _BASIC_TYPES and not (
                rtype.isdigit() and 100 <= int(rtype) <= 1702):
            out.append(Finding("invalid_route_type", "error", "routes.txt", rid, "route_type",
                               rtype, "route_type 3 is bus (minibuses included)"))
    return out
