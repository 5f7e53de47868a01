"""Peer worker (runs in bench/.peers/venv-make-gtfs): build a feed with make-gtfs 5.

Request JSON: {"protofeed_dir": ..., "out_zip": ...}. Prints one JSON line with the time
to read the protofeed and build + write the feed, and the sizes of the result.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import make_gtfs


def main() -> None:
    request = json.loads(Path(sys.argv[1]).read_text())
    t0 = time.perf_counter()
    pfeed = make_gtfs.read_protofeed(request["protofeed_dir"])
    t1 = time.perf_counter()
    feed = make_gtfs.build_feed(pfeed)
    t2 = time.perf_counter()
    feed.to_file(request["out_zip"])
    t3 = time.perf_counter()
    print(json.dumps({"read_s": t1 - t0, "build_s": t2 - t1, "write_s": t3 - t2,
                      "trips": len(feed.trips), "stop_times": len(feed.stop_times),
                      "bytes": Path(request["out_zip"]).stat().st_size}))


if __name__ == "__main__":
    main()
