"""A small synthetic feed and square districts with known geometry, for the access tests.

Stops lie on the equator every 0.02 degrees of longitude (~2.2 km); one route runs both
ways every 10 minutes from 06:00 to 10:00 (headway-based, so draws matter), 3 minutes per
hop. Two square districts sit over the line's two ends, a third one off to the north.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from shapely.geometry import box

from tests.router_reference import tables_from_text
from transit.timetable import Timetable, build_timetable

DAY = dt.date(2024, 1, 10)

STOP_LON = (0.00, 0.02, 0.04, 0.06, 0.08, 0.10)


def feed_text() -> dict[str, str]:
    """The feed as file stem -> CSV text."""
    stops = "\n".join(f"S{i},Stop {i},0.0,{lon}" for i, lon in enumerate(STOP_LON))
    rows_out = "\n".join(f"OUT,06:{3 * i:02d}:00,06:{3 * i:02d}:00,S{i},{i + 1}"
                         for i in range(len(STOP_LON)))
    rows_back = "\n".join(
        f"BACK,06:{3 * i:02d}:00,06:{3 * i:02d}:00,S{len(STOP_LON) - 1 - i},{i + 1}"
        for i in range(len(STOP_LON)))
    return {
        "agency": "agency_id,agency_name,agency_url,agency_timezone\nA,A,http://a,UTC",
        "calendar": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                    "start_date,end_date\nALL,1,1,1,1,1,1,1,20240101,20240131",
        "stops": "stop_id,stop_name,stop_lat,stop_lon\n" + stops,
        "routes": "route_id,route_short_name,route_type\nR1,1,3",
        "trips": "route_id,service_id,trip_id,shape_id\nR1,ALL,OUT,SH1\nR1,ALL,BACK,SH1",
        "stop_times": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                      + rows_out + "\n" + rows_back,
        "frequencies": "trip_id,start_time,end_time,headway_secs,exact_times\n"
                       "OUT,06:00:00,10:00:00,600,0\nBACK,06:00:00,10:00:00,600,0",
        "shapes": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
                  "SH1,0.0,0.0,1\nSH1,0.0,0.1,2",
    }


def tables() -> dict:
    """String tables like :func:`gtfs_out.read.read_feed`."""
    return tables_from_text(feed_text())


def timetable() -> Timetable:
    """The synthetic feed's timetable on :data:`DAY`."""
    return build_timetable(tables(), DAY)


#: West end, east end (over the line) and a district north of the line (no stop nearby).
DISTRICTS = (box(-0.004, -0.004, 0.012, 0.004), box(0.088, -0.004, 0.104, 0.004),
             box(0.04, 0.05, 0.05, 0.06))
POPULATION = np.array([1000.0, 3000.0, 500.0])
NAMES = ("West", "East", "North")

#: Opportunity points: clinics near both ends and the middle, one hospital at the east end.
CLINIC_LAT = np.array([0.001, -0.001, 0.002, 0.0005])
CLINIC_LON = np.array([0.002, 0.041, 0.079, 0.099])
HOSPITAL_LAT = np.array([0.0015])
HOSPITAL_LON = np.array([0.1005])
