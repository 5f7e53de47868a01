"""Plain data for the network the builder infers and the GTFS writer emits.

Names follow GTFS column names verbatim where one exists (``stop_id``, ``stop_lat``,
``route_short_name``, ``direction_id``...). Clock times are integer seconds since
service-day midnight (``_s``, may exceed 24 h); durations are integer seconds (``_s``).
Everything is frozen: the builder produces a :class:`Network`, the writer only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DEFAULT_TIME_BANDS",
    "BandTiming",
    "HeadwaySource",
    "Network",
    "Pattern",
    "Route",
    "Shape",
    "Stop",
    "TimeBand",
]

HeadwaySource = Literal["observed", "given", "assumed"]


@dataclass(frozen=True, slots=True)
class TimeBand:
    """A named part of the service day, ``[start_s, end_s)`` in clock seconds."""

    name: str
    start_s: int
    end_s: int

    def contains(self, clock_s: int) -> bool:
        """True when ``clock_s`` (seconds since midnight) falls in the band."""
        return self.start_s <= clock_s < self.end_s


#: The default service day, split where minibus run times and headways usually change.
DEFAULT_TIME_BANDS: tuple[TimeBand, ...] = (
    TimeBand("early", 5 * 3600, 7 * 3600),
    TimeBand("am_peak", 7 * 3600, 9 * 3600),
    TimeBand("midday", 9 * 3600, 16 * 3600),
    TimeBand("pm_peak", 16 * 3600, 19 * 3600),
    TimeBand("evening", 19 * 3600, 22 * 3600),
)


@dataclass(frozen=True, slots=True)
class Stop:
    """A stop inferred from dwells of many traces (or marked by a field team).

    ``support_traces`` counts distinct traces that dwelt here; ``confidence`` is in [0, 1];
    ``heading_deg`` is the direction of travel of the vehicles serving it (0 = north,
    clockwise), so stops on opposite sides of a road stay apart; ``name_source`` tells
    whether ``stop_name`` came from a field-marked name or was generated.
    """

    stop_id: str
    stop_name: str
    stop_lat: float
    stop_lon: float
    support_traces: int = 0
    confidence: float = 1.0
    heading_deg: float | None = None
    name_source: Literal["field", "generated", "feed"] = "generated"


@dataclass(frozen=True, slots=True)
class Shape:
    """A vehicle path as parallel latitude/longitude tuples (WGS84 degrees), in order."""

    shape_id: str
    lat: tuple[float, ...]
    lon: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class BandTiming:
    """Timing of one pattern in one time band.

    ``run_times_s[i]`` is the in-motion time from stop ``i`` to stop ``i + 1``;
    ``dwell_s[i]`` the time spent at stop ``i``. ``headway_s`` is the mean time between
    departures in the band; ``headway_source`` says whether it was observed in the traces,
    given by the user (frequencies CSV) or assumed (documented default).
    ``n_observations`` counts the trip segments the run times come from (0 = borrowed from
    another band or assumed).
    """

    band: str
    start_s: int
    end_s: int
    run_times_s: tuple[int, ...]
    dwell_s: tuple[int, ...]
    headway_s: int
    headway_source: HeadwaySource = "assumed"
    n_observations: int = 0
    times_estimated: bool = True


@dataclass(frozen=True, slots=True)
class Pattern:
    """An ordered stop sequence served by one route in one direction.

    ``support_traces`` counts the trip segments matched to it.
    """

    pattern_id: str
    route_id: str
    direction_id: int
    stop_ids: tuple[str, ...]
    shape_id: str | None
    timings: tuple[BandTiming, ...] = ()
    support_traces: int = 0


@dataclass(frozen=True, slots=True)
class Route:
    """A route: one or two directions of patterns under one public name.

    ``route_type`` 3 is bus (the GTFS code for minibuses too). ``continuous_pickup`` /
    ``continuous_drop_off``: 0 = hail-and-ride anywhere along the shape, 1 = stops only
    (GTFS semantics); None omits the column.
    """

    route_id: str
    route_short_name: str
    route_long_name: str = ""
    route_type: int = 3
    continuous_pickup: int | None = None
    continuous_drop_off: int | None = None


@dataclass(frozen=True, slots=True)
class Network:
    """Everything the builder inferred; the GTFS writer's only input.

    ``start_date``/``end_date`` are ``YYYYMMDD`` service dates; ``feed_version`` a string
    derived from the content so the same build gives the same version.
    """

    agency_name: str
    agency_url: str
    agency_timezone: str
    stops: tuple[Stop, ...]
    routes: tuple[Route, ...]
    patterns: tuple[Pattern, ...]
    shapes: tuple[Shape, ...]
    start_date: str
    end_date: str
    feed_version: str
    feed_lang: str = "en"
    feed_publisher_name: str = ""
    feed_publisher_url: str = ""
    agency_id: str = "1"
    extra: dict[str, str] = field(default_factory=dict)
