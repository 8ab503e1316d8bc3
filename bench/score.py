"""How long scoring takes as the number of campaigns grows.

One champion is trained once, on the tiny preset (training cost is not what is
measured here; its feature spec and size are the production model's). Each
scale is then simulated, ingested into a lakehouse of its own that shares the
champion's MLflow store, and scored with ``run_score`` at the day after its
data: point-in-time features for that one as_of, the Parquet hand-off of the
sampled audiences, the forecast, Integrated Gradients and the two MERGEs.
Prints seconds per stage, campaigns per second and peak memory (this process
plus the Spark JVM and Ray), and writes bench/results/score.json.

Scales:
    demo   the demo preset (41 campaigns), a quick check of the harness
    10k    10,000 campaigns over 100,000 customers and four months
    large  the large preset (2,000 campaigns, 1,000,000 customers)

Usage:
    .venv/bin/python bench/score.py --scales demo,10k
    # the large preset needs a bigger heap and more shuffle partitions than
    # conf/local.yaml's (its ingest ran out of 6g with 8 partitions):
    .venv/bin/python bench/score.py --scales large \
        --set spark.conf.spark.driver.memory=14g \
        --set spark.conf.spark.sql.shuffle.partitions=64
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _common import peak_memory, print_table, write_result  # noqa: E402

# Each scale: the simulator preset and the fields it replaces.
SCALES: dict[str, tuple[str, dict[str, object]]] = {
    "demo": ("demo", {}),
    "10k": (
        "large",
        {
            "n_customers": 100_000,
            "n_campaigns": 9_800,
            "n_future_campaigns": 200,
            "data_start": dt.date(2025, 3, 1),
            "audience_share": 0.002,
            "exposure_rate": 0.02,
            "chunk_customers": 50_000,
        },
    ),
    "large": ("large", {}),
}

# A champion small enough to train in a minute or two on 2 cores.
CHAMPION = [
    "model.hidden_channels=16",
    "model.max_customers=16",
    "training.epochs=3",
    "training.patience=3",
    "training.batch_size=32",
]


def _config(root: Path, mlflow_db: Path, overrides: list[str]):
    from campaign_revenue.config import load_config

    return load_config(
        ROOT / "conf" / "local.yaml",
        [
            f"lakehouse.root={root}",
            f"mlflow.tracking_uri=sqlite:///{mlflow_db}",
            *overrides,
        ],
    )


def train_champion(spark, work: Path, mlflow_db: Path, overrides: list[str]) -> float:
    """Tiny world -> silver -> snapshots -> graph -> a registered champion."""
    from campaign_revenue.graph.run import run_graph
    from campaign_revenue.ingest import ingest
    from campaign_revenue.model.train import run_train
    from campaign_revenue.query.snapshots import run_snapshots
    from campaign_revenue.simulate import generate
    from campaign_revenue.tables import Lakehouse

    started = time.perf_counter()
    cfg = _config(work / "champion" / "lh", mlflow_db, [*CHAMPION, *overrides])
    data = work / "champion" / "data"
    summary = generate(data, preset="tiny", seed=0)
    lh = Lakehouse(spark, cfg.lakehouse)
    ingest(spark, cfg, str(data), clock=dt.datetime.combine(summary.as_of_last, dt.time()))
    run_snapshots(spark, cfg, lh)
    run_graph(spark, cfg, lh)
    print(run_train(spark, cfg, lh), flush=True)
    return time.perf_counter() - started


def score_scale(
    spark, work: Path, mlflow_db: Path, scale: str, overrides: list[str]
) -> dict[str, object]:
    """Simulate, ingest and score one scale; seconds and peak memory per phase."""
    from campaign_revenue.ingest import ingest
    from campaign_revenue.scoring import run_score
    from campaign_revenue.simulate import generate
    from campaign_revenue.tables import Lakehouse

    preset, fields = SCALES[scale]
    data = work / scale / "data"
    cfg = _config(work / scale / "lh", mlflow_db, overrides)
    lh = Lakehouse(spark, cfg.lakehouse)

    started = time.perf_counter()
    gen = generate(data, preset=preset, seed=0, **fields)
    generate_s = time.perf_counter() - started
    print(gen, flush=True)

    started = time.perf_counter()
    clock = dt.datetime.combine(gen.as_of_last, dt.time())
    ingested = ingest(spark, cfg, str(data), clock=clock)
    ingest_s = time.perf_counter() - started
    print(ingested, flush=True)

    with peak_memory() as mem:
        started = time.perf_counter()
        scored = run_score(spark, cfg, lh)
        score_s = time.perf_counter() - started
    print(scored, flush=True)
    return {
        "scale": scale,
        "campaigns": scored.campaigns,
        "not_launched": scored.not_launched,
        "touchpoints": gen.rows.get("touchpoints", 0),
        "customers": gen.rows.get("customers", 0),
        "generate_s": round(generate_s, 1),
        "ingest_s": round(ingest_s, 1),
        "score_s": round(score_s, 1),
        **{f"{k}_s": round(v, 1) for k, v in scored.stages.items()},
        "campaigns_per_s": round(scored.campaigns / score_s, 1),
        "score_peak_gib": round(mem["peak"] / 2**30, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="demo,10k", help="comma-separated")
    parser.add_argument("--work", default=None, help="working folder (default: temp)")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    unknown = sorted(set(scales) - set(SCALES))
    if unknown:
        parser.error(f"unknown scale(s) {unknown}; choose from {sorted(SCALES)}")

    import tempfile

    from campaign_revenue.spark import build_spark

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-score-"))
    work.mkdir(parents=True, exist_ok=True)
    mlflow_db = work / "mlflow.db"
    cfg = _config(work / "champion" / "lh", mlflow_db, args.overrides)
    spark = build_spark(cfg.spark, app_name="bench-score")
    try:
        champion_s = train_champion(spark, work, mlflow_db, args.overrides)
        rows = []
        for scale in scales:
            rows.append(score_scale(spark, work, mlflow_db, scale, args.overrides))
            print(f"scale {scale} done", flush=True)
    finally:
        spark.stop()
    columns = [
        "scale",
        "campaigns",
        "touchpoints",
        "ingest_s",
        "score_s",
        "features_s",
        "handoff_s",
        "predict_s",
        "attributions_s",
        "write_s",
        "campaigns_per_s",
        "score_peak_gib",
    ]
    table = print_table(rows, columns)
    write_result(
        "score",
        {"champion_train_s": round(champion_s, 1), "work": str(work), "rows": rows,
         "table": table},
    )


if __name__ == "__main__":
    main()
