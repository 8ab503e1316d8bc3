"""Benchmark on real data: The Complete Journey through the whole pipeline.

Adapts the source into the input contract, ingests it (clock: now), builds the
snapshots of the default campaign query and graph features, backtests every
method on it, then backtests persistence and LightGBM on the customer query
``PREDICT SUM(CONVERSIONS.REVENUE, 0, 30, days) FOR EACH CUSTOMERS.CUSTOMER_ID``.

The library's methods and backtest are keyed on campaigns, so the customer
query runs on a small customer-level path here: point-in-time customer
features in pandas, the same origins rule (``choose_origins``) and the same
metric functions (``evaluation.metrics.all_metrics``). Its grid is 4-weekly
(every customer at every date; the campaign grid is weekly) to stay small on
two cores.

Usage:
    .venv/bin/python bench/real_data.py [--source DIR] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, write_result  # noqa: E402

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path("/work/shared/data/real/completejourney")
CUSTOMER_QUERY = (
    "PREDICT SUM(CONVERSIONS.REVENUE, 0, 30, days) FOR EACH CUSTOMERS.CUSTOMER_ID"
)
CUSTOMER_STEP_DAYS = 28
CATEGORICAL = ("segment", "ltv_tier")


# -- customer-level path ----------------------------------------------------------


def customer_features(
    pairs: pd.DataFrame,
    conversions: pd.DataFrame,
    audiences: pd.DataFrame,
    campaigns: pd.DataFrame,
    customers: pd.DataFrame,
) -> pd.DataFrame:
    """Point-in-time features per (customer_id, as_of_date).

    Only conversions with ``ts < as_of`` and campaigns started before as_of
    are read; segment and tier are the undated customer attributes.
    """
    conv = conversions.assign(day=conversions["ts"].dt.tz_convert(None))
    flights = audiences.merge(
        campaigns[["campaign_id", "start_date", "end_date"]], on="campaign_id"
    )
    frames = []
    for as_of, group in pairs.groupby("as_of_date"):
        t = pd.Timestamp(as_of)
        past = conv[conv["day"] < t]
        age = (t - past["day"]).dt.total_seconds() / 86400.0
        f = group[["customer_id", "as_of_date"]].copy()
        for days in (30, 90, 365):
            recent = past[age < days]
            by = recent.groupby("customer_id")
            f[f"revenue_{days}d"] = f["customer_id"].map(by["revenue"].sum())
            f[f"baskets_{days}d"] = f["customer_id"].map(by.size())
        credited = past[(age < 30) & past["campaign_id"].notna()]
        f["credited_revenue_30d"] = f["customer_id"].map(
            credited.groupby("customer_id")["revenue"].sum()
        )
        by = past.groupby("customer_id")["day"]
        f["days_since_last"] = f["customer_id"].map(
            (t - by.max()).dt.total_seconds() / 86400.0
        )
        f["days_since_first"] = f["customer_id"].map(
            (t - by.min()).dt.total_seconds() / 86400.0
        )
        started = flights[flights["start_date"] < t]
        active = started[started["end_date"] >= t]
        f["campaigns_active"] = f["customer_id"].map(
            active.groupby("customer_id").size()
        )
        f["mailings_90d"] = f["customer_id"].map(
            started[started["start_date"] >= t - pd.Timedelta(days=90)]
            .groupby("customer_id")
            .size()
        )
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    prefixes = ("revenue", "baskets", "credited")
    counts = [c for c in out.columns if c.startswith(prefixes)]
    counts += ["campaigns_active", "mailings_90d"]
    out[counts] = out[counts].fillna(0.0)
    return out.merge(
        customers[["customer_id", *CATEGORICAL]], on="customer_id", how="left"
    )


def _matrix(frame: pd.DataFrame, names: list[str], cats: dict) -> pd.DataFrame:
    x = pd.DataFrame(index=frame.index)
    for col in names:
        if col in cats:
            x[col] = pd.Categorical(frame[col].astype(object), categories=cats[col])
        else:
            x[col] = frame[col].astype(float)
    return x


def customer_lightgbm(
    train: pd.DataFrame, test: pd.DataFrame, seed: int, estimators: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LightGBM on log1p(label), 10% and 90% quantile models for the interval."""
    import lightgbm as lgb

    names = [
        c for c in train.columns
        if c not in ("customer_id", "as_of_date", "label", "split")
    ]
    cats = {c: sorted(train[c].dropna().unique().tolist()) for c in CATEGORICAL}
    x_train, x_test = _matrix(train, names, cats), _matrix(test, names, cats)
    y = np.log1p(np.clip(train["label"].to_numpy(float), 0.0, None))
    params = dict(
        n_estimators=estimators, learning_rate=0.05, num_leaves=31,
        min_child_samples=20, random_state=seed, n_jobs=1,
        deterministic=True, force_row_wise=True, verbose=-1,
    )
    out = []
    for objective, extra in (
        ("regression", {}),
        ("quantile", {"alpha": 0.1}),
        ("quantile", {"alpha": 0.9}),
    ):
        model = lgb.LGBMRegressor(objective=objective, **extra, **params)
        model.fit(x_train, y)
        out.append(np.clip(np.expm1(model.predict(x_test)), 0.0, None))
    point, lo, hi = out
    return point, np.minimum(np.minimum(lo, hi), point), np.maximum(
        np.maximum(lo, hi), point
    )


