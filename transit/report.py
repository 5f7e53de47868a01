"""The build report: the evidence behind every stop and route, as JSON-able data and text.

The report tells a field team what the feed rests on: per stop the traces and devices that
dwelt there, how many passed, the confidence and where its name came from; per route and
pattern the rides, devices and time bands observed, which numbers were assumed, and which
routes need another ride (one direction only, a single ride, bands never ridden). Run
times per band rest on traffic factors pooled over all routes of a region (partial pooling,
:func:`transit.run_times.estimate_band_factors`); the report gives the pooled factors, their
spread between patterns, and per pattern the factor used and the weight of its own rides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from transit.model import Network
from transit.traces import TripSegment

if TYPE_CHECKING:
    from transit.build import BuildOptions
    from transit.region import RegionResult

__all__ = ["REPORT_VERSION", "build_report", "format_report"]

REPORT_VERSION = 1


def build_report(network: Network, results: Sequence[RegionResult],
                 segments: Sequence[TripSegment], options: BuildOptions) -> dict[str, Any]:
    """The JSON-able report of one build (sorted keys and lists: deterministic)."""
    stop_ev: dict[str, dict[str, Any]] = {}
    pat_ev: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for res in results:
        stop_ev.update(res.stop_evidence)
        pat_ev.update(res.pattern_evidence)
        for k, v in res.counts.items():
            counts[k] = counts.get(k, 0) + v
    stops = []
    for s in network.stops:
        ev = stop_ev.get(s.stop_id, {})
        stops.append({
            "stop_id": s.stop_id, "stop_name": s.stop_name, "name_source": s.name_source,
            "stop_lat": s.stop_lat, "stop_lon": s.stop_lon, "heading_deg": s.heading_deg,
            "support_traces": s.support_traces, "confidence": s.confidence, **ev,
            "assumed": [] if s.support_traces >= 2 or ev.get("field_marked") else
            ["one trace dwelt here and no other passed: may be a traffic hold"]})
    routes = []
    needs: list[dict[str, Any]] = []
    band_names = [b.name for b in options.bands]
    for r in network.routes:
        pats = [p for p in network.patterns if p.route_id == r.route_id]
        entries = []
        reasons: list[str] = []
        for p in pats:
            ev = pat_ev.get(p.pattern_id, {})
            assumed = [f"headway in {t.band} ({t.headway_s} s)" for t in p.timings
                       if t.headway_source == "assumed"]
            assumed += [f"run times in {t.band} (the all-day profile times the band's traffic "
                        "factor pooled over all routes: no ride here in this band)"
                        for t in p.timings if t.n_observations == 0]
            entries.append({
                "pattern_id": p.pattern_id, "direction_id": p.direction_id,
                "n_stops": len(p.stop_ids), "support_traces": p.support_traces,
                "traces": ev.get("traces", []), "devices": ev.get("devices", []),
                "bands_observed": ev.get("bands_observed", []),
                "headway_source": {t.band: t.headway_source for t in p.timings},
                "headway_s": {t.band: t.headway_s for t in p.timings},
                "shape_length_m": ev.get("shape_length_m"),
                "observed_headways": ev.get("observed_headways", {}),
                "band_factors": ev.get("band_factors", {}), "assumed": assumed})
            if p.support_traces < options.min_rides_confident:
                reasons.append(f"direction {p.direction_id} rests on {p.support_traces} ride(s)")
            missing = [b for b in band_names if b not in ev.get("bands_observed", [])]
            if missing:
                reasons.append(f"direction {p.direction_id} never ridden in "
                               f"{', '.join(missing)}")
        if len(pats) == 1:
            reasons.append("only one direction was ridden; the other is not invented")
        devices = sorted({d for e in entries for d in e["devices"]})
        confidence = round(min(1.0, sum(p.support_traces for p in pats) / 4.0)
                           * (1.0 if len(pats) == 2 else 0.75), 3)
        route = {"route_id": r.route_id, "route_short_name": r.route_short_name,
                 "route_long_name": r.route_long_name, "confidence": confidence,
                 "support_traces": sum(p.support_traces for p in pats),
                 "support_devices": len(devices), "patterns": entries,
                 "needs_another_ride": reasons}
        routes.append(route)
        if reasons:
            needs.append({"route_id": r.route_id, "route_short_name": r.route_short_name,
                          "reasons": reasons})
    traces = {s.trace.trace_key for s in segments}
    return {
        "report_version": REPORT_VERSION,
        "feed_version": network.feed_version,
        "summary": {
            "traces": len(traces), "trip_segments": len(segments),
            "fixes": int(sum(len(s) for s in segments)), "regions": len(results),
            "stops": len(network.stops), "routes": len(network.routes),
            "patterns": len(network.patterns), "routes_needing_another_ride": len(needs),
            "field_stops_used": options.use_field_stops, "timezone": options.timezone,
            **dict(sorted(counts.items()))},
        "options": {"match_radius_m": options.match_radius_m,
                    "min_regularity": options.min_regularity,
                    "dwell_radius_m": options.dwell.radius_m,
                    "min_dwell_s": options.dwell.min_duration_s,
                    "min_support": options.dwell.min_support,
                    "default_headway_s": dict(sorted(options.default_headway_s.items())),
                    "bands": {b.name: [b.start_s, b.end_s] for b in options.bands}},
        "band_factors": [{"region": res.region_index, "bands": res.band_factors}
                         for res in results],
        "stops": stops, "routes": routes, "needs_another_ride": needs,
    }


def format_report(report: dict[str, Any], *, max_routes: int = 20) -> str:
    """A readable summary of a build report (a few lines, then the routes to ride again)."""
    s = report["summary"]
    lines = [
        f"Built {s['stops']} stops, {s['routes']} routes, {s['patterns']} patterns from "
        f"{s['traces']} traces ({s['trip_segments']} trip segments, {s['fixes']:,} fixes, "
        f"{s['regions']} region(s)).",
        f"Dwells {s.get('dwells', 0)}, stop candidates {s.get('stop_candidates', 0)}, "
        f"dropped as traffic or unsupported {s.get('traffic_or_unsupported', 0)}; "
        f"segments matching no pattern {s.get('segments_without_pattern', 0)}.",
    ]
    sources: dict[str, int] = {}
    for r in report["routes"]:
        for p in r["patterns"]:
            for src in p["headway_source"].values():
                sources[src] = sources.get(src, 0) + 1
    lines.append("Headways per pattern and band: " + ", ".join(
        f"{k} {v}" for k, v in sorted(sources.items())) + ".")
    needs = report["needs_another_ride"]
    lines.append(f"{len(needs)} route(s) need another ride:")
    for n in needs[:max_routes]:
        lines.append(f"  {n['route_short_name']} ({n['route_id']}): {'; '.join(n['reasons'])}")
    if len(needs) > max_routes:
        lines.append(f"  ... and {len(needs) - max_routes} more (see the JSON report)")
    return "\n".join(lines)
