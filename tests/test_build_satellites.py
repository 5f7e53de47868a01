"""The queue rule of the satellite diagnostic (bench.build.satellites) on small synthetic cases."""

from __future__ import annotations

import numpy as np

from bench.build.satellites import Emitted, queue_rule


def _emitted(x: list[float], support: list[int], pairs: list[tuple[int, int, int, int]],
             ) -> Emitted:
    """Stops on one eastbound road; ``pairs``: (stop, other, rides dwelling at stop,
    of which also at other in the same pass), both ways round."""
    xs = np.array(x, float)
    rows = [(p, q, abs(xs[q] - xs[p]), xs[q] - xs[p], n, co) for p, q, n, co in pairs]
    n = len(xs)
    return Emitted(x=xs, y=np.zeros(n), heading=np.full(n, 90.0),
                   support=np.array(support, np.int64), hit=np.zeros(n, bool),
                   satellite=np.zeros(n, bool), lat=np.zeros(n), lon=np.zeros(n),
                   features={}, pairs=np.array(rows, float).reshape(-1, 6))


def test_a_queue_behind_a_stop_is_one_stop_two_stops_served_by_different_rides_are_two() -> None:
    # stop 1 at 60 m is the head of the queue (6 rides); 3 rides also dwelt 50 m before it,
    # each in the same pass. Stops 2 and 3 (1000 m, 1080 m): different rides serve them.
    e = _emitted([10.0, 60.0, 1000.0, 1080.0], [3, 6, 4, 4],
                 [(0, 1, 3, 3), (1, 0, 6, 3), (2, 3, 4, 0), (3, 2, 4, 0)])
    keep = queue_rule(e, max_m=150.0, theta=0.5, rho=1.0, downstream=False)
    assert keep.tolist() == [False, True, True, True]
    # the downstream variant (the head of the queue absorbs the stops behind it): the same
    keep = queue_rule(e, max_m=150.0, theta=0.5, rho=1.0, downstream=True)
    assert keep.tolist() == [False, True, True, True]
    # out of reach, or not enough rides in common, or not weaker: kept
    assert queue_rule(e, max_m=40.0, theta=0.5, rho=1.0, downstream=False).all()
    assert queue_rule(e, max_m=150.0, theta=1.01, rho=1.0, downstream=False).all()
    assert queue_rule(e, max_m=150.0, theta=0.5, rho=0.4, downstream=False).all()


def test_the_downstream_variant_keeps_a_stop_ahead_of_its_absorber() -> None:
    # the weaker stop is 50 m AFTER the stronger one (a junction after the stop)
    e = _emitted([0.0, 50.0], [6, 3], [(0, 1, 6, 3), (1, 0, 3, 3)])
    assert queue_rule(e, max_m=150.0, theta=0.5, rho=1.0, downstream=False).tolist() == [
        True, False]
    assert queue_rule(e, max_m=150.0, theta=0.5, rho=1.0, downstream=True).all()
