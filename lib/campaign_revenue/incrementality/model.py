"""Estimated incremental revenue of every campaign, calibrated on measured lifts.

A campaign's own incremental ROAS is what its exposed customers bought above
their organic rate over the lookback, divided by its spend there (see
:mod:`campaign_revenue.incrementality.excess`). Last touch credits a campaign
with purchases its audience would have made anyway, and those grow with what
the audience already buys (retargeting and brand search reach buyers); the
excess does not. Where the touchpoints or customers are absent, last-touch
ROAS times the share of the audience that did not buy organically stands in.

A campaign without its own history takes the spend-weighted prior of its
channel and targeting, then its channel, then all campaigns. One scale factor
on the own ROAS is fitted to the measured lifts (regression through the origin
weighted by precision, with a prior at 1), like a mix model is calibrated to
lift tests.

Each campaign with its own lift measurements is then pulled toward them by
empirical-Bayes shrinkage in ROAS units::

    posterior = (prior / var_prior + measured / se^2) / (1 / var_prior + 1 / se^2)

so a precise measurement moves the estimate a lot and a noisy one barely.
Incremental revenue is the posterior ROAS times planned spend.

Example:
    >>> calibrate(np.array([1.0]), np.array([0.5]), np.array([3.0]), np.array([0.05]))[0]
    array([2.98019802])
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from campaign_revenue.config import Config
from campaign_revenue.incrementality.excess import exposure_excess
from campaign_revenue.incrementality.lift import (
    holdout_windows,
    measure_lift,
    write_lift,
    z_value,
)
from campaign_revenue.planning import planned_spend
from campaign_revenue.schema import INCREMENTALITY
from campaign_revenue.tables import Lakehouse

log = logging.getLogger(__name__)

INCREMENTALITY_TABLE = "gold.incrementality"
# Declared once in schema.py, the gold table's contract.
INCREMENTALITY_KEY = INCREMENTALITY.key
INCREMENTALITY_COLUMNS = (
    "campaign_id",
    "as_of_date",
    "predicted_incremental_revenue",
    "incremental_lower",
    "incremental_upper",
    "incremental_roas",
)
EXTRA_COLUMNS = (
    "channel",
    "targeting",
    "planned_spend",
    "prior_roas",
    "measured_roas",
    "measured_se",
    "roas_source",
)
SILVER = ("campaigns", "customers", "conversions", "spend_daily", "touchpoints",
          "campaign_audiences", "spend_plan")


def calibrate(
    prior: np.ndarray,
    prior_sd: np.ndarray,
    measured: np.ndarray,
    se: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Precision-weighted posterior of a prior and a measurement (normal-normal).

    A missing measurement (nan) or a non-positive ``se`` with nan leaves the
    prior unchanged. A zero ``se`` returns the measurement.

    Returns:
        The posterior mean and standard deviation.
    """
    prior = np.asarray(prior, dtype=float)
    var_p = np.maximum(np.asarray(prior_sd, dtype=float), 1e-12) ** 2
    m = np.asarray(measured, dtype=float)
    se = np.asarray(se, dtype=float)
    has = np.isfinite(m) & np.isfinite(se)
    var_m = np.where(has, np.maximum(se, 1e-12) ** 2, np.inf)
    m = np.where(has, m, 0.0)
    precision = 1.0 / var_p + 1.0 / var_m
    mean = (prior / var_p + m / var_m) / precision
    return mean, np.sqrt(1.0 / precision)


def campaigns_in_window(
    campaigns: DataFrame, as_of: dt.date, horizon_days: int
) -> DataFrame:
    """Campaigns whose flight overlaps [as_of, as_of + horizon): active or planned."""
    end = as_of + dt.timedelta(days=horizon_days)
    return campaigns.where(
        (F.col("start_date") < F.lit(end))
        & (F.col("end_date").isNull() | (F.col("end_date") >= F.lit(as_of)))
    )


