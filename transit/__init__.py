"""The core of the informal-transit toolkit.

Pure algorithms and plain data: traces -> dwells -> stops -> patterns -> timing, the
timetable and router, accessibility. No file I/O, no database, no HTTP: those live in
``gps_ingest``, ``gtfs_out`` and ``api``, which import this package (never the reverse).
"""

__version__ = "0.1.0"
