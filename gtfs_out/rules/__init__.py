"""One validation rule per module; each exposes ``check(feed) -> list[Finding]``.

:data:`RULES` lists them in the order :func:`gtfs_out.validate.validate_tables` runs them.
"""

from __future__ import annotations

from collections.abc import Callable

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules import (  # the rule modules, one per rule
    calendar_dates,
    coordinates,
    duplicate_keys,
    fast_travel,
    feed_info,
    frequencies,
    references,
    required_fields,
    route_names,
    stop_far_from_shape,
    stop_times_order,
    stops_too_close,
    unused_entities,
)

Rule = Callable[[GtfsTables], list[Finding]]

#: Every rule, by name (the module name).
RULES: dict[str, Rule] = {
    "required_fields": required_fields.check,
    "duplicate_keys": duplicate_keys.check,
    "references": references.check,
    "coordinates": coordinates.check,
    "stop_times_order": stop_times_order.check,
    "frequencies": frequencies.check,
    "calendar_dates": calendar_dates.check,
    "feed_info": feed_info.check,
    "route_names": route_names.check,
    "stops_too_close": stops_too_close.check,
    "fast_travel": fast_travel.check,
    "stop_far_from_shape": stop_far_from_shape.check,
    "unused_entities": unused_entities.check,
}

__all__ = ["RULES", "Rule"]