def campaign_signals(
    tables: dict[str, DataFrame],
    as_of: dt.date,
    horizon_days: int = 30,
    lookback_days: int = 90,
    *,
    window_days: int = 3,
    baseline_days: int = 365,
    prior_days: float = 5.0,
    carryover_days: int = 21,
    max_decay: float = 0.85,
    excess: bool = True,
) -> DataFrame:
    """Per in-window campaign: plan, last-touch ROAS and what its audience bought.

    Everything reads rows strictly before ``as_of``. ``window_days``,
    ``baseline_days``, ``prior_days``, ``carryover_days`` and ``max_decay``
    are those of :func:`~campaign_revenue.incrementality.excess.exposure_excess`.

    Returns:
        campaign_id, as_of_date, channel, targeting, planned_spend,
        lookback_spend, last_touch_roas (null without spend in the lookback),
        organic_share (share of customers touched in the lookback who bought
        organically in it; null without touches), audience_value (mean
        revenue in the lookback of the customers touched in it; null without
        touches), excess_revenue (revenue of the exposed above their organic
        rate in the lookback; null without touches, without the customers
        table or with ``excess`` false, which skips its Spark jobs).
    """
    campaigns = tables["campaigns"]
    targeting = (
        F.col("targeting") if "targeting" in campaigns.columns else F.lit(None)
    )
    scope = campaigns_in_window(campaigns, as_of, horizon_days).select(
        "campaign_id",
        F.lit(as_of).cast("date").alias("as_of_date"),
        "channel",
        targeting.cast("string").alias("targeting"),
    )
    pairs = scope.select("campaign_id", "as_of_date")
    plan = planned_spend(
        campaigns,
        tables["spend_daily"],
        tables.get("spend_plan"),
        pairs,
        horizon_days=horizon_days,
    ).select("campaign_id", "planned_spend")

    as_of_col = F.lit(as_of).cast("date")
    as_of_ts = as_of_col.cast("timestamp")
    since_ts = F.lit(as_of - dt.timedelta(days=lookback_days)).cast("timestamp")
    spent = (
        tables["spend_daily"]
        .where(
            (F.col("date") < as_of_col)
            & (F.col("date") >= F.date_sub(as_of_col, lookback_days))
        )
        .groupBy("campaign_id")
        .agg(F.sum("spend").alias("_spend"))
    )
    recent = tables["conversions"].where(
        (F.col("ts") < as_of_ts) & (F.col("ts") >= since_ts)
    )
    credited = (
        recent.where(F.col("campaign_id").isNotNull())
        .groupBy("campaign_id")
        .agg(F.sum("revenue").alias("_credited"))
    )
    roas = spent.join(credited, "campaign_id", "left").select(
        "campaign_id",
        F.col("_spend").alias("lookback_spend"),
        F.when(
            F.col("_spend") > 0,
            F.coalesce("_credited", F.lit(0.0)) / F.col("_spend"),
        ).alias("last_touch_roas"),
    )
    out = scope.join(plan, "campaign_id", "left").join(roas, "campaign_id", "left")

    if "touchpoints" in tables:
        organic = (
            recent.where(F.col("campaign_id").isNull())
            .select("customer_id")
            .distinct()
            .withColumn("_organic", F.lit(1.0))
        )
        value = recent.groupBy("customer_id").agg(F.sum("revenue").alias("_value"))
        share = (
            tables["touchpoints"]
            .where((F.col("ts") < as_of_ts) & (F.col("ts") >= since_ts))
            .select("campaign_id", "customer_id")
            .distinct()
            .join(organic, "customer_id", "left")
            .join(value, "customer_id", "left")
            .groupBy("campaign_id")
            .agg(
                F.avg(F.coalesce("_organic", F.lit(0.0))).alias("organic_share"),
                F.avg(F.coalesce("_value", F.lit(0.0))).alias("audience_value"),
            )
        )
        out = out.join(share, "campaign_id", "left")
    else:
        out = out.withColumn("organic_share", F.lit(None).cast("double"))
        out = out.withColumn("audience_value", F.lit(None).cast("double"))
    if excess and "touchpoints" in tables and "customers" in tables:
        excess_rows = exposure_excess(
            tables, as_of, lookback_days, window_days,
            max(baseline_days, lookback_days), prior_days,
            carryover_days=carryover_days, max_decay=max_decay,
        ).select("campaign_id", "excess_revenue")
        out = out.join(excess_rows, "campaign_id", "left")
    else:
        out = out.withColumn("excess_revenue", F.lit(None).cast("double"))
    return out.withColumn(
        "planned_spend", F.coalesce("planned_spend", F.lit(0.0))
    )


def lift_roas(
    lifts: DataFrame, spend_daily: DataFrame, horizon_days: int = 30
) -> DataFrame:
    """Measured incremental ROAS per campaign over its measured windows.

    Each window's lift is divided by the campaign's spend in that window, and
    the windows are combined by inverse-variance weights.

    Returns:
        campaign_id, measured_roas, measured_se, windows.
    """
    window_spend = (
        lifts.select("campaign_id", "window_start")
        .join(spend_daily.select("campaign_id", "date", "spend"), "campaign_id")
        .where(
            (F.col("date") >= F.col("window_start"))
            & (F.col("date") < F.date_add("window_start", horizon_days))
        )
        .groupBy("campaign_id", "window_start")
        .agg(F.sum("spend").alias("_spend"))
    )
    per = (
        lifts.join(window_spend, ["campaign_id", "window_start"])
        .where((F.col("_spend") > 0) & (F.col("se") > 0))
        .withColumn("_roas", F.col("incremental_revenue") / F.col("_spend"))
        .withColumn("_w", F.pow(F.col("_spend") / F.col("se"), 2))
    )
    return per.groupBy("campaign_id").agg(
        (F.sum(F.col("_w") * F.col("_roas")) / F.sum("_w")).alias("measured_roas"),
        (1.0 / F.sqrt(F.sum("_w"))).alias("measured_se"),
        F.count("*").alias("windows"),
    )


