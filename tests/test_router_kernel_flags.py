"""Per-pattern facts the RAPTOR kernel relies on to cut work, checked on hand-built arrays."""

from __future__ import annotations

import numpy as np

from transit.raptor import _windows_ordered


def test_windows_in_order_without_overlap_are_flagged() -> None:
    # Pattern 0: [0, 100) then [100, 200): ordered. Pattern 1: [0, 60) then [50, 200):
    # overlap. Pattern 2: one window. Pattern 3: [300, 400) before [0, 100): out of order.
    ptr = np.array([0, 2, 4, 5, 7], np.int32)
    start = np.array([0, 100, 0, 50, 10, 300, 0], np.int32)
    end = np.array([100, 200, 60, 200, 20, 400, 100], np.int32)
    assert _windows_ordered(ptr, start, end).tolist() == [1, 0, 1, 0]


def test_no_windows_is_ordered() -> None:
    ptr = np.array([0, 0, 0], np.int32)
    empty = np.zeros(0, np.int32)
    assert _windows_ordered(ptr, empty, empty).tolist() == [1, 1]
