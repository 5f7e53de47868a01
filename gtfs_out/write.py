"""Write a :class:`transit.model.Network` as a GTFS zip: deterministic and atomic.

Same network, same bytes: the rows come from :func:`gtfs_out.tables.build_feed_rows`
(fixed file and column order, sorted rows, stable number formatting); the zip entries
carry a fixed timestamp (1980-01-01 00:00:00, the zip epoch), fixed permissions (0644,
Unix) and deflate level 9. The zip is first written to a temporary file in the target
folder and then moved over the target with :func:`os.replace`, so a reader never sees a
half-written feed and a failure leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from pathlib import Path

from gtfs_out.tables import FeedRows, build_feed_rows
from transit.errors import BuildError, InputError
from transit.model import Network

__all__ = ["ZIP_DATE_TIME", "feed_bytes", "write_feed", "write_rows"]

#: Timestamp of every zip entry (the earliest a zip can hold).
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644  # regular file, rw-r--r--


def _csv_bytes(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def write_rows(rows: FeedRows, fh: io.BufferedIOBase | io.BytesIO) -> None:
    """Write ``rows`` (from :func:`build_feed_rows`) as a deterministic zip to ``fh``."""
    with zipfile.ZipFile(fh, "w") as zf:
        for name, (header, body) in rows.items():
            info = zipfile.ZipInfo(f"{name}.txt", date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so external_attr means what it says
            info.external_attr = _FILE_MODE << 16
            zf.writestr(info, _csv_bytes(header, body), compresslevel=9)


def feed_bytes(network: Network, *, where: str = "the built network") -> bytes:
    """The GTFS zip of ``network`` as bytes (what :func:`write_feed` writes).

    Raises
    ------
    BuildError
        When the network has no schedulable pattern (the feed would have no trips).
    """
    rows = build_feed_rows(network)
    if not rows["trips"][1]:
        raise BuildError("nothing to publish: no pattern has two stops and a timed band",
                         where=where,
                         fix="build from traces that ride at least one route end to end")
    buf = io.BytesIO()
    write_rows(rows, buf)
    return buf.getvalue()


def write_feed(network: Network, path: str | Path) -> Path:
    """Write ``network`` as a GTFS zip at ``path``, atomically; return the path.

    Parameters
    ----------
    network
        The network to publish (see :mod:`gtfs_out.tables` for how it maps to GTFS).
    path
        Target ``.zip`` file. Its folder must exist; an existing file is replaced.

    Raises
    ------
    InputError
        When ``path`` is a folder or its folder is missing or not writable; nothing is
        left behind.
    BuildError
        When the network has no schedulable pattern (the feed would have no trips).
    """
    target = Path(path)
    if target.is_dir():
        raise InputError("the feed path is a folder", where=str(target),
                         fix="give a file name such as feed.zip")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("the folder of the feed path does not exist", where=str(target),
                         fix=f"create {folder} first or write elsewhere")
    data = feed_bytes(network, where=str(target))
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write the feed ({exc.strerror})", where=str(target),
                         fix="choose a folder you can write to") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the feed ({exc.strerror})", where=str(target),
                         fix="choose a path you can write to") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
