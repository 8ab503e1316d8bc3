"""Seconds per epoch of the graph model: plain loop vs Ray Train with 1 and 2 workers.

Runs on a lakehouse where `campaign-revenue demo` and `campaign-revenue graph`
ran; builds the hand-off once (Spark) and trains the same tensors three ways
with a fixed number of epochs (no early stop). Writes bench/results/train.json.

    python bench/train.py --root ./lakehouse --epochs 5
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from pathlib import Path

from _common import peak_memory, print_table, write_result

from campaign_revenue.config import load_config
from campaign_revenue.model import train as T
from campaign_revenue.model.tensors import FeatureSpec

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True, help="lakehouse root")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    cfg = load_config(
        ROOT / "conf" / "local.yaml",
        [
            f"lakehouse.root={args.root}",
            f"training.epochs={args.epochs}",
            f"training.patience={args.epochs}",
            *args.overrides,
        ],
    )
    from campaign_revenue.spark import build_spark
    from campaign_revenue.tables import Lakehouse

    spark = build_spark(cfg.spark)
    handoff = Path(args.root) / "_handoff" / "bench"
    started = time.perf_counter()
    parts = T.load_training_data(spark, cfg, Lakehouse(spark, cfg.lakehouse), handoff)
    handoff_s = time.perf_counter() - started
    spark.stop()
    spec = FeatureSpec.fit(parts["train"])
    train, val = spec.transform(parts["train"]), spec.transform(parts["validation"])
    kwargs = T.model_kwargs(spec, cfg.model, train)

    rows = []
    for name, workers in (("plain", 0), ("ray_1", 1), ("ray_2", 2)):
        with peak_memory() as mem:
            started = time.perf_counter()
            if workers == 0:
                fit = T.train_in_process(train, val, kwargs, cfg.model, cfg.training)
            else:
                cfg.ray.num_workers = workers
                fit = T.train_with_ray(cfg, train, val, kwargs)
            wall = time.perf_counter() - started
        # the first epoch carries warm-up; the median of the rest is the rate
        secs = fit.history["epoch_seconds"].tolist()
        steady = statistics.median(secs[1:] or secs)
        rows.append({
            "setup": name,
            "workers": workers,
            "epochs": len(secs),
            "s_per_epoch": steady,
            "wall_s": wall,
            "peak_rss_gib": mem["peak"] / 2**30,
        })
    base = rows[0]["s_per_epoch"]
    for r in rows:
        r["ratio_vs_plain"] = r["s_per_epoch"] / base if base else float("nan")
    table = print_table(
        rows,
        ["setup", "workers", "epochs", "s_per_epoch", "ratio_vs_plain", "wall_s",
         "peak_rss_gib"],
    )
    write_result(
        "train",
        {
            "root": str(args.root),
            "snapshots": {s: len(p) for s, p in parts.items()},
            "customer_rows_train": int(train.x_customer.shape[0]),
            "handoff_seconds": handoff_s,
            "config": {
                "hidden_channels": cfg.model.hidden_channels,
                "batch_size": cfg.training.batch_size,
                "max_customers": cfg.model.max_customers or cfg.model.fanout[0],
            },
            "rows": rows,
            "table": table,
        },
    )


if __name__ == "__main__":
    main()
