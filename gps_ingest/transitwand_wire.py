"""Wire-format checks for TransitWand captures, without the protobuf runtime.

Protocol Buffers have no magic number, so telling a TransitWand capture from other bytes
means walking the encoding against the expected message layout (Protocol Buffers encoding
guide, "Message Structure": each field is a varint key ``field_number << 3 | wire_type``
followed by a varint, 4 or 8 fixed bytes, or a varint length and that many bytes).

The walk is strict where real captures are regular:

* every key must name a field of the message being walked, with that field's wire type
  (unknown fields reject: no published app version writes any);
* every message starts with its first required field (``unit_id`` for an Upload,
  ``start_time`` for a Route, ``lat`` for a Point or Stop), because every protobuf encoder
  writes fields in field-number order and the app always sets the required ones;
* strings must be valid UTF-8; nested lengths must fit inside their parent.

Text formats fail on the first byte or two: a CSV/GPX/GeoJSON file starts with a printable
character, which is neither ``0x08`` (the Upload's first key) nor a plausible length
followed by ``0x08``. Random bytes fail within a few fields. A walk that runs off the end
of the available bytes while everything so far fitted is reported as *truncated*: for a
file head that is expected, for a whole file it means the copy was cut short.
"""

from __future__ import annotations

import codecs
import sys
from dataclasses import dataclass
from enum import Enum

__all__ = ["WireLayout", "WireScan", "scan_transitwand"]

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_TEXT = "text"

# field number -> (wire type, nested layout | _TEXT | None)
_Layout = dict[int, tuple[int, object]]
_POINT: _Layout = {1: (_I32, None), 2: (_I32, None), 3: (_VARINT, None)}
_STOP: _Layout = {1: (_I32, None), 2: (_I32, None), 3: (_VARINT, None), 4: (_VARINT, None),
                  5: (_VARINT, None), 6: (_VARINT, None)}
_ROUTE: _Layout = {1: (_VARINT, None), 2: (_LEN, _POINT), 3: (_LEN, _STOP), 4: (_LEN, _TEXT),
                   5: (_LEN, _TEXT), 6: (_LEN, _TEXT), 7: (_LEN, _TEXT), 8: (_LEN, _TEXT)}
_UPLOAD: _Layout = {1: (_VARINT, None), 2: (_VARINT, None), 3: (_LEN, _ROUTE)}
_REQUIRED: dict[int, frozenset[int]] = {
    id(_POINT): frozenset({1, 2}),
    id(_STOP): frozenset({1, 2}),
    id(_ROUTE): frozenset({1}),
    id(_UPLOAD): frozenset({1, 2}),
}
#: Fewest fields a head must show before it is called a TransitWand capture.
MIN_FIELDS = 3


class WireLayout(Enum):
    """How the messages are laid out in a file."""

    UPLOAD = "upload"  # one serialized Upload message (what the app POSTs)
    DELIMITED = "delimited"  # varint length + Route, repeated (what the phone stores)


class _InvalidError(Exception):
    pass


class _TruncatedError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class WireScan:
    """Result of walking bytes as one layout.

    ``valid`` means every byte seen fits the layout; ``truncated`` that the bytes end inside
    a field (only meaningful when valid); ``n_fields`` counts fields read at every level,
    ``n_routes`` Route messages begun, ``n_points`` Points completely read.
    """

    layout: WireLayout
    valid: bool
    truncated: bool
    n_fields: int
    n_routes: int
    n_points: int


class _Walker:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.n_fields = 0
        self.n_routes = 0
        self.n_points = 0

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        value = shift = 0
        for _ in range(10):
            if pos >= end:
                raise _InvalidError
            if pos >= len(self.buf):
                raise _TruncatedError
            byte = self.buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value, pos
            shift += 7
        raise _InvalidError

    def message(self, pos: int, end: int, layout: _Layout, *, top: bool = False) -> None:
        """Walk one message occupying ``[pos, end)`` (``end`` may lie beyond the buffer).

        ``top``: the message is the whole file, so it ends cleanly where the bytes end.
        """
        if layout is _ROUTE:
            self.n_routes += 1
        seen: set[int] = set()
        first = min(_REQUIRED[id(layout)])
        limit = len(self.buf) if top else end
        while pos < limit:
            if pos >= len(self.buf):
                raise _TruncatedError
            key, pos = self.varint(pos, end)
            number, wire = key >> 3, key & 7
            spec = layout.get(number)
            if spec is None or spec[0] != wire or (not seen and number != first):
                raise _InvalidError
            seen.add(number)
            if wire == _VARINT:
                _, pos = self.varint(pos, end)
            elif wire == _I32:
                pos = self._skip(pos, 4, end)
            else:
                size, pos = self.varint(pos, end)
                stop = pos + size
                if stop > end:
                    raise _InvalidError
                nested = spec[1]
                if nested == _TEXT:
                    self._text(pos, stop)
                elif isinstance(nested, dict):
                    self.message(pos, stop, nested)
                pos = self._skip(pos, size, end)
            self.n_fields += 1
        if not _REQUIRED[id(layout)] <= seen:
            raise _InvalidError
        if layout is _POINT:
            self.n_points += 1

    def _skip(self, pos: int, size: int, end: int) -> int:
        if pos + size > end:
            raise _InvalidError
        if pos + size > len(self.buf):
            raise _TruncatedError
        return pos + size

    def _text(self, pos: int, stop: int) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            decoder.decode(self.buf[pos:stop], final=stop <= len(self.buf))
        except UnicodeDecodeError:
            raise _InvalidError from None

    def delimited(self) -> None:
        pos, n = 0, len(self.buf)
        while pos < n:
            size, pos = self.varint(pos, n + 1)
            if size < 2:  # a Route holds at least its start_time key and value
                raise _InvalidError
            self.message(pos, pos + size, _ROUTE)
            pos += size


def scan_transitwand(data: bytes, layout: WireLayout) -> WireScan:
    """Walk ``data`` (a whole file or just its head) as the given layout.

    Parameters
    ----------
    data
        Bytes from the start of a file.
    layout
        :attr:`WireLayout.UPLOAD` or :attr:`WireLayout.DELIMITED`.

    Returns
    -------
    WireScan
        Whether the bytes fit, whether they stop inside a field, and how much was seen.
    """
    walker = _Walker(data)
    valid, truncated = True, False
    try:
        if layout is WireLayout.UPLOAD:
            walker.message(0, sys.maxsize, _UPLOAD, top=True)
        else:
            walker.delimited()
    except _TruncatedError:
        truncated = True
    except _InvalidError:
        valid = False
    return WireScan(layout, valid, truncated, walker.n_fields, walker.n_routes, walker.n_points)