def customer_backtest(
    examples: pd.DataFrame, features: pd.DataFrame, cfg, horizon_days: int
) -> tuple[pd.DataFrame, pd.DataFrame, list[dt.date]]:
    """Persistence and LightGBM at rolling origins on customer examples.

    Returns:
        Pooled metrics (method, slice, metric..., n), per-origin rows and the
        origins.
    """
    from campaign_revenue.evaluation.backtest import choose_origins
    from campaign_revenue.evaluation.metrics import all_metrics

    data = examples.merge(features, on=["customer_id", "as_of_date"])
    origins = choose_origins(sorted(data["as_of_date"].unique()), cfg.backtest)
    preds = []
    for origin in origins:
        closed = pd.to_datetime(data["as_of_date"]) + pd.Timedelta(
            days=horizon_days
        )
        train = data[closed <= pd.Timestamp(origin)]
        test = data[data["as_of_date"] == origin]
        base = test[["customer_id", "as_of_date", "label", "ltv_tier"]]
        preds.append(base.assign(
            method="persistence", prediction=test["revenue_30d"].to_numpy(),
            lower=np.nan, upper=np.nan, n_train=0,
        ))
        point, lo, hi = customer_lightgbm(
            train, test, cfg.backtest.seed, cfg.backtest.gbm_estimators
        )
        preds.append(base.assign(
            method="lightgbm", prediction=point, lower=lo, upper=hi,
            n_train=len(train),
        ))
        log.info(
            "customer_backtest origin=%s train=%d test=%d",
            origin, len(train), len(test),
        )
    pred = pd.concat(preds, ignore_index=True)
    rows = []
    for (method, as_of), g in [
        *pred.groupby(["method", "as_of_date"]),
        *[((m, None), g) for m, g in pred.groupby("method")],
    ]:
        slices = [("all", g)] + [
            (f"ltv_tier={k}", s) for k, s in g.groupby("ltv_tier")
        ]
        for name, s in slices:
            metrics = all_metrics(
                s["label"].to_numpy(float), s["prediction"].to_numpy(float),
                s["lower"].to_numpy(float), s["upper"].to_numpy(float),
            )
            rows.append({
                "method": method, "as_of_date": as_of, "slice": name,
                **metrics, "n": len(s),
            })
    return pd.DataFrame(rows), pred, origins


# -- the run ----------------------------------------------------------------------


def load_cfg(workdir: Path):
    from campaign_revenue.config import load_config

    return load_config(
        ROOT / "conf" / "local.yaml",
        [
            "spark.master=local[2]",
            "spark.conf.spark.sql.shuffle.partitions=4",
            "spark.conf.spark.default.parallelism=2",
            "spark.conf.spark.driver.memory=4g",
            f"spark.checkpoint_dir={workdir / 'checkpoints'}",
            f"lakehouse.root={workdir / 'lakehouse'}",
            f"mlflow.tracking_uri=sqlite:///{workdir / 'mlflow.db'}",
            "backtest.log_mlflow=false",
        ],
    )


