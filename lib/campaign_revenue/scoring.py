"""Scoring: the champion's 30-day forecasts, intervals and reasons, written for BI.

For an ``as_of`` date (default: the day after the latest input timestamp) every
campaign active then or planned to start in the window is scored by the model
holding the ``champion`` alias in the MLflow registry. Predictions go to
``gold.campaign_predictions`` beside last-touch ROAS and planned spend, and the
top five feature attributions, in plain words, to ``gold.prediction_attributions``.
Both are MERGEs on their keys in single Delta commits: a rerun for the same date
replaces that date's rows, and a run killed mid-write leaves the previous version.

Example:
    >>> summary = run_score(spark, cfg, lakehouse)  # doctest: +SKIP
    >>> print(summary)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from campaign_revenue.config import Config
from campaign_revenue.features.dictionary import OFFSET_FEATURE, display, feature_info
from campaign_revenue.schema import CAMPAIGN_PREDICTIONS, PREDICTION_ATTRIBUTIONS
from campaign_revenue.tables import Lakehouse

log = logging.getLogger(__name__)

TOP_ATTRIBUTIONS = 5
PREDICTIONS = "gold.campaign_predictions"
ATTRIBUTIONS = "gold.prediction_attributions"


class ScoringModel(Protocol):
    """What scoring needs from a registered model."""

    name: str
    version: str
    run_id: str
    interval_level: float

    def predict_pairs(
        self, spark: SparkSession, cfg: Config, lakehouse: Lakehouse, pairs: DataFrame
    ) -> pd.DataFrame:
        """campaign_id, as_of_date, prediction, lower, upper per pair."""

    def attribute_pairs(
        self, spark: SparkSession, cfg: Config, lakehouse: Lakehouse, pairs: DataFrame
    ) -> pd.DataFrame:
        """campaign_id, as_of_date, feature, feature_value, attribution (long)."""


@dataclass
class ScoreSummary:
    as_of: dt.date
    model: str
    campaigns: int
    not_launched: int
    seconds: float
    top: pd.DataFrame
    locations: dict[str, str]
    stages: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [
            f"scored {self.campaigns} campaigns ({self.not_launched} not launched) "
            f"as of {self.as_of} with {self.model} in {self.seconds:.0f} s ("
            + ", ".join(f"{k} {v:.0f} s" for k, v in self.stages.items())
            + ")",
            self.top.to_string(index=False),
        ]
        lines += [f"{name}: {where}" for name, where in self.locations.items()]
        return "\n".join(lines)


def default_as_of(tables: dict[str, DataFrame]) -> dt.date:
    """The day after the latest input timestamp (conversions, touchpoints, spend)."""
    latest = [
        tables["conversions"].agg(F.max("ts")).first()[0],
        tables["touchpoints"].agg(F.max("ts")).first()[0],
    ]
    spend_day = tables["spend_daily"].agg(F.max("date")).first()[0]
    days = [t.date() for t in latest if t is not None]
    if spend_day is not None:
        days.append(spend_day)
    if not days:
        raise ValueError(
            "no input rows carry a timestamp: run `campaign-revenue ingest` first"
        )
    return max(days) + dt.timedelta(days=1)


def top_attributions(long: pd.DataFrame, k: int = TOP_ATTRIBUTIONS) -> pd.DataFrame:
    """The k largest absolute attributions per prediction, in plain words.

    Args:
        long: one row per (campaign_id, as_of_date, feature) with
            ``feature_value`` and ``attribution`` (signed, in revenue units or
            any unit shared within a prediction).
        k: how many to keep per prediction.

    Returns:
        The columns of ``gold.prediction_attributions``; ``share`` is the
        feature's absolute attribution over the sum over all features, so the
        shares of all features of a prediction sum to 1.
    """
    df = long.copy()
    df["abs"] = df["attribution"].abs()
    total = df.groupby(["campaign_id", "as_of_date"])["abs"].transform("sum")
    df["share"] = (df["abs"] / total.where(total > 0)).fillna(0.0)
    df = df.sort_values(
        ["campaign_id", "as_of_date", "abs", "feature"],
        ascending=[True, True, False, True],
    )
    df["rank"] = df.groupby(["campaign_id", "as_of_date"]).cumcount() + 1
    top = df[df["rank"] <= k].copy()
    top["description"] = [feature_info(f).description for f in top["feature"]]
    shown = top["raw_value"] if "raw_value" in top else top["feature_value"]
    top["display_value"] = [display(f, v) for f, v in zip(top["feature"], shown)]
    top["direction"] = ["raises" if a >= 0 else "lowers" for a in top["attribution"]]
    columns = [c.name for c in PREDICTION_ATTRIBUTIONS.columns]
    return top[columns].reset_index(drop=True)


def _to_spark(spark: SparkSession, frame: pd.DataFrame, ddl: str) -> DataFrame:
    return spark.createDataFrame(frame, schema=ddl)


def write_scores(
    spark: SparkSession,
    lakehouse: Lakehouse,
    predictions: pd.DataFrame,
    attributions: pd.DataFrame,
    as_of: dt.date,
) -> None:
    """MERGE both gold tables; rows of ``as_of`` no longer produced are deleted."""
    same_day = F.col("t.as_of_date") == F.lit(as_of)
    preds = _to_spark(spark, predictions, CAMPAIGN_PREDICTIONS.ddl())
    lakehouse.merge(
        preds,
        PREDICTIONS,
        key=list(CAMPAIGN_PREDICTIONS.key),
        delete_unmatched=same_day,
    )
    attrs = _to_spark(spark, attributions, PREDICTION_ATTRIBUTIONS.ddl())
    lakehouse.merge(
        attrs,
        ATTRIBUTIONS,
        key=list(PREDICTION_ATTRIBUTIONS.key),
        delete_unmatched=same_day,
    )


def _attributions_long(champion, raw, keys: pd.DataFrame) -> pd.DataFrame:
    """Integrated Gradients per named feature, long, with the raw values.

    Campaign features keep their names; one-hot columns (``channel=social``)
    are summed back into their feature. The customer-side inputs are summed
    over each snapshot's sampled audience by the model and named
    ``audience_<x>`` here, with the audience's mean as the value, so the graph's
    contribution reads as relational features, never as embedding dimensions.
    O(snapshots x features) rows: the scored campaigns, not the data.
    """
    camp_attr, cust_attr = champion.attribute(raw)
    rows = []
    for i, (cid, day) in enumerate(zip(keys["campaign_id"], keys["as_of_date"])):
        values = raw.campaign.iloc[i]
        grouped: dict[str, float] = {}
        for name in camp_attr.columns:
            base = name.split("=", 1)[0]
            grouped[base] = grouped.get(base, 0.0) + float(camp_attr.iloc[i][name])
        for base, attr in grouped.items():
            value = values.get(base)
            if base == OFFSET_FEATURE and "baseline" in raw.keys.columns:
                value = float(raw.keys["baseline"].iloc[i])
            rows.append((cid, day, base, value, attr))
        lo, hi = raw.ptr[i], raw.ptr[i + 1]
        grouped = {}
        for name in cust_attr.columns:
            base = name.split("=", 1)[0]
            grouped[base] = grouped.get(base, 0.0) + float(cust_attr.iloc[i][name])
        for base, attr in grouped.items():
            mean = None
            if base in raw.customer_columns and hi > lo:
                col = raw.customer_columns.index(base)
                mean = float(raw.customer[lo:hi, col].mean())
            rows.append((cid, day, f"audience_{base}", mean, attr))
    long = pd.DataFrame(
        rows,
        columns=["campaign_id", "as_of_date", "feature", "raw_value", "attribution"],
    )
    long["feature_value"] = [_number(v) for v in long["raw_value"]]
    return long


def _number(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if pd.isna(out) else out


def run_score(
    spark: SparkSession,
    cfg: Config,
    lakehouse: Lakehouse,
    as_of: dt.date | None = None,
) -> ScoreSummary:
    """Score every campaign active at ``as_of`` or planned to launch in its window.

    Raises:
        LookupError: no champion model is registered (run ``campaign-revenue train``).
    """
    from campaign_revenue.graph.run import run_graph
    from campaign_revenue.model.registry import load_champion
    from campaign_revenue.model.tensors import build_snapshots
    from campaign_revenue.query.snapshots import read_silver_tables

    started = time.perf_counter()
    champion = load_champion(cfg)
    tables = read_silver_tables(lakehouse)
    as_of = as_of or default_as_of(tables)
    stages: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[name] = now - mark
        mark = now

    # Only the as_of's overlap and features: the edge lists are the graph
    # job's, and nothing here reads them.
    run_graph(spark, cfg, lakehouse, as_of=as_of, edge_lists=False)
    lap("features")
    features = lakehouse.read("features.campaign_snapshots").where(
        F.col("as_of_date") == F.lit(as_of)
    )
    pairs = features.select("campaign_id", "as_of_date")
    handoff = Path(cfg.lakehouse.root).expanduser() / "_handoff" / f"score-{as_of}"
    raw = build_snapshots(
        tables,
        features,
        pairs,
        handoff,
        k=cfg.model.max_customers or cfg.model.fanout[0],
        seed=cfg.training.seed,
        lookback_days=cfg.model.customer_lookback_days,
        horizon_days=cfg.backtest.horizon_days,
        roas_lookback_days=cfg.backtest.roas_lookback_days,
    )
    if len(raw) == 0:
        raise ValueError(f"no campaign is active or planned at {as_of}")
    lap("handoff")
    keys = raw.keys.copy()
    keys["as_of_date"] = pd.to_datetime(keys["as_of_date"]).dt.date
    pred, lower, upper = champion.predict(raw)

    # Beside each forecast: planned spend and last-touch ROAS, per campaign
    # (O(campaigns) rows reach the driver).
    context = (
        features.select(
            "campaign_id",
            F.col("planned_spend_30d").alias("planned_spend"),
            F.col("roas_90d").alias("last_touch_roas"),
        )
        .toPandas()
        .set_index("campaign_id")
    )
    predictions = pd.DataFrame(
        {
            "campaign_id": keys["campaign_id"],
            "as_of_date": keys["as_of_date"],
            "is_launched": keys["is_launched"].astype(bool),
            "predicted_revenue": pred,
            "revenue_lower": lower,
            "revenue_upper": upper,
            "interval_level": champion.predictor.interval_level,
        }
    )
    predictions = predictions.join(context, on="campaign_id")
    predictions["planned_spend"] = predictions["planned_spend"].fillna(0.0)
    predictions = _with_incrementality(spark, cfg, lakehouse, as_of, predictions)
    predictions["model_name"] = champion.name
    predictions["model_version"] = champion.version
    predictions["mlflow_run_id"] = champion.run_id
    predictions["scored_at"] = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    predictions = predictions[[c.name for c in CAMPAIGN_PREDICTIONS.columns]]

    lap("predict")
    attributions = top_attributions(_attributions_long(champion, raw, keys))
    lap("attributions")
    write_scores(spark, lakehouse, predictions, attributions, as_of)
    lap("write")

    ranked = predictions.sort_values("predicted_revenue", ascending=False)
    top = pd.concat([ranked.head(5), ranked.tail(5)]).drop_duplicates("campaign_id")
    summary = ScoreSummary(
        as_of=as_of,
        model=f"{champion.name} v{champion.version}",
        campaigns=len(predictions),
        not_launched=int((~predictions["is_launched"]).sum()),
        seconds=time.perf_counter() - started,
        top=top[
            [
                "campaign_id",
                "is_launched",
                "predicted_revenue",
                "revenue_lower",
                "revenue_upper",
                "planned_spend",
                "last_touch_roas",
                "predicted_incremental_revenue",
            ]
        ].round(2),
        locations={
            PREDICTIONS: lakehouse.location(PREDICTIONS),
            ATTRIBUTIONS: lakehouse.location(ATTRIBUTIONS),
        },
        stages=stages,
    )
    log.info(
        "score as_of=%s campaigns=%d model=%s seconds=%.1f stages=%s",
        as_of,
        summary.campaigns,
        summary.model,
        summary.seconds,
        {k: round(v, 1) for k, v in stages.items()},
    )
    return summary


def _with_incrementality(
    spark: SparkSession,
    cfg: Config,
    lakehouse: Lakehouse,
    as_of: dt.date,
    predictions: pd.DataFrame,
) -> pd.DataFrame:
    """Join the incrementality step's estimates for ``as_of`` where it has run."""
    columns = [
        "predicted_incremental_revenue",
        "incremental_lower",
        "incremental_upper",
        "incremental_roas",
    ]
    if lakehouse.exists("gold.incrementality"):
        est = (
            lakehouse.read("gold.incrementality")
            .where(F.col("as_of_date") == F.lit(as_of))
            .select("campaign_id", *columns)
            .toPandas()  # one row per campaign
            .set_index("campaign_id")
        )
        return predictions.join(est, on="campaign_id")
    for c in columns:
        predictions[c] = None
    return predictions
