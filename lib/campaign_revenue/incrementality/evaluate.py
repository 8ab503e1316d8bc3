"""Incrementality and allocation scored against the simulator's truth.

Estimates are compared with ``truth/campaign_windows`` (incremental revenue of
the 30 days after the data end), with last-touch and linear multi-touch ROAS
times planned spend as comparators. Plans are re-simulated with
``simulate.counterfactual``: the current plan, a plan moved toward last-touch
ROAS (same total, same bounds, same curve shapes), the product's plan from
``gold.budget_allocations``, and the best plan greedy search finds on the
simulator's own ``truth/response_curves``.

Example:
    >>> result = incrementality_vs_truth(spark, cfg, lakehouse, "/tmp/cr")  # doctest: +SKIP
    >>> print(result.table())  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from campaign_revenue.config import Config
from campaign_revenue.evaluation.metrics import spearman, wape
from campaign_revenue.incrementality.allocate import allocation_bounds, optimize
from campaign_revenue.incrementality.curves import (
    curve_functions,
    exponential_shape,
    response_curves,
)
from campaign_revenue.incrementality.model import INCREMENTALITY_TABLE
from campaign_revenue.tables import Lakehouse


@dataclass
class IncrementalityEvaluation:
    """Accuracy rows (estimate, group, spearman_roas, wape_revenue, n) and plans."""

    as_of: dt.date
    accuracy: pd.DataFrame
    plans: pd.DataFrame

    @property
    def best_gain_captured(self) -> float:
        """Share of the best plan's gain over the current plan that ours gets."""
        rev = self.plans.set_index("plan")["incremental_revenue"]
        best = rev["best"] - rev["current"]
        return float((rev["product"] - rev["current"]) / best) if best > 0 else np.nan

    def table(self) -> str:
        acc = self.accuracy.to_string(index=False, float_format=lambda v: f"{v:.3f}")
        plans = self.plans.to_string(index=False, float_format=lambda v: f"{v:,.0f}")
        return f"{acc}\n\n{plans}\nbest gain captured: {self.best_gain_captured:.1%}"


def _accuracy(base: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    rows = []
    groups = [("all", base)] + [
        (f"targeting={k}", g) for k, g in base.groupby(base["targeting"].fillna("unknown"))
    ]
    for name, col in columns.items():
        for group, g in groups:
            g = g[g[col].notna()]
            rows.append((
                name,
                group,
                spearman(g["true_roas"].to_numpy(), (g[col] / g["planned_spend"]).to_numpy()),
                wape(g["incremental_revenue"].to_numpy(), g[col].to_numpy()),
                len(g),
            ))
    return pd.DataFrame(rows, columns=["estimate", "group", "spearman_roas", "wape_revenue", "n"])


def best_truth_plan(
    truth_curves: pd.DataFrame, bounds, total: float, steps: int = 4000
) -> dict[str, float]:
    """Greedy split on the simulator's own response curves, same bounds."""
    fns = curve_functions(truth_curves)
    keep = {c: fns.get(c, lambda x: 0.0) for c in bounds.lower}
    return optimize(keep, total, bounds, steps=steps)


def incrementality_vs_truth(
    spark: SparkSession,
    cfg: Config,
    lakehouse: Lakehouse,
    sim_dir: str | Path,
    as_of: dt.date | None = None,
) -> IncrementalityEvaluation:
    """Score ``gold.incrementality`` and ``gold.budget_allocations`` on the truth.

    Args:
        spark: the session.
        cfg: run configuration (allocation bounds).
        lakehouse: holds the gold tables the allocate step wrote.
        sim_dir: the folder ``generate`` wrote (truth and simulator state).
        as_of: the allocation date; default the truth's last as_of (the day
            after the data end, the only window the counterfactual re-simulates).

    Returns:
        Accuracy per estimate and targeting, and revenue per re-simulated plan.
    """
    from campaign_revenue.incrementality.model import campaign_signals, silver_tables
    from campaign_revenue.methods import get_method
    from campaign_revenue.methods.base import MethodContext
    from campaign_revenue.simulate import counterfactual

    sim = Path(sim_dir)
    windows = pd.read_parquet(sim / "truth" / "campaign_windows.parquet")
    windows["as_of_date"] = pd.to_datetime(windows["as_of_date"]).dt.date
    as_of = as_of or max(windows["as_of_date"])
    truth = windows[windows["as_of_date"] == as_of][["campaign_id", "incremental_revenue"]]

    est = (
        lakehouse.read(INCREMENTALITY_TABLE)
        .where(F.col("as_of_date") == F.lit(as_of))
        .toPandas()
    )
    tables = silver_tables(lakehouse)
    h = cfg.backtest.horizon_days
    signals = campaign_signals(
        tables, as_of, h, cfg.backtest.roas_lookback_days, excess=False
    ).toPandas()
    ctx = MethodContext(tables=tables, horizon_days=h, config=cfg.backtest)
    pairs = spark.createDataFrame(
        [(c, as_of) for c in est["campaign_id"]], "campaign_id string, as_of_date date"
    )
    mta = get_method("mta_linear").roas(pairs, ctx).toPandas()[["campaign_id", "roas"]]
    base = (
        est.merge(truth, on="campaign_id", how="left")
        .merge(signals[["campaign_id", "last_touch_roas"]], on="campaign_id", how="left")
        .merge(mta, on="campaign_id", how="left")
    )
    base["incremental_revenue"] = base["incremental_revenue"].fillna(0.0)
    base = base[base["planned_spend"] > 0].copy()
    base["true_roas"] = base["incremental_revenue"] / base["planned_spend"]
    base["last_touch"] = base["last_touch_roas"] * base["planned_spend"]
    base["multi_touch_linear"] = base["roas"] * base["planned_spend"]
    accuracy = _accuracy(base, {
        "product": "predicted_incremental_revenue",
        "last_touch": "last_touch",
        "multi_touch_linear": "multi_touch_linear",
    })

    alloc = (
        lakehouse.read("gold.budget_allocations")
        .where(F.col("as_of_date") == F.lit(as_of))
        .toPandas()
    )
    current = dict(zip(alloc["campaign_id"], alloc["current_spend"]))
    channel = dict(zip(est["campaign_id"], est["channel"]))
    bounds = allocation_bounds(current, channel, cfg.allocation)
    total = float(sum(current.values()))

    lt = est.assign(
        predicted_incremental_revenue=est["campaign_id"].map(
            dict(zip(signals["campaign_id"], signals["last_touch_roas"]))
        ).fillna(0.0) * est["planned_spend"],
    ).assign(incremental_lower=0.0, incremental_upper=0.0)
    grid = np.linspace(0.0, cfg.allocation.curve_max_multiplier, cfg.allocation.curve_points)
    lt_plan = optimize(
        curve_functions(response_curves(lt, {}, grid, exponential_shape())), total, bounds
    )
    truth_curves = pd.read_parquet(sim / "truth" / "response_curves.parquet")
    plans = {
        "current": current,
        "last_touch": lt_plan,
        "product": dict(zip(alloc["campaign_id"], alloc["recommended_spend"])),
        "best": best_truth_plan(truth_curves, bounds, total),
    }
    rows = []
    for name, spend in plans.items():
        sim_out = counterfactual(sim, {c: v for c, v in spend.items() if current.get(c, 0) > 0})
        rows.append((name, float(sim_out["expected_incremental_revenue"].sum())))
    return IncrementalityEvaluation(
        as_of=as_of,
        accuracy=accuracy,
        plans=pd.DataFrame(rows, columns=["plan", "incremental_revenue"]),
    )
