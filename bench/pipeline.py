"""The pipeline end to end as the data grows: seconds and peak memory per step.

Each scale multiplies the demo preset's customers and campaigns by m and
divides the audience share by m, so each campaign reaches as many people as
at 1x and touchpoints grow about linearly in m (with the share unchanged they
would grow with customers x campaigns, m squared). It runs generate, ingest, snapshots, graph, train and
score in one Spark session, each step on its own lakehouse and MLflow store.
Peak memory is this process plus its children (the Spark JVM, Ray workers),
sampled while the step runs. The growth ratio of a step is its seconds at a
scale over its seconds at the smallest scale run, beside the data ratio.

    .venv/bin/python bench/pipeline.py --scales 1,4,16
    .venv/bin/python bench/pipeline.py --preset large --scales 1

Writes bench/results/pipeline.json (or pipeline_<preset>.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _common import peak_memory, print_table, write_result  # noqa: E402

STEPS = ("generate", "ingest", "snapshots", "graph", "train", "score")


def scaled_fields(preset: str, m: int) -> dict[str, object]:
    """Preset fields for ``m`` times the preset's data: customers and campaigns
    times ``m``, audience share over ``m`` (audiences keep their size)."""
    from campaign_revenue.simulate import get_preset

    base = get_preset(preset)
    if m == 1:
        return {}
    return {
        "n_customers": base.n_customers * m,
        "n_campaigns": base.n_campaigns * m,
        "n_future_campaigns": base.n_future_campaigns * m,
        "audience_share": base.audience_share / m,
    }


def run_scale(
    spark, work: Path, preset: str, m: int, overrides: list[str]
) -> dict[str, object]:
    """One scale end to end; seconds and peak GiB per step."""
    from campaign_revenue.config import load_config
    from campaign_revenue.graph.run import run_graph
    from campaign_revenue.ingest import ingest
    from campaign_revenue.model.train import run_train
    from campaign_revenue.query.snapshots import run_snapshots
    from campaign_revenue.scoring import run_score
    from campaign_revenue.simulate import generate
    from campaign_revenue.tables import Lakehouse

    here = work / f"{preset}_x{m}"
    cfg = load_config(
        ROOT / "conf" / "local.yaml",
        [
            f"lakehouse.root={here / 'lh'}",
            f"mlflow.tracking_uri=sqlite:///{here / 'mlflow.db'}",
            *overrides,
        ],
    )
    lh = Lakehouse(spark, cfg.lakehouse)
    data = here / "data"
    seen: dict[str, object] = {}

    def gen():
        g = generate(data, preset=preset, seed=0, **scaled_fields(preset, m))
        seen["gen"] = g
        return g

    def ing():
        clock = dt.datetime.combine(seen["gen"].as_of_last, dt.time())
        return ingest(spark, cfg, str(data), clock=clock)

    runs = {
        "generate": gen,
        "ingest": ing,
        "snapshots": lambda: run_snapshots(spark, cfg, lh),
        "graph": lambda: run_graph(spark, cfg, lh),
        "train": lambda: run_train(spark, cfg, lh),
        "score": lambda: run_score(spark, cfg, lh),
    }
    row: dict[str, object] = {"preset": preset, "scale": m}
    total = 0.0
    for step in STEPS:
        with peak_memory() as mem:
            started = time.perf_counter()
            result = runs[step]()
            seconds = time.perf_counter() - started
        total += seconds
        print(f"[{preset} x{m}] {step}: {seconds:.0f} s", flush=True)
        print(result, flush=True)
        row[f"{step}_s"] = round(seconds, 1)
        row[f"{step}_gib"] = round(mem["peak"] / 2**30, 2)
    g = seen["gen"]
    row["customers"] = g.rows.get("customers", 0)
    row["campaigns"] = g.rows.get("campaigns", 0)
    row["touchpoints"] = g.rows.get("touchpoints", 0)
    row["total_s"] = round(total, 1)
    return row


def add_growth(rows: list[dict[str, object]]) -> None:
    """Seconds and touchpoints relative to the first (smallest) scale."""
    first = rows[0]
    for r in rows:
        r["data_ratio"] = round(r["touchpoints"] / max(first["touchpoints"], 1), 2)
        r["time_ratio"] = round(r["total_s"] / max(first["total_s"], 1e-9), 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--scales", default="1,4,16", help="multipliers, e.g. 1,4,16")
    parser.add_argument("--work", default=None, help="working folder (default: temp)")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    scales = sorted({int(s) for s in args.scales.split(",") if s.strip()})

    from campaign_revenue.config import load_config
    from campaign_revenue.spark import build_spark

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-pipeline-"))
    cfg = load_config(ROOT / "conf" / "local.yaml", args.overrides)
    spark = build_spark(cfg.spark, app_name="bench-pipeline")
    try:
        rows = [run_scale(spark, work, args.preset, m, args.overrides) for m in scales]
    finally:
        spark.stop()
    add_growth(rows)
    columns = [
        "preset", "scale", "touchpoints",
        *[f"{s}_s" for s in STEPS], "total_s",
        "data_ratio", "time_ratio",
        *[f"{s}_gib" for s in STEPS],
    ]
    table = print_table(rows, columns)
    name = "pipeline" if args.preset == "demo" else f"pipeline_{args.preset}"
    write_result(name, {"work": str(work), "rows": rows, "table": table})
    return 0


if __name__ == "__main__":
    sys.exit(main())
