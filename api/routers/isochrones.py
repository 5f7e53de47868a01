"""``GET /isochrones?from=lat,lon&depart=07:30&window=60&minutes=15,30,45,60``: areas
reachable within each threshold, as GeoJSON polygons (one feature per threshold)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import QueryCaller, ServicesDep
from api.routers.journeys import QUERY_PROBLEMS, parse_clock, parse_point, query_feed
from transit.errors import InputError
from transit.isochrone import build_isochrones, isochrone_features, stop_percentile_s
from transit.journeys import clock_text
from transit.one_to_all import check_in_area, travel_times_to_stops

router = APIRouter(tags=["queries"])

#: Most thresholds per request.
MAX_THRESHOLDS = 12


def parse_minutes(text: str) -> list[int]:
    """``"15,30,45"`` -> ``[15, 30, 45]``; each in 1..240 minutes."""
    try:
        values = sorted({int(m) for m in text.split(",") if m.strip()})
    except ValueError:
        raise InputError(f"minutes={text!r} is not a list of minutes", where="minutes",
                         fix="write e.g. 15,30,45,60") from None
    if not values or len(values) > MAX_THRESHOLDS or values[0] < 1 or values[-1] > 240:
        raise InputError(f"minutes={text!r}", where="minutes",
                         fix=f"give 1 to {MAX_THRESHOLDS} thresholds from 1 to 240 minutes")
    return values


@router.get("/isochrones", responses={
    200: {"content": {"application/geo+json": {}},
          "description": "GeoJSON FeatureCollection, one feature per threshold"},
    **QUERY_PROBLEMS})
def isochrones(
    services: ServicesDep, caller: QueryCaller,
    origin: Annotated[str, Query(alias="from", max_length=64, description="Origin LAT,LON")],
    depart: Annotated[str, Query(max_length=16, description="First departure HH:MM")] = "07:30",
    window: Annotated[int, Query(ge=0, le=24 * 60, description="Departure window (min)")] = 60,
    minutes: Annotated[str, Query(max_length=64,
                                  description="Thresholds in minutes")] = "15,30,45,60",
    percentile: Annotated[float, Query(ge=0, le=100, description="Percentile of travel "
                                                                 "time per place")] = 50,
    date: Annotated[dt.date | None, Query(description="Service day")] = None,
    draws: Annotated[int | None, Query(ge=1, le=50, description="Monte Carlo draws")] = None,
) -> Response:
    """Polygons reachable from ``from`` within each threshold (WGS84 GeoJSON)."""
    start = parse_point(origin, "from")
    depart_s = parse_clock(depart)
    limits = parse_minutes(minutes)
    loaded, n_draws = query_feed(services, window, date, draws)
    tt = loaded.timetable(date)
    check_in_area(tt, *start, what="from")

    def compute() -> bytes:
        with loaded.state(tt) as state:
            samples = travel_times_to_stops(tt, state, *start, depart_s, window * 60,
                                            offsets_s=loaded.offsets(tt, n_draws),
                                            max_duration_s=60 * max(limits))
        polygons = build_isochrones(tt, *start, stop_percentile_s(samples, percentile),
                                    limits)
        props = {"percentile": percentile, "depart": clock_text(depart_s),
                 "window_min": window, "draws": n_draws, "date": tt.service_date.isoformat(),
                 "origin": [start[0], start[1]], "feed_version": loaded.feed.version}
        return json.dumps(isochrone_features(polygons, props)).encode()

    body = loaded.answer(("isochrones", tt.service_date, start, depart_s, window,
                          tuple(limits), percentile, n_draws), compute)
    return Response(body, media_type="application/geo+json")
