"""Gradient-boosted trees on flat campaign features, with an 80% quantile interval.

Features come from ``features.campaign_snapshots`` (every numeric column plus the
categorical channel and targeting). Without that table, ``basic_features`` builds
a small point-in-time stand-in from the silver tables.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from campaign_revenue.methods.base import (
    Method,
    MethodContext,
    daily_attributed_revenue,
    in_lookback,
    snapshot_pairs,
    window_planned_spend,
)

log = logging.getLogger(__name__)

KEYS = ("campaign_id", "as_of_date")
CATEGORICAL = ("channel", "targeting")
NOT_FEATURES = ("label", "split", "label_complete", "prediction", "lower", "upper")
ALPHAS = (0.1, 0.9)


def basic_features(pairs: DataFrame, ctx: MethodContext) -> DataFrame:
    """A minimal point-in-time feature frame from the silver tables.

    Columns: credited revenue and spend over the last 30 and 90 days, planned
    spend, days since start, channel and targeting.
    """
    rev = daily_attributed_revenue(ctx.table("conversions"))
    spend = ctx.table("spend_daily").select("campaign_id", "date", "spend")
    out = pairs
    for name, daily, value in (("revenue", rev, "revenue"), ("spend", spend, "spend")):
        for days in (30, 90):
            agg = (
                pairs.join(daily, "campaign_id")
                .where(in_lookback("date", "as_of_date", days))
                .groupBy(*KEYS)
                .agg(F.sum(value).alias(f"{name}_{days}d"))
            )
            out = out.join(agg, list(KEYS), "left")
    campaigns = ctx.table("campaigns")
    targeting = (
        F.col("targeting") if "targeting" in campaigns.columns else F.lit(None)
    )
    meta = campaigns.select(
        "campaign_id", "channel", targeting.cast("string").alias("targeting"),
        "start_date",
    )
    return (
        out.join(window_planned_spend(pairs, ctx), list(KEYS), "left")
        .join(meta, "campaign_id", "left")
        .withColumn(
            "days_since_start",
            F.datediff("as_of_date", "start_date").cast("double"),
        )
        .drop("start_date")
        .na.fill(0.0)
    )


class LightGbm(Method):
    """LightGBM on log1p(label); quantile models give the 80% interval.

    Args:
        n_estimators: boosting rounds; default from the config.
        min_child_samples: leaf size; default from the config (lowered on
            small training sets).
    """

    name = "lightgbm"
    gives_intervals = True

    def __init__(
        self, n_estimators: int | None = None, min_child_samples: int | None = None
    ) -> None:
        self.n_estimators = n_estimators
        self.min_child_samples = min_child_samples
        self.models: dict[str, object] = {}
        self.feature_names: list[str] = []
        self.categories: dict[str, list[str]] = {}

    def _features(self, pairs: DataFrame, ctx: MethodContext) -> pd.DataFrame:
        if ctx.features is not None:
            feats = pairs.join(ctx.features, list(KEYS), "left")
        else:
            feats = basic_features(pairs, ctx)
        keep = [
            f.name
            for f in feats.schema.fields
            if f.name not in NOT_FEATURES
            and (
                f.name in KEYS
                or f.name in CATEGORICAL
                or f.dataType.typeName()
                in ("double", "float", "integer", "long", "short", "boolean", "decimal")
            )
        ]
        # Hand-off to pandas: one row per (campaign, as_of), O(campaigns x dates).
        return feats.select(*keep).toPandas()

    def _matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = pd.DataFrame(index=frame.index)
        for col in self.feature_names:
            if col in self.categories:
                x[col] = pd.Categorical(
                    frame.get(col, pd.Series(index=frame.index, dtype=object))
                    .astype(object),
                    categories=self.categories[col],
                )
            else:
                x[col] = pd.to_numeric(frame.get(col), errors="coerce").astype(float)
        return x

    def _params(self, ctx: MethodContext, n: int) -> dict:
        leaf = self.min_child_samples or ctx.config.gbm_min_child_samples
        return {
            "n_estimators": self.n_estimators or ctx.config.gbm_estimators,
            "learning_rate": 0.05,
            "num_leaves": 15,
            "min_child_samples": max(1, min(leaf, n // 10)),
            "subsample": 1.0,
            "colsample_bytree": 1.0,
            "random_state": ctx.config.seed,
            "n_jobs": ctx.config.num_threads,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }

    def fit(self, train: DataFrame, ctx: MethodContext) -> LightGbm:
        import lightgbm as lgb

        labelled = train.where(F.col("label").isNotNull()).select(
            *KEYS, F.col("label").cast("double").alias("label")
        )
        frame = self._features(snapshot_pairs(labelled), ctx).merge(
            labelled.toPandas(), on=list(KEYS)
        )
        if frame.empty:
            raise ValueError("lightgbm got no labelled training examples")
        self.feature_names = [c for c in frame.columns if c not in (*KEYS, "label")]
        self.categories = {
            c: sorted(frame[c].dropna().astype(str).unique().tolist())
            for c in CATEGORICAL
            if c in self.feature_names
        }
        x = self._matrix(frame)
        y = np.log1p(np.clip(frame["label"].to_numpy(float), 0.0, None))
        params = self._params(ctx, len(frame))
        self.models = {
            "point": lgb.LGBMRegressor(objective="regression", **params).fit(x, y)
        }
        for alpha in ALPHAS:
            self.models[f"q{alpha}"] = lgb.LGBMRegressor(
                objective="quantile", alpha=alpha, **params
            ).fit(x, y)
        log.info(
            "lightgbm fit rows=%d features=%d", len(frame), len(self.feature_names)
        )
        return self

    def predict(self, snapshots: DataFrame, ctx: MethodContext) -> DataFrame:
        if not self.models:
            raise ValueError("lightgbm is not fitted; call fit first")
        frame = self._features(snapshot_pairs(snapshots), ctx)
        x = self._matrix(frame)

        def run(key: str) -> np.ndarray:
            return np.clip(np.expm1(self.models[key].predict(x)), 0.0, None)

        point = run("point")
        lo, hi = run(f"q{ALPHAS[0]}"), run(f"q{ALPHAS[1]}")
        lower = np.minimum(np.minimum(lo, hi), point)
        upper = np.maximum(np.maximum(lo, hi), point)
        out = pd.DataFrame({
            "campaign_id": frame["campaign_id"].astype(str),
            "as_of_date": frame["as_of_date"],
            "prediction": point.astype(float),
            "lower": lower.astype(float),
            "upper": upper.astype(float),
        })
        spark = snapshots.sparkSession
        return spark.createDataFrame(
            out,
            "campaign_id string, as_of_date date, prediction double, "
            "lower double, upper double",
        )