def _records(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def run(source: Path, workdir: Path) -> dict:
    from pyspark.sql import functions as F

    from campaign_revenue.adapters import adapt_completejourney
    from campaign_revenue.config import SnapshotsConfig
    from campaign_revenue.evaluation.backtest import run_backtest
    from campaign_revenue.graph.run import run_graph
    from campaign_revenue.ingest import ingest
    from campaign_revenue.methods import METHODS
    from campaign_revenue.query import build_training_examples, read_silver_tables
    from campaign_revenue.query.snapshots import run_snapshots
    from campaign_revenue.spark import build_spark
    from campaign_revenue.tables import Lakehouse

    seconds: dict[str, float] = {}
    result: dict = {"source": str(source)}

    def step(name: str, started: float) -> None:
        seconds[name] = round(time.perf_counter() - started, 1)
        print(f"-- {name}: {seconds[name]}s", flush=True)

    started = time.perf_counter()
    contract = workdir / "contract"
    adapted = adapt_completejourney(source, contract)
    print(adapted)
    result["adapt"] = {"rows": adapted.rows, "source_rows": adapted.source_rows}
    step("adapt", started)

    cfg = load_cfg(workdir)
    spark = build_spark(cfg.spark, app_name="bench-real-data")
    lh = Lakehouse(spark, cfg.lakehouse)

    started = time.perf_counter()
    summary = ingest(spark, cfg, str(contract))
    print(summary)
    quarantined = lh.read("quarantine").count() if lh.exists("quarantine") else 0
    result["ingest"] = {
        "tables": {
            t.table: {"read": t.read, "accepted": t.accepted,
                      "quarantined": t.quarantined, "reasons": t.reasons}
            for t in summary.tables
        },
        "quarantine_rows": quarantined,
    }
    step("ingest", started)

    # campaign query: snapshots, graph features, every method
    started = time.perf_counter()
    splits = run_snapshots(spark, cfg, lh)
    print(splits.to_string(index=False))
    result["campaign_snapshots"] = _records(splits)
    step("campaign_snapshots", started)

    started = time.perf_counter()
    graph = run_graph(spark, cfg, lh)
    print(graph)
    result["graph"] = {"rows": graph.rows, "pairs": graph.pairs,
                       "as_of_dates": graph.as_of_dates}
    step("graph", started)

    started = time.perf_counter()
    methods = list(METHODS)
    backtest = run_backtest(spark, cfg, lh, methods)
    table = backtest.summary.reset_index()
    result["campaign_backtest"] = {
        "query": cfg.query,
        "origins": [str(o) for o in backtest.origins],
        "methods": methods,
        "pooled": _records(table),
    }
    step("campaign_backtest", started)

    # customer query: 4-weekly snapshots, customer-level path
    started = time.perf_counter()
    tables = read_silver_tables(lh, ["customers", "conversions"])
    snap_cfg = SnapshotsConfig(
        step_days=CUSTOMER_STEP_DAYS,
        warmup_days=cfg.snapshots.warmup_days,
        validation_fraction=cfg.snapshots.validation_fraction,
        test_fraction=cfg.snapshots.test_fraction,
    )
    examples = (
        build_training_examples(spark, CUSTOMER_QUERY, tables, snap_cfg)
        .where(F.col("label_complete"))
        .select("customer_id", "as_of_date", "split", "label")
        .toPandas()
    )
    counts = examples.groupby("split").agg(
        rows=("label", "size"), as_of_dates=("as_of_date", "nunique"),
        label_mean=("label", "mean"),
    ).reset_index()
    print(counts.to_string(index=False))
    silver = {
        name: lh.read(f"silver.{name}").toPandas()
        for name in ("conversions", "campaign_audiences", "campaigns", "customers")
    }
    for name in ("campaigns",):
        for col in ("start_date", "end_date"):
            silver[name][col] = pd.to_datetime(silver[name][col])
    conv = silver["conversions"]
    conv["ts"] = pd.to_datetime(conv["ts"], utc=True)
    features = customer_features(
        examples[["customer_id", "as_of_date"]],
        conv,
        silver["campaign_audiences"],
        silver["campaigns"],
        silver["customers"],
    )
    metrics, _, origins = customer_backtest(
        examples, features, cfg, cfg.backtest.horizon_days
    )
    pooled = metrics[metrics["as_of_date"].isna()].drop(columns="as_of_date")
    result["customer_snapshots"] = _records(counts)
    result["customer_backtest"] = {
        "query": CUSTOMER_QUERY,
        "grid_step_days": CUSTOMER_STEP_DAYS,
        "origins": [str(o) for o in origins],
        "pooled": _records(pooled),
    }
    step("customer_backtest", started)

    print("\ncampaign query, pooled over origins", backtest.origins)
    print_table(_records(table), ["method", "wape", "mae", "r2", "spearman",
                                  "coverage", "n"])
    print("\ncustomer query, pooled over origins", origins)
    print_table(_records(pooled), ["method", "slice", "wape", "mae", "r2",
                                   "spearman", "coverage", "n"])
    result["seconds"] = seconds
    spark.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.workdir is None:
        with tempfile.TemporaryDirectory(prefix="bench-real-") as tmp:
            result = run(args.source, Path(tmp))
    else:
        result = run(args.source, args.workdir)
    write_result("real_data", result)


if __name__ == "__main__":
    main()
