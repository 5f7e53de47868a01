"""Planners and apps: ``GET /journeys?from=lat,lon&to=lat,lon&depart=07:30&window=60``.

Routes on the published feed's timetable (loaded once, swapped atomically on
publication); the answer is a travel-time distribution over the departure window and
Monte Carlo draws of headway offsets, with one representative itinerary.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api.deps import QueryCaller, Services, ServicesDep
from api.problems import PROBLEM_JSON
from api.schemas import JourneyOut
from api.timetables import QUERY_SEED, LoadedFeed, check_day
from transit.errors import InputError
from transit.geo import parse_latlon
from transit.gtfs_time import parse_clock_s
from transit.journeys import plan_journey

router = APIRouter(tags=["queries"])

QUERY_PROBLEMS: dict[int | str, dict[str, object]] = {
    code: {"content": {PROBLEM_JSON: {}}, "description": text} for code, text in (
        (400, "Bad coordinates, time or date; or a point outside the feed's area"),
        (401, "No or unknown key"), (403, "Wrong role"), (404, "No feed published yet"),
        (422, "Malformed query"))}


def parse_point(text: str, name: str) -> tuple[float, float]:
    """``"lat,lon"`` in degrees -> ``(lat, lon)``; :class:`InputError` otherwise."""
    return parse_latlon(text, name)


def parse_clock(text: str, name: str = "depart") -> int:
    """``"HH:MM"`` or ``"HH:MM:SS"`` (hours up to 47) -> seconds since service-day midnight."""
    try:
        value = parse_clock_s(text)
    except InputError:
        value = -1
    if not 0 <= value < 48 * 3600:
        raise InputError(f"{name}={text!r} is not a clock time", where=name,
                         fix="give HH:MM, e.g. 07:30 (hours may exceed 23 for after midnight)")
    return value


def query_feed(services: Services, window: int, date: dt.date | None,
               draws: int | None) -> tuple[LoadedFeed, int]:
    """The published feed a window query runs on, and its draws (the setting by default).

    Refuses a window over the configured limit and a day the feed does not serve.
    """
    settings = services.settings
    if window > settings.max_window_min:
        raise InputError(f"window={window} min is over the limit of "
                         f"{settings.max_window_min} min", where="window",
                         fix="ask for a shorter window")
    loaded = services.holder.current
    if date is not None:
        check_day(loaded, date)
    return loaded, draws or settings.draws


@router.get("/journeys", response_model=JourneyOut, responses=QUERY_PROBLEMS)
async def journeys(
    services: ServicesDep, caller: QueryCaller,
    origin: Annotated[str, Query(alias="from", max_length=64, description="Origin LAT,LON",
                                 examples=["5.3167,-4.0333"])],
    destination: Annotated[str, Query(alias="to", max_length=64,
                                      description="Destination LAT,LON")],
    depart: Annotated[str, Query(max_length=16, description="First departure HH:MM")] = "07:30",
    window: Annotated[int, Query(ge=0, le=24 * 60,
                                 description="Departures every minute over this many "
                                             "minutes")] = 60,
    date: Annotated[dt.date | None, Query(description="Service day (default: the feed's "
                                                      "default day)")] = None,
    draws: Annotated[int | None, Query(ge=1, le=50, description="Monte Carlo draws of "
                                                                "headway offsets")] = None,
) -> Response:
    """Door-to-door travel time percentiles and one itinerary on the published feed."""
    a = parse_point(origin, "from")
    b = parse_point(destination, "to")
    depart_s = parse_clock(depart)
    loaded, n_draws = query_feed(services, window, date, draws)
    # answers are kept as encoded bytes: a repeated question is answered on the event
    # loop from a dictionary; a new one is routed in the thread pool
    key = ("journey", date or loaded.default_date, a, b, depart_s, window, n_draws)
    body = loaded.cached(key)
    if body is None:
        body = await run_in_threadpool(loaded.answer, key, lambda: _plan(
            loaded, date, a, b, depart_s, window, n_draws))
    return Response(body, media_type="application/json")


def _plan(loaded: LoadedFeed, date: dt.date | None, a: tuple[float, float],
          b: tuple[float, float], depart_s: int, window: int, n_draws: int) -> bytes:
    tt = loaded.timetable(date)
    with loaded.state(tt) as state:
        result = plan_journey(tt, a, b, depart_s, window_s=window * 60, draws=n_draws,
                              seed=QUERY_SEED, state=state,
                              offsets_s=loaded.offsets(tt, n_draws))
    out = JourneyOut(feed_version=loaded.feed.version, service_date=tt.service_date,
                     **result.as_dict())  # type: ignore[arg-type]
    return out.model_dump_json().encode()