def own_roas(df: pd.DataFrame) -> pd.Series:
    """Each campaign's incremental ROAS from its own lookback, nan without one.

    The exposure excess over the lookback spend (negative excess counts 0).
    Signals without an ``excess_revenue`` column (no touchpoints or customers
    table) fall back to last-touch ROAS times the share of the touched
    audience that did not buy organically.
    """
    if "excess_revenue" in df and "lookback_spend" in df:
        spend = pd.to_numeric(df["lookback_spend"], errors="coerce")
        excess = pd.to_numeric(df["excess_revenue"], errors="coerce")
        return excess.clip(lower=0.0) / spend.where(spend > 0)
    organic = pd.to_numeric(df.get("organic_share"), errors="coerce")
    return df["last_touch_roas"] * (1.0 - organic.fillna(0.0))


def estimate_incrementality(
    signals: pd.DataFrame,
    measured: pd.DataFrame,
    *,
    prior_cv: float = 0.5,
    scale_sd: float = 0.5,
    level: float = 0.9,
) -> pd.DataFrame:
    """Posterior incremental ROAS and revenue per campaign.

    Args:
        signals: rows of :func:`campaign_signals`.
        measured: rows of :func:`lift_roas` (may be empty).
        prior_cv: prior standard deviation as a share of the prior ROAS.
        scale_sd: prior standard deviation of the calibration factor around 1.
        level: interval level of the lower and upper bounds.

    Returns:
        ``INCREMENTALITY_COLUMNS`` followed by ``EXTRA_COLUMNS``.
    """
    df = signals.merge(measured, on="campaign_id", how="left")
    for col in ("measured_roas", "measured_se"):
        if col not in df:
            df[col] = np.nan
    own = own_roas(df)
    df["_own"] = own
    df["roas_source"] = np.where(own.notna(), "campaign", None)
    df["targeting"] = df["targeting"].fillna("unknown")
    weight = df["planned_spend"].where(df["planned_spend"] > 0, 1.0)
    for keys, source in ((["channel", "targeting"], "targeting"),
                         (["channel"], "channel"), ([], "all")):
        have = df["_own"].notna()
        if not have.any():
            break
        if keys:
            pooled = (
                (df.loc[have, "_own"] * weight[have])
                .groupby([df.loc[have, k] for k in keys]).sum()
                / weight[have].groupby([df.loc[have, k] for k in keys]).sum()
            )
            fill = df[keys].apply(tuple, axis=1).map(
                lambda k: pooled.get(k if len(k) > 1 else k[0], np.nan)
            )
        else:
            fill = pd.Series(
                np.average(df.loc[have, "_own"], weights=weight[have]), df.index
            )
        gap = df["_own"].isna() & fill.notna()
        df.loc[gap, "roas_source"] = source
        df.loc[gap, "_own"] = fill[gap]
    df["_own"] = df["_own"].fillna(0.0).clip(lower=0.0)

    # One calibration factor: measured ~ k * prior, k ~ N(1, scale_sd^2).
    m, se, p = df["measured_roas"], df["measured_se"], df["_own"]
    ok = m.notna() & (se > 0)
    num = 1.0 / scale_sd**2 + float((p[ok] * m[ok] / se[ok] ** 2).sum())
    den = 1.0 / scale_sd**2 + float((p[ok] ** 2 / se[ok] ** 2).sum())
    scale = max(num / den, 0.0)
    df["prior_roas"] = scale * df["_own"]

    prior_sd = np.maximum(prior_cv * df["prior_roas"].to_numpy(), 1e-3)
    post, sd = calibrate(df["prior_roas"].to_numpy(), prior_sd, m.to_numpy(), se.to_numpy())
    post = np.maximum(post, 0.0)
    z = z_value(level)
    planned = df["planned_spend"].to_numpy(dtype=float)
    df["incremental_roas"] = post
    df["predicted_incremental_revenue"] = post * planned
    df["incremental_lower"] = np.maximum(post - z * sd, 0.0) * planned
    df["incremental_upper"] = (post + z * sd) * planned
    log.info(
        "incrementality campaigns=%d own_history=%d measured=%d scale=%.3f",
        len(df), int(own.notna().sum()), int(ok.sum()), scale,
    )
    return df[list(INCREMENTALITY_COLUMNS) + list(EXTRA_COLUMNS)]


