"""The scale benchmark's report: its figures as a table, and growth against a baseline.

:func:`report` prints one aligned row per figure (platform, floors, full build, nothing
new, micro-batch spreads, peak memory by kind of child, disk, correctness, growth);
:func:`growth` divides this run's headline figures by those of a run on a shorter
history (its ``--json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.harness import MIB, fmt, print_table, ratio


def report(f: dict[str, Any]) -> None:
    p, r, fl, mb = f["platform"], f["run"], f["floors"], f["micro_batches"]
    gen, ing = p.get("generate", {}), p.get("ingest", {})
    scan_s = fl["scan_s"]
    end = f["disk_at_end"]
    rows: list[tuple[str, Any, str]] = [
        (
            "commit",
            r["commit"][:12],
            f"clean copy in {r['source']}"
            if r["source"]
            else f"work tree, {len(r['dirty_files'])} tracked files changed"
            if r["dirty_files"]
            else "work tree, clean",
        ),
        ("platform", f"{p['users']:,} people", f"{p['history_days']} days + 1 held back"),
        (
            "generation",
            gen.get("seconds"),
            f"s, {fmt(gen.get('events_per_s'))} events/s, "
            f"{fmt(gen.get('events_written'))} lines, RSS {fmt(gen.get('maxrss_mib'))} MiB",
        ),
        (
            "ingestion",
            ing.get("seconds"),
            f"s, {fmt(ing.get('events_per_s'))} events/s, "
            f"{ing.get('workers')} workers, RSS {fmt(ing.get('maxrss_mib'))} MiB/process",
        ),
        ("landed events (history)", fl["landed_events"], f"over {fl['landed_days']} days"),
        ("scan floor", scan_s, "s  (count(distinct anonymous_id) by day)"),
        (
            "window floor",
            fl["window_s"],
            f"s  (lag over device by time: {fmt(fl['window_sessions'])} sessions)",
        ),
        (
            "full build (build --all)",
            f["full_build"]["seconds"],
            f"s  = {fmt(f['ratios']['full_build_over_scan_floor'])}x scan floor (target <= 40x), "
            f"{fmt(f['ratios']['full_build_over_window_floor'])}x window floor",
        ),
        (
            "  CPU (build tree / scan floor)",
            f["full_build"].get("cpu_s"),
            f"CPU s / {fmt(f['floors'].get('scan_cpu_s'))} CPU s = "
            f"{fmt(f['ratios'].get('full_build_cpu_over_scan_floor_cpu'))}x",
        ),
        (
            "  peak RSS largest / tree",
            f["full_build"]["maxrss_mib"],
            f"MiB / {fmt(f['full_build']['tree_peak_mib'])} MiB (target <= 8192 per process)",
        ),
        (
            "nothing new (build)",
            f["nothing_new"]["seconds"],
            "s  (target <= 10 s)"
            + ("; it published a new version" if f["nothing_new"]["published_new_version"] else ""),
        ),
        (
            "micro-batches",
            mb["batches_fed"],
            f"{mb['mode']}, {mb['batch_events']:,} events "
            f"each, {mb['builds']} builds, {mb['failed_builds']} without a new version",
        ),
    ]
    for label, key, note in (
        ("  build", "build_s", "s"),
        ("  ack -> published", "latency_s", "s  (target p95 <= 300 s)"),
        ("  ingest start -> published", "end_to_end_s", "s  (target <= 60 s at 50M)"),
        ("  ingest", "ingest_s", "s"),
        ("  build CPU", "build_cpu_s", "CPU s"),
    ):
        s = mb.get(key, {})
        rows.append((f"{label} p50", s.get("p50"), note))
        rows.append((f"{label} p95", s.get("p95"), note))
        rows.append((f"{label} max", s.get("max"), note))
    rows.append(("  build p95 / scan floor", f["ratios"]["micro_build_p95_over_scan_floor"], "x"))
    rows.append(
        ("  latency p95 / scan floor", f["ratios"]["micro_latency_p95_over_scan_floor"], "x")
    )
    for kind, peak in sorted(f["peak_rss_by_kind"].items()):
        rows.append(
            (
                f"peak RSS {kind}",
                peak["maxrss_mib"],
                f"MiB largest process, {fmt(peak['tree_peak_mib'])} MiB tree, "
                f"{int(peak['count'])} runs",
            )
        )
    rows += [
        (
            "landed MiB / M events",
            end["raw_bytes_per_m_events"] / MIB,
            f"({fmt(end['raw_events_bytes'] / MIB)} MiB for {end['landed_events']:,} events)",
        ),
        (
            "warehouse dir MiB / M events",
            end["warehouse_bytes_per_m_events"] / MIB,
            f"({fmt(end['warehouse_bytes'] / MIB)} MiB: "
            + ", ".join(
                f"{name} {fmt(size / MIB)}" for name, size in end.get("warehouse_files", {}).items()
            )
            + (
                "; serving is a link"
                if end.get("serving_is_link")
                else f"; serving copy {fmt(end['serving_bytes'] / MIB)} MiB"
            )
            + ")",
        ),
        ("fct_events rows", f["correctness"]["fct_events_rows"], ""),
        (
            "expected from landed",
            f["correctness"]["expected_from_landed"],
            "distinct message_id, no bots, no alias"
            + (
                ""
                if f["correctness"]["match"]
                else "  MISMATCH"
                + (
                    f" ({mb['failed_builds']} micro-batch builds published nothing)"
                    if mb["failed_builds"]
                    else ""
                )
            ),
        ),
    ]
    growth = f.get("growth")
    if growth:
        rows.append(
            (
                "vs baseline history",
                f"{growth['baseline_events']:,} events",
                f"from {growth['baseline_json']}",
            )
        )
        for key, label in GROWTH_FIGURES:
            rows.append((f"  {label}", growth.get(key), "x  (target micro-batch <= 1.5x)"))
    print()
    print_table(rows)


# (key in the figures' growth section, label): this run's figure / the baseline run's.
GROWTH_FIGURES = (
    ("full_build", "full build"),
    ("micro_build_p95", "micro-batch build p95"),
    ("micro_end_to_end_p95", "micro-batch ingest start -> published p95"),
    ("micro_latency_p95", "micro-batch ack -> published p95"),
)


def growth(figures: dict[str, Any], baseline_json: Path) -> dict[str, Any]:
    """This run against a run on a shorter history (its --json), figure by figure."""

    def pick(f: dict[str, Any]) -> dict[str, float | None]:
        mb = f["micro_batches"]
        return {
            "full_build": f["full_build"]["seconds"],
            "micro_build_p95": mb["build_s"]["p95"],
            "micro_end_to_end_p95": mb.get("end_to_end_s", {}).get("p95"),
            "micro_latency_p95": mb["latency_s"]["p95"],
        }

    base = json.loads(baseline_json.read_text())
    mine, theirs = pick(figures), pick(base)
    return {
        "baseline_json": str(baseline_json),
        "baseline_events": base["floors"]["landed_events"],
        "baseline_commit": base["run"]["commit"],
        **{key: ratio(mine[key], theirs[key]) for key, _ in GROWTH_FIGURES},
    }
