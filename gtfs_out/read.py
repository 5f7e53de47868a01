"""Read a GTFS feed (zip or folder) into plain tables of strings.

Parsing is thin on purpose: every file becomes a ``pandas.DataFrame`` of ``str`` columns
(no type guessing, empty cells are ``""``), keyed by file stem (``"stops"``,
``"stop_times"``...). Typed structures are built from these by pure functions in
``transit`` (e.g. the timetable).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from transit.errors import FeedError

__all__ = ["GtfsTables", "feed_sha256", "read_feed"]

REQUIRED_FILES = ("agency", "stops", "routes", "trips", "stop_times")


@dataclass(frozen=True)
class GtfsTables:
    """The files of one feed as string tables, and the feed's content hash."""

    tables: dict[str, pd.DataFrame]
    sha256: str
    source: str

    def get(self, name: str) -> pd.DataFrame | None:
        """The table of ``name.txt`` or None when the feed has no such file."""
        return self.tables.get(name)

    def __getitem__(self, name: str) -> pd.DataFrame:
        try:
            return self.tables[name]
        except KeyError:
            raise FeedError(f"the feed has no {name}.txt", where=self.source,
                            fix=f"add {name}.txt to the feed") from None

    def __contains__(self, name: object) -> bool:
        return name in self.tables


def feed_sha256(path: str | Path) -> str:
    """sha256 of a feed's bytes (a zip) or of its sorted ``*.txt`` files (a folder)."""
    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        for f in sorted(p.glob("*.txt")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    else:
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _parse(name: str, data: bytes, source: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                            na_values=[], encoding="utf-8-sig", skipinitialspace=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FeedError(f"{name} is not a readable CSV file ({exc})", where=source,
                        fix="export the file as UTF-8 CSV with a header row") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def read_feed(path: str | Path) -> GtfsTables:
    """Read every ``*.txt`` table of a GTFS zip or folder.

    Raises
    ------
    FeedError
        When the path is missing, not a zip or folder, or lacks a required file.
    """
    p = Path(path)
    source = str(p)
    if not p.exists():
        raise FeedError("no such file or folder", where=source, fix="give the path of a GTFS zip")
    raw: dict[str, bytes] = {}
    if p.is_dir():
        for f in sorted(p.glob("*.txt")):
            raw[f.stem] = f.read_bytes()
    else:
        try:
            with zipfile.ZipFile(p) as zf:
                for info in zf.infolist():
                    name = info.filename.rsplit("/", 1)[-1]
                    if name.endswith(".txt") and not info.is_dir():
                        raw[name[:-4]] = zf.read(info)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise FeedError(f"not a readable zip file ({exc})", where=source,
                            fix="give a GTFS .zip or a folder of .txt files") from None
    missing = [f"{n}.txt" for n in REQUIRED_FILES if n not in raw]
    if missing:
        raise FeedError(f"missing required file(s) {', '.join(missing)}", where=source,
                        fix="a GTFS feed needs agency, stops, routes, trips and stop_times")
    tables = {name: _parse(f"{name}.txt", data, source) for name, data in raw.items()}
    return GtfsTables(tables=tables, sha256=feed_sha256(p), source=source)
