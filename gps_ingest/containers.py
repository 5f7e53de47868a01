"""Open what a field team uploads: plain files, ``.gz`` and ``.zip``, safely.

Compressed inputs are streamed, never expanded into memory at once, and guarded against
zip bombs: a member's declared expansion ratio and the total expanded size are checked
before reading, and the bytes actually read are counted while streaming (a zip can lie
about its sizes).
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from transit.errors import FormatError, TooLargeError

__all__ = ["Limits", "Member", "guard", "iter_members", "peek", "sniff_container"]

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits for one upload.

    ``max_expanded_bytes`` bounds what a compressed file may expand to (all members);
    ``max_ratio`` bounds one member's expansion ratio (text compresses ~5-20x; bombs
    1000x+).
    """

    max_expanded_bytes: int = 8 * 1024**3
    max_ratio: float = 200.0
    #: GeoJSON is parsed whole (json): files over this are refused, not read into memory.
    max_geojson_bytes: int = 1024**3


@dataclass(frozen=True, slots=True)
class Member:
    """One readable stream inside an upload, with a name for messages."""

    name: str
    stream: BinaryIO
    #: True when the member is one of several files in a zip (trace keys may collide).
    one_of_many: bool = False


def sniff_container(head: bytes) -> str:
    """``"zip"``, ``"gzip"`` or ``"plain"`` from the first bytes."""
    if head.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        return "zip"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    return "plain"


class _CountingReader(io.RawIOBase):
    """Counts bytes read from ``inner`` and stops past ``limit``."""

    def __init__(self, inner: BinaryIO, limit: int, where: str, what: str, fix: str) -> None:
        self._inner = inner
        self._limit = limit
        self._where = where
        self._what = what
        self._fix = fix
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer)
        try:
            data = self._inner.read(len(view))
        except (EOFError, zlib.error, zipfile.BadZipFile, gzip.BadGzipFile, OSError) as exc:
            raise FormatError(f"the compressed data is truncated or corrupt ({exc})",
                              where=self._where,
                              fix="upload the original file again; check the copy is complete"
                              ) from None
        n = len(data)
        self.count += n
        if self.count > self._limit:
            raise TooLargeError(self._what.format(limit=self._limit), where=self._where,
                                fix=self._fix)
        view[:n] = data
        return n


class _Prefixed(io.RawIOBase):
    """``head`` followed by the rest of ``inner``: a peeked stream made whole again."""

    def __init__(self, head: bytes, inner: BinaryIO) -> None:
        self._head = memoryview(head)
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer)
        if len(self._head):
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._inner.read(len(view))
        view[: len(data)] = data
        return len(data)


def peek(stream: BinaryIO, size: int = 64 * 1024) -> tuple[bytes, BinaryIO]:
    """The first ``size`` bytes of ``stream`` and a stream that still starts at byte 0.

    Seekable streams are rewound; others (zip members, gzip, sockets) are wrapped.
    """
    head = stream.read(size)
    if stream.seekable():
        stream.seek(0)
        return head, stream
    return head, io.BufferedReader(_Prefixed(head, stream), buffer_size=1 << 20)


_BOMB = "expands to more than {limit:,} bytes (possible zip bomb)"
_BOMB_FIX = "split the upload into smaller files or raise the expansion limit"


def guard(stream: BinaryIO, limit: int, where: str, *, what: str = _BOMB,
          fix: str = _BOMB_FIX) -> BinaryIO:
    """``stream`` read through a counter that raises :class:`TooLargeError` past ``limit``
    bytes (``what`` may use ``{limit}``)."""
    counter = _CountingReader(stream, limit, where, what, fix)
    return io.BufferedReader(counter, buffer_size=1 << 20)


def iter_members(stream: BinaryIO, *, source: str, limits: Limits = Limits()) -> Iterator[Member]:
    """Yield the readable streams of an upload: itself, its gunzipped content, or each
    file of a zip (folders, hidden files and ``__MACOSX`` entries skipped, names sorted).

    Raises
    ------
    FormatError
        A corrupt or truncated container, or a zip with no files.
    TooLargeError
        A member whose declared or actual expansion exceeds ``limits``.
    """
    head, stream = peek(stream, 4)
    kind = sniff_container(head)
    if kind == "plain":
        yield Member(source, stream)
        return
    if kind == "gzip":
        inner = gzip.GzipFile(fileobj=stream, mode="rb")
        name = source[:-3] if source.endswith(".gz") else source
        yield Member(name, guard(inner, limits.max_expanded_bytes, source))  # type: ignore[arg-type]
        return
    try:
        archive = zipfile.ZipFile(stream)
        infos = [i for i in archive.infolist() if not i.is_dir()
                 and not i.filename.startswith("__MACOSX/")
                 and not i.filename.rsplit("/", 1)[-1].startswith(".")]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FormatError(f"not a readable zip file ({exc})", where=source,
                          fix="upload the original .zip again, or the files inside it") from None
    if not infos:
        raise FormatError("the zip holds no files", where=source,
                          fix="put the trace files (CSV, GPX, GeoJSON) inside the zip")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_expanded_bytes:
        raise TooLargeError(f"the zip declares {declared:,} bytes of content, over the limit "
                            f"of {limits.max_expanded_bytes:,}", where=source,
                            fix="split the upload into smaller zips")
    for info in sorted(infos, key=lambda i: i.filename):
        where = f"{source}:{info.filename}"
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024**2 and ratio > limits.max_ratio:
            raise TooLargeError(f"expands {ratio:,.0f}x (over the limit of "
                                f"{limits.max_ratio:,.0f}x; possible zip bomb)", where=where,
                                fix="upload the uncompressed file or a normally compressed zip")
        try:
            member = archive.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            raise FormatError(f"cannot open the zip entry ({exc})", where=where,
                              fix="re-create the zip without encryption, using deflate") from None
        limit = min(limits.max_expanded_bytes, info.file_size + 1)
        yield Member(where, guard(member, limit, where), len(infos) > 1)  # type: ignore[arg-type]