def signals_for(
    tables: dict[str, DataFrame], cfg: Config, as_of: dt.date
) -> DataFrame:
    """:func:`campaign_signals` with the run configuration's settings."""
    a = cfg.allocation
    return campaign_signals(
        tables, as_of, cfg.backtest.horizon_days, cfg.backtest.roas_lookback_days,
        window_days=a.exposure_window_days, baseline_days=a.baseline_days,
        prior_days=a.rate_prior_days, carryover_days=a.carryover_days,
        max_decay=a.max_decay,
    )


def silver_tables(lakehouse: Lakehouse) -> dict[str, DataFrame]:
    """The silver tables this step reads (the optional ones when present)."""
    return {
        name: lakehouse.read(f"silver.{name}")
        for name in SILVER
        if lakehouse.exists(f"silver.{name}")
    }


def default_as_of(tables: dict[str, DataFrame]) -> dt.date:
    """The day after the latest conversion or spend date."""
    last_ts = tables["conversions"].agg(F.max(F.to_date("ts"))).first()[0]
    last_spend = tables["spend_daily"].agg(F.max("date")).first()[0]
    latest = max(d for d in (last_ts, last_spend) if d is not None)
    return latest + dt.timedelta(days=1)


def run_incrementality(
    spark: SparkSession,
    cfg: Config,
    lakehouse: Lakehouse,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """Measure lifts, estimate every campaign's incrementality, write both.

    Writes ``gold.lift_measurements`` (windows closed before ``as_of``) and
    ``gold.incrementality`` for ``as_of`` (rows of campaigns no longer in scope
    for that date are deleted, so a rerun leaves the same rows).

    Returns:
        The estimates with ``INCREMENTALITY_COLUMNS`` and ``EXTRA_COLUMNS``.
    """
    started = time.perf_counter()
    a = cfg.allocation
    h = cfg.backtest.horizon_days
    tables = silver_tables(lakehouse)
    as_of = as_of or default_as_of(tables)
    measured = pd.DataFrame(columns=["campaign_id", "measured_roas", "measured_se"])
    if "campaign_audiences" in tables:
        windows = holdout_windows(
            tables["campaigns"], tables["campaign_audiences"], as_of, h,
            a.lift_windows,
        )
        lifts = measure_lift(tables, windows, h, a.lift_level).cache()
        if lifts.take(1):
            write_lift(lakehouse, lifts)
            measured = lift_roas(lifts, tables["spend_daily"], h).toPandas()
        lifts.unpersist()
    # Hand-off: one row per campaign in the window.
    signals = signals_for(tables, cfg, as_of).toPandas()
    est = estimate_incrementality(
        signals, measured, prior_cv=a.prior_cv, scale_sd=a.scale_sd,
        level=a.interval_level,
    )
    est["as_of_date"] = as_of
    write_incrementality(spark, lakehouse, est, as_of)
    log.info(
        "incrementality as_of=%s campaigns=%d seconds=%.1f",
        as_of, len(est), time.perf_counter() - started,
    )
    return est


def write_incrementality(
    spark: SparkSession, lakehouse: Lakehouse, est: pd.DataFrame, as_of: dt.date
) -> None:
    """MERGE the estimates of ``as_of`` into ``gold.incrementality``."""
    cols = list(INCREMENTALITY_COLUMNS) + list(EXTRA_COLUMNS)
    rows = est[cols].astype(object).where(est[cols].notna(), None)
    df = spark.createDataFrame(
        [tuple(_py(v) for v in r) for r in rows.itertuples(index=False)],
        INCREMENTALITY.ddl(),
    )
    lakehouse.merge(
        df,
        INCREMENTALITY_TABLE,
        key=INCREMENTALITY_KEY,
        delete_unmatched=F.col("t.as_of_date") == F.lit(as_of),
    )


def _py(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return value


def incrementality_for(
    spark: SparkSession,
    cfg: Config,
    lakehouse: Lakehouse,
    as_of: dt.date,
) -> DataFrame:
    """Incrementality columns of ``as_of`` for the scoring step to join.

    Reads ``gold.incrementality`` and computes (and writes) the date first
    when the table has no row for it.

    Returns:
        campaign_id, as_of_date, predicted_incremental_revenue,
        incremental_lower, incremental_upper, incremental_roas.
    """
    if lakehouse.exists(INCREMENTALITY_TABLE):
        rows = lakehouse.read(INCREMENTALITY_TABLE).where(
            F.col("as_of_date") == F.lit(as_of)
        )
        if rows.take(1):
            return rows.select(*INCREMENTALITY_COLUMNS)
    run_incrementality(spark, cfg, lakehouse, as_of)
    return (
        lakehouse.read(INCREMENTALITY_TABLE)
        .where(F.col("as_of_date") == F.lit(as_of))
        .select(*INCREMENTALITY_COLUMNS)
    )
