"""frequencies.txt windows are well formed and do not overlap for one trip."""

from __future__ import annotations

import itertools

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import column, parse_clock

#: Headways above this are legal but unusual for minibuses (seconds).
LONG_HEADWAY_S = 2 * 3600


def check(feed: GtfsTables) -> list[Finding]:
    """Errors for bad times, empty windows, non-positive headways, bad exact_times and
    overlapping windows; info for very long headways."""
    freq = feed.get("frequencies")
    if freq is None or freq.empty or "trip_id" not in freq.columns:
        return []
    out: list[Finding] = []
    windows: dict[str, list[tuple[int, int]]] = {}
    starts, ends = column(freq, "start_time"), column(freq, "end_time")
    heads, exact = column(freq, "headway_secs"), column(freq, "exact_times")
    for i, trip_id in enumerate(column(freq, "trip_id")):
        entity = f"{trip_id}@{starts.iloc[i]}"
        start, end = parse_clock(starts.iloc[i]), parse_clock(ends.iloc[i])
        if start is None or end is None:
            out.append(Finding("invalid_time", "error", "frequencies.txt", entity,
                               "start_time,end_time", f"{starts.iloc[i]},{ends.iloc[i]}",
                               "times are H:MM:SS or HH:MM:SS"))
            continue
        if end <= start:
            out.append(Finding("empty_frequency_window", "error", "frequencies.txt", entity,
                               "end_time", ends.iloc[i], "end_time must be after start_time"))
        head_txt = heads.iloc[i].strip()
        if not head_txt.isdigit() or int(head_txt) <= 0:
            out.append(Finding("invalid_headway", "error", "frequencies.txt", entity,
                               "headway_secs", head_txt, "headway_secs is a positive integer"))
        elif int(head_txt) > LONG_HEADWAY_S:
            out.append(Finding("long_headway", "info", "frequencies.txt", entity,
                               "headway_secs", head_txt, "a headway above two hours"))
        if exact.iloc[i].strip() not in ("", "0", "1"):
            out.append(Finding("invalid_exact_times", "error", "frequencies.txt", entity,
                               "exact_times", exact.iloc[i], "exact_times is 0, 1 or empty"))
        windows.setdefault(trip_id, []).append((start, end))
    for trip_id in sorted(windows):
        spans = sorted(windows[trip_id])
        for (_s0, e0), (s1, _) in itertools.pairwise(spans):
            if s1 < e0:
                out.append(Finding("overlapping_frequency", "error", "frequencies.txt", trip_id,
                                   "start_time", str(s1),
                                   f"window starting at {s1} s overlaps one ending at {e0} s"))
    return out
