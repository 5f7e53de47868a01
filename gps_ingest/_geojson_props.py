"""The property vocabulary of GeoJSON traces: which keys mean time, trace, device,
accuracy, speed, altitude, name, route, vehicle, and which Points are field stops.

Private to :mod:`gps_ingest.geojson`. Keys are matched after lower-casing (see
:func:`lower_keys`); the first key of each tuple that is present and not empty wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from gps_ingest._assemble import HDOP_TO_ACCURACY_M, optional_number

__all__ = [
    "DEVICE_KEYS", "LINE_TIME_KEYS", "NAME_KEYS", "ROUTE_KEYS", "STOP_FLAG_KEYS",
    "STOP_TYPES", "STOP_TYPE_KEYS", "TIME_KEYS", "TRACE_KEYS", "VEHICLE_KEYS",
    "count_value", "is_stop", "is_timed_line", "lookup", "lower_keys", "per_vertex",
    "point_extras", "text_value", "vehicle_type",
]

TIME_KEYS = ("time", "timestamp", "datetime", "date_time", "time_utc", "timestamp_utc",
             "utc_time", "gps_time", "recorded_at", "time_ms")
TRACE_KEYS = ("trace_id", "track_id", "trip_id", "trace", "track", "trip", "session_id",
              "ride_id", "run_id")
DEVICE_KEYS = ("device_id", "imei", "unit_id", "device", "deviceid", "phone_id")
NAME_KEYS = ("name", "title", "label")
ROUTE_KEYS = ("route_name", "route", "line", "route_short_name", "desc")
VEHICLE_KEYS = ("vehicle_type", "mode", "vehicle")
LINE_TIME_KEYS = ("coordtimes", "times", "coord_times", "timestamps")
STOP_FLAG_KEYS = ("stop", "is_stop", "marker")
STOP_TYPE_KEYS = ("type", "kind", "category", "feature_type")
STOP_TYPES = frozenset({"stop", "waypoint", "wpt", "marker", "field_stop"})


def vehicle_type(props: Mapping[str, object]) -> str | None:
    """``vehicle_type``/``mode``/``vehicle``, else a ``type`` that is not a stop marker
    (togeojson writes GPX ``<type>`` there)."""
    named = text_value(lookup(props, VEHICLE_KEYS))
    if named is not None:
        return named
    kind = text_value(props.get("type"))
    return kind if kind is not None and kind.lower() not in STOP_TYPES else None


def text_value(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def is_timed_line(feature: object) -> bool:
    if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
        return False
    props = feature.get("properties")
    return (feature["geometry"].get("type") in ("LineString", "MultiLineString", "MultiPoint")
            and isinstance(props, dict)
            and lookup(lower_keys(props), LINE_TIME_KEYS) is not None)


def is_stop(props: Mapping[str, object], has_time: bool, lines_have_times: bool) -> bool:
    for key in STOP_FLAG_KEYS:
        value = props.get(key)
        if value is not None and value is not False and str(value).strip().lower() not in (
                "", "0", "false", "no"):
            return True
    for key in STOP_TYPE_KEYS:
        value = props.get(key)
        if isinstance(value, str) and value.strip().lower() in STOP_TYPES:
            return True
    if text_value(lookup(props, NAME_KEYS)) is None:
        return False
    return not has_time or (lines_have_times and lookup(props, TRACE_KEYS) is None)


def count_value(value: object) -> int | None:
    number = optional_number(value)
    return int(number) if number == number and number >= 0 else None


def point_extras(props: Mapping[str, object], coords: object) -> tuple[float, float, float]:
    """(accuracy_m, speed_mps, altitude_m) of a Point feature; NaN where absent."""
    accuracy_m = optional_number(lookup(props, ("accuracy_m", "accuracy", "hacc",
                                                "horizontal_accuracy")))
    if accuracy_m != accuracy_m:
        accuracy_m = optional_number(props.get("hdop")) * HDOP_TO_ACCURACY_M
    speed_mps = optional_number(lookup(props, ("speed_mps", "speed", "speed_m_s")))
    if speed_mps != speed_mps:
        speed_mps = optional_number(lookup(props, ("speed_kmh", "speed_kph"))) / 3.6
    altitude_m = np.nan
    if isinstance(coords, list) and len(coords) >= 3:
        altitude_m = optional_number(coords[2])
    if altitude_m != altitude_m:
        altitude_m = optional_number(lookup(props, ("altitude_m", "ele", "altitude",
                                                    "elevation", "alt")))
    return accuracy_m, speed_mps, altitude_m


def per_vertex(props: Mapping[str, object], keys: Sequence[str],
                n: int) -> NDArray[np.float64]:
    for key in keys:
        values = props.get(key)
        if isinstance(values, list) and len(values) == n:
            return np.array([optional_number(v) for v in values], dtype=np.float64)
    return np.full(n, np.nan)


def lower_keys(props: Mapping[str, object]) -> dict[str, object]:
    """Properties with lower-case keys (the first spelling wins on a clash)."""
    out: dict[str, object] = {}
    for key, value in props.items():
        out.setdefault(str(key).lower(), value)
    return out


def lookup(props: Mapping[str, object], keys: Sequence[str]) -> object:
    """The first of ``keys`` present with a non-null, non-empty value, else None."""
    for key in keys:
        value = props.get(key)
        if value is not None and value != "":
            return value
    return None
