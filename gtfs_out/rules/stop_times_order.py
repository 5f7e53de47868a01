"""Stop times parse, come in pairs at the ends of a trip, and never go back in time."""

from __future__ import annotations

import itertools

import numpy as np

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import column, ordered_stop_times

_LIMIT = 200  # findings per code: enough to see the pattern of a broken feed


def check(feed: GtfsTables) -> list[Finding]:
    """Errors for bad times, missing end times and decreasing times; warnings for
    one-stop trips."""
    st = feed.get("stop_times")
    if st is None or st.empty or not {"trip_id", "stop_sequence"} <= set(st.columns):
        return []
    st = ordered_stop_times(st)
    trip = st["trip_id"].to_numpy()
    entity = (st["trip_id"] + "#" + column(st, "stop_sequence")).to_numpy()
    out: list[Finding] = []
    first = np.r_[True, trip[1:] != trip[:-1]]
    last = np.r_[trip[1:] != trip[:-1], True]
    for i in np.flatnonzero(first & last)[:_LIMIT]:
        out.append(Finding("trip_with_one_stop", "warning", "stop_times.txt", str(trip[i]),
                           message="a trip needs at least two stop times to be usable"))
    # interleave arrival, departure of each row into one time line per trip
    times = np.column_stack([st["_arr"].to_numpy(), st["_dep"].to_numpy()]).ravel()
    for k, name in enumerate(("arrival_time", "departure_time")):
        text = column(st, name).str.strip().to_numpy()
        blank = text == ""
        for i in np.flatnonzero(blank & (first | last))[:_LIMIT]:
            out.append(Finding("missing_trip_edge_time", "error", "stop_times.txt", entity[i],
                               name, "", "the first and last stop of a trip need times"))
        bad = ~blank & np.isnan(times[k::2])
        for i in np.flatnonzero(bad)[:_LIMIT]:
            out.append(Finding("invalid_time", "error", "stop_times.txt", entity[i], name,
                               text[i], "times are H:MM:SS or HH:MM:SS"))
    row_trip = np.repeat(trip, 2)
    # running maximum of known times within each trip, compared with each time
    n = times.size
    decreasing = np.zeros(n, dtype=bool)
    starts = np.flatnonzero(np.r_[True, row_trip[1:] != row_trip[:-1]])
    bounds = np.r_[starts, n]
    for a, b in itertools.pairwise(bounds):
        seg = times[a:b]
        known = np.where(np.isnan(seg), -np.inf, seg)
        prev_max = np.maximum.accumulate(np.r_[-np.inf, known[:-1]])
        decreasing[a:b] = ~np.isnan(seg) & (seg < prev_max)
    for j in np.flatnonzero(decreasing)[:_LIMIT]:
        i, name = j // 2, ("arrival_time", "departure_time")[j % 2]
        out.append(Finding("decreasing_stop_time", "error", "stop_times.txt", entity[i], name,
                           str(column(st, name).iloc[i]),
                           "a stop time is earlier than the one before it"))
    return out
