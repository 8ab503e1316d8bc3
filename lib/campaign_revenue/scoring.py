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
from dataclasses import dataclass
from typing import Protocol

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from campaign_revenue.config import Config
from campaign_revenue.features.dictionary import display, feature_info
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

    def __str__(self) -> str:
        lines = [
            f"scored {self.campaigns} campaigns ({self.not_launched} not launched) "
            f"as of {self.as_of} with {self.model} in {self.seconds:.0f} s",
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
    top["display_value"] = [
        display(f, v) for f, v in zip(top["feature"], top["feature_value"])
    ]
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
