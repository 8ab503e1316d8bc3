"""Spark to tensors: each snapshot's campaign features and customer neighbourhood.

A snapshot (campaign_id, as_of_date) sees its engineered features from
``features.campaign_snapshots`` and up to ``k`` customers the campaign touched
in the ``lookback_days`` before as_of. Every customer row is computed in Spark
with range joins on ``day < as_of_date`` and ``ts < as_of`` (no Python UDF):

- touches of this campaign in the last 7/30/90 days, clicks, recency;
- point-in-time purchase history: organic revenue over 30/90 days, purchases,
  days since the last purchase, revenue credited to this campaign over 30 days;
- the second hop, customer -> other campaigns: how many other campaigns, and
  how many of the same channel, touched the customer in the last 30 days;
- segment and LTV tier one-hot, days since signup.

The hand-off is Parquet under ``<root>/_handoff/<name>/``: one row per
(snapshot, sampled customer), so it grows as snapshots x k (k = 64 by default;
the demo preset: about 2,000 snapshots, under 130k rows). It is the only data
that leaves Spark besides the per-snapshot campaign rows (snapshots x
features). Sampling is seeded and vectorized: customers rank by
``xxhash64(customer_id, seed)`` inside each snapshot, so the sample of a
snapshot does not depend on any row after its as_of.

Example:
    >>> raw = build_snapshots(tables, features, pairs, "/tmp/h", k=8)  # doctest: +SKIP
    >>> spec = FeatureSpec.fit(raw)  # doctest: +SKIP
    >>> data = spec.transform(raw)  # doctest: +SKIP
    >>> data.hetero(torch.arange(4))  # HeteroData of 4 snapshots  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from campaign_revenue.features.campaign import FEATURE_COLUMNS, before_as_of
from campaign_revenue.graph.edges import customer_campaign_days

log = logging.getLogger(__name__)

NodeType = str
EdgeType = tuple[str, str, str]

KEY = ("campaign_id", "as_of_date")
TOUCHED: EdgeType = ("customer", "touched", "campaign")
REV_TOUCHED: EdgeType = ("campaign", "rev_touched", "customer")
CATEGORICAL = ("channel", "targeting")
# Campaign features read as numbers (booleans become 0/1).
NUMERIC = tuple(c for c in FEATURE_COLUMNS if c not in CATEGORICAL)
# Per (snapshot, customer) numeric columns written by ``customer_rows``.
CUSTOMER_NUMERIC = (
    "touches_7d",
    "touches_30d",
    "touches_90d",
    "clicks_90d",
    "clicked",
    "days_since_touch",
    "days_since_first_touch",
    "organic_revenue_30d",
    "organic_revenue_90d",
    "purchases_90d",
    "purchases_to_date",
    "days_since_purchase",
    "campaign_revenue_30d",
    "other_campaigns_30d",
    "same_channel_campaigns_30d",
    "days_since_signup",
)
# Zero, not null, for a customer on the list that the campaign never touched.
TOUCH_COUNTS = ("touches_7d", "touches_30d", "touches_90d", "clicks_90d")
_EPOCH = dt.date(1970, 1, 1)


def _as_of_ts() -> Column:
    return F.col("as_of_date").cast("timestamp")


def _days_before(days: int) -> Column:
    """00:00 UTC of ``as_of_date - days`` as a timestamp."""
    return F.date_sub("as_of_date", days).cast("timestamp")


def listed_audience(audiences: DataFrame, pairs: DataFrame) -> DataFrame:
    """Customers on each snapshot's audience list before as_of, holdout out.

    A campaign that has not launched has touched nobody yet: its list is
    the only audience it has. Holdout members are never exposed, so they
    are not part of the neighbourhood.

    Args:
        audiences: ``silver.campaign_audiences``.
        pairs: (campaign_id, as_of_date) snapshots.

    Returns:
        campaign_id, as_of_date, customer_id, listed_day (the first
        assignment before as_of).
    """
    return (
        audiences.where(~F.coalesce(F.col("is_holdout"), F.lit(False)))
        .select("campaign_id", "customer_id", "assigned_date")
        .join(F.broadcast(pairs), "campaign_id")
        .where(F.col("assigned_date") < F.col("as_of_date"))
        .groupBy("campaign_id", "as_of_date", "customer_id")
        .agg(F.min("assigned_date").alias("listed_day"))
    )


def customer_rows(
    tables: dict[str, DataFrame],
    pairs: DataFrame,
    k: int,
    seed: int = 0,
    lookback_days: int = 90,
) -> DataFrame:
    """Up to ``k`` customers per snapshot with point-in-time features.

    The neighbourhood of a snapshot is the customers the campaign touched
    in the ``lookback_days`` before as_of, then (when ``campaign_audiences``
    is given) those on its list before as_of that it has not touched: the
    touched ones are sampled first, so a launched campaign keeps its
    reached audience and a campaign not launched yet gets its list.

    Args:
        tables: silver ``touchpoints``, ``conversions``, ``customers``,
            ``campaigns`` and optionally ``campaign_audiences``.
        pairs: (campaign_id, as_of_date) snapshots.
        k: customers kept per snapshot.
        seed: the sampling seed.
        lookback_days: touch history read before as_of.

    Returns:
        campaign_id, as_of_date, customer_id, rank, last_touch_day (days since
        1970-01-01 of the last touch, or of the listing for a customer only
        listed), segment, ltv_tier and ``CUSTOMER_NUMERIC``.
    """
    pairs = pairs.select("campaign_id", F.col("as_of_date").cast("date")).distinct()
    # only the lookback before the first as_of can be read: cut it at the scan
    days = customer_campaign_days(
        before_as_of(tables["touchpoints"], pairs, lookback_days)
    )
    channel = tables["campaigns"].select("campaign_id", "channel")
    day, as_of = F.col("day"), F.col("as_of_date")
    keys = ["campaign_id", "as_of_date", "customer_id"]

    def since(n: int) -> Column:
        return day >= F.date_sub(as_of, n)

    # this campaign's touches, cut at as_of: a range join on day
    touched = (
        days.join(F.broadcast(pairs), "campaign_id")
        .where((day < as_of) & since(lookback_days))
        .groupBy(*keys)
        .agg(
            F.sum(F.when(since(7), F.col("n_events")).otherwise(0))
            .alias("touches_7d"),
            F.sum(F.when(since(30), F.col("n_events")).otherwise(0))
            .alias("touches_30d"),
            F.sum("n_events").alias("touches_90d"),
            F.sum("n_clicks").alias("clicks_90d"),
            F.max("day").alias("last_day"),
            F.min("day").alias("first_day"),
        )
    )
    audiences = tables.get("campaign_audiences")
    if audiences is not None:
        # listed but untouched customers: zero touches, no touch recency
        listed = listed_audience(audiences, pairs)
        touched = touched.join(listed, keys, "full").na.fill(0, list(TOUCH_COUNTS))
    else:
        touched = touched.withColumn("listed_day", F.lit(None).cast("date"))

    # seeded sample of up to k customers per snapshot, touched ones first
    order = Window.partitionBy("campaign_id", "as_of_date").orderBy(
        F.col("_listed_only"),
        F.xxhash64("customer_id", F.lit(seed)),
        "customer_id",
    )
    edge_day = F.coalesce("last_day", "listed_day")
    sampled = (
        touched.withColumn("_listed_only", F.col("last_day").isNull())
        .withColumn("rank", F.row_number().over(order))
        .where(F.col("rank") <= k)
        .drop("_listed_only")
        .withColumn("clicked", (F.col("clicks_90d") > 0).cast("double"))
        .withColumn("days_since_touch", F.datediff(as_of, "last_day"))
        .withColumn("days_since_first_touch", F.datediff(as_of, "first_day"))
        .withColumn("last_touch_day", F.datediff(edge_day, F.lit(_EPOCH)))
        .drop("last_day", "first_day", "listed_day")
        # read three times below: materialize once (snapshots x k rows)
        .localCheckpoint()
    )

    # purchase history before as_of: a range join on ts
    conv = tables["conversions"].select(
        "customer_id",
        F.col("campaign_id").alias("credited_id"),
        "revenue",
        "ts",
    )
    organic = F.col("credited_id").isNull()
    recent30 = F.col("ts") >= _days_before(30)
    recent90 = F.col("ts") >= _days_before(90)
    purchases = (
        sampled.select("campaign_id", "as_of_date", "customer_id")
        .join(conv, "customer_id")
        .where(F.col("ts") < _as_of_ts())
        .groupBy("campaign_id", "as_of_date", "customer_id")
        .agg(
            F.sum(F.when(organic & recent30, F.col("revenue")))
            .alias("organic_revenue_30d"),
            F.sum(F.when(organic & recent90, F.col("revenue")))
            .alias("organic_revenue_90d"),
            F.count(F.when(recent90, 1)).alias("purchases_90d"),
            F.count(F.lit(1)).alias("purchases_to_date"),
            F.max("ts").alias("last_purchase_ts"),
            F.sum(
                F.when(
                    recent30 & (F.col("credited_id") == F.col("campaign_id")),
                    F.col("revenue"),
                )
            ).alias("campaign_revenue_30d"),
        )
        .withColumn(
            "days_since_purchase",
            F.datediff(as_of, F.to_date("last_purchase_ts")),
        )
        .drop("last_purchase_ts")
    )

    # second hop: other campaigns touching the customer in the last 30 days
    own_channel = channel.withColumnRenamed("channel", "own_channel")
    others = (
        sampled.select("campaign_id", "as_of_date", "customer_id")
        .join(own_channel, "campaign_id")
        .join(
            days.select(
                "customer_id",
                F.col("campaign_id").alias("other_id"),
                "day",
            ),
            "customer_id",
        )
        .where((day < as_of) & since(30) & (F.col("other_id") != F.col("campaign_id")))
        .join(
            F.broadcast(channel.withColumnRenamed("campaign_id", "other_id")),
            "other_id",
        )
        .groupBy("campaign_id", "as_of_date", "customer_id")
        .agg(
            F.count_distinct("other_id").alias("other_campaigns_30d"),
            F.count_distinct(
                F.when(F.col("channel") == F.col("own_channel"), F.col("other_id"))
            ).alias("same_channel_campaigns_30d"),
        )
    )

    customers = tables["customers"].select(
        "customer_id", "segment", "ltv_tier", "signup_date"
    )
    out = (
        sampled.join(purchases, keys, "left")
        .join(others, keys, "left")
        .join(customers, "customer_id", "left")
        .withColumn(
            "days_since_signup",
            F.greatest(F.datediff(as_of, "signup_date"), F.lit(0)),
        )
    )
    zero = [
        "organic_revenue_30d",
        "organic_revenue_90d",
        "purchases_90d",
        "purchases_to_date",
        "campaign_revenue_30d",
        "other_campaigns_30d",
        "same_channel_campaigns_30d",
    ]
    return out.na.fill(0, subset=zero).select(
        "campaign_id",
        "as_of_date",
        "customer_id",
        "rank",
        "last_touch_day",
        F.col("segment").cast("string"),
        F.col("ltv_tier").cast("string"),
        *[F.col(c).cast("double").alias(c) for c in CUSTOMER_NUMERIC],
    )


@dataclass
class RawSnapshots:
    """Snapshots as they left Spark: raw values, named columns.

    Attributes:
        keys: campaign_id, as_of_date, label (nan when unknown), baseline
            (``roas_baseline``, 0 when unknown; optional), is_launched, one
            row per snapshot in order.
        campaign: raw campaign features (``FEATURE_COLUMNS``), row-aligned
            with ``keys``.
        customer: raw per-customer values, rows grouped by snapshot.
        customer_columns: names of ``customer``'s columns.
        ptr: snapshot i owns customer rows ``ptr[i]:ptr[i + 1]``.
        edge_time: last touch day (days since 1970-01-01) per customer row.
    """

    keys: pd.DataFrame
    campaign: pd.DataFrame
    customer: np.ndarray
    customer_columns: list[str]
    ptr: np.ndarray
    edge_time: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, mask: np.ndarray) -> RawSnapshots:
        """The snapshots where ``mask`` is true, in order."""
        idx = np.flatnonzero(mask)
        rows = _rows_of(self.ptr, idx)
        counts = np.diff(self.ptr)[idx]
        return RawSnapshots(
            keys=self.keys.iloc[idx].reset_index(drop=True),
            campaign=self.campaign.iloc[idx].reset_index(drop=True),
            customer=self.customer[rows],
            customer_columns=list(self.customer_columns),
            ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            edge_time=self.edge_time[rows],
        )


def _rows_of(ptr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The customer rows of snapshots ``idx``, concatenated (vectorized)."""
    starts, counts = ptr[idx], ptr[idx + 1] - ptr[idx]
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return (np.arange(total) + offsets).astype(np.int64)


def roas_baseline(
    tables: dict[str, DataFrame],
    pairs: DataFrame,
    horizon_days: int = 30,
    roas_lookback_days: int = 90,
) -> DataFrame:
    """Last-touch ROAS times planned spend per snapshot: the model's offset.

    Revenue is close to multiplicative in spend and return per dollar, which
    an MLP on log features learns slowly from a few hundred snapshots; the
    model predicts the log ratio to this baseline instead. It is the
    ``last_touch_roas`` method's own prediction (channel ROAS for a campaign
    without spend yet), so the offset and that baseline cannot drift apart.

    Args:
        tables: silver tables; ``campaigns``, ``conversions`` and
            ``spend_daily`` are required, ``spend_plan`` is used when given.
        pairs: (campaign_id, as_of_date) snapshots.
        horizon_days: the label window, in days.
        roas_lookback_days: history the ROAS is computed over.

    Returns:
        campaign_id, as_of_date, baseline (currency, 0 when nothing is planned
        or when a table it needs is missing: no offset then).
    """
    from campaign_revenue.config import BacktestConfig
    from campaign_revenue.methods.base import REQUIRED_TABLES, MethodContext
    from campaign_revenue.methods.roas import LastTouchRoas

    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        log.info("baseline=0 missing_tables=%s", ",".join(missing))
        return pairs.select(*KEY).withColumn("baseline", F.lit(0.0))
    ctx = MethodContext(
        tables=tables,
        horizon_days=horizon_days,
        config=BacktestConfig(roas_lookback_days=roas_lookback_days),
    )
    return LastTouchRoas().predict(pairs, ctx).select(
        *KEY, F.col("prediction").alias("baseline")
    )


def write_handoff(
    tables: dict[str, DataFrame],
    features: DataFrame,
    examples: DataFrame,
    out: str | Path,
    k: int,
    seed: int = 0,
    lookback_days: int = 90,
    horizon_days: int = 30,
    roas_lookback_days: int = 90,
) -> Path:
    """Write the Parquet hand-off of ``examples``' snapshots under ``out``.

    Args:
        tables: silver tables by name without layer.
        features: ``features.campaign_snapshots``.
        examples: campaign_id, as_of_date[, label, is_launched].
        out: a folder; ``snapshots`` and ``customers`` are written in it.
        k: customers kept per snapshot.
        seed: the sampling seed.
        lookback_days: customer touch history read before as_of.
        horizon_days: the label window of the baseline, in days.
        roas_lookback_days: history of the baseline's ROAS, in days.

    Returns:
        ``out`` as a Path.
    """
    started = time.perf_counter()
    out = Path(out)
    label = (
        F.col("label").cast("double")
        if "label" in examples.columns
        else F.lit(None).cast("double")
    )
    pairs = examples.select(
        "campaign_id", F.col("as_of_date").cast("date"), label.alias("label")
    ).dropDuplicates(list(KEY))
    feats = features.select(
        *KEY,
        *[
            F.col(c) if c in features.columns else F.lit(None).alias(c)
            for c in FEATURE_COLUMNS
        ],
    )
    baseline = roas_baseline(
        tables, pairs.select(*KEY), horizon_days, roas_lookback_days
    )
    snapshots = (
        pairs.join(feats, list(KEY), "left")
        .join(baseline, list(KEY), "left")
        .select(
            *KEY,
            "label",
            F.col("baseline").cast("double"),
            *[F.col(c).cast("string").alias(c) for c in CATEGORICAL],
            *[F.col(c).cast("double").alias(c) for c in NUMERIC],
        )
    )
    snapshots.write.mode("overwrite").parquet(str(out / "snapshots"))
    rows = customer_rows(tables, pairs, k, seed, lookback_days)
    rows.write.mode("overwrite").parquet(str(out / "customers"))
    log.info(
        "handoff path=%s k=%d seconds=%.1f", out, k, time.perf_counter() - started
    )
    return out


def read_handoff(path: str | Path) -> RawSnapshots:
    """Load a hand-off written by ``write_handoff`` into ``RawSnapshots``."""
    path = Path(path)
    snaps = pq.read_table(path / "snapshots").to_pandas()
    snaps["as_of_date"] = pd.to_datetime(snaps["as_of_date"]).dt.date
    snaps = snaps.sort_values(list(KEY), kind="mergesort").reset_index(drop=True)
    cust = pq.read_table(path / "customers").to_pandas()
    cust["as_of_date"] = pd.to_datetime(cust["as_of_date"]).dt.date

    # one-hot segment and LTV tier; vocabularies come from the rows themselves
    # and the feature spec aligns columns by name
    dummies = [
        pd.get_dummies(cust[c].fillna("unknown"), prefix=c, prefix_sep="=")
        for c in ("segment", "ltv_tier")
    ]
    onehot = pd.concat(dummies, axis=1).astype(float) if len(cust) else None
    numeric = cust[list(CUSTOMER_NUMERIC)].astype(float)
    values = numeric if onehot is None else pd.concat([numeric, onehot], axis=1)

    # order rows by snapshot (as in ``snaps``), then by sample rank
    index = {k: i for i, k in enumerate(zip(snaps["campaign_id"], snaps["as_of_date"]))}
    owner = np.fromiter(
        (index.get(k, -1) for k in zip(cust["campaign_id"], cust["as_of_date"])),
        dtype=np.int64,
        count=len(cust),
    )
    keep = owner >= 0
    order = np.lexsort((cust["rank"].to_numpy()[keep], owner[keep]))
    owner = owner[keep][order]
    counts = np.bincount(owner, minlength=len(snaps))
    keys = snaps[[*KEY, "label"]].copy()
    keys["label"] = keys["label"].astype(float)
    # 0, not nan: no baseline means no offset (a hand-off written before it)
    base = snaps["baseline"] if "baseline" in snaps.columns else 0.0
    keys["baseline"] = pd.Series(base, index=snaps.index).astype(float).fillna(0.0)
    keys["is_launched"] = snaps["is_launched"].fillna(0.0).astype(bool)
    return RawSnapshots(
        keys=keys,
        campaign=snaps[[*CATEGORICAL, *NUMERIC]].reset_index(drop=True),
        customer=values.to_numpy(float)[keep][order],
        customer_columns=list(values.columns),
        ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        edge_time=cust["last_touch_day"].to_numpy(np.int64)[keep][order],
    )


def build_snapshots(
    tables: dict[str, DataFrame],
    features: DataFrame,
    examples: DataFrame,
    out: str | Path,
    k: int,
    seed: int = 0,
    lookback_days: int = 90,
    horizon_days: int = 30,
    roas_lookback_days: int = 90,
) -> RawSnapshots:
    """``write_handoff`` then ``read_handoff``; arguments as ``write_handoff``."""
    write_handoff(
        tables,
        features,
        examples,
        out,
        k,
        seed,
        lookback_days,
        horizon_days,
        roas_lookback_days,
    )
    return read_handoff(out)


def _slog1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class FeatureSpec:
    """Column names, category vocabularies and standardization statistics.

    Numeric values go through sign(x) log1p|x| and are standardized with the
    statistics of the snapshots the spec was fitted on (the train split);
    nulls become 0 after standardization (the train mean). Categories are
    one-hot columns ``channel=<value>``; unseen values light none.
    """

    campaign_numeric: list[str]
    categories: dict[str, list[str]]
    customer_columns: list[str]
    campaign_mean: list[float]
    campaign_std: list[float]
    customer_mean: list[float]
    customer_std: list[float]

    @classmethod
    def fit(cls, raw: RawSnapshots) -> FeatureSpec:
        """Statistics of ``raw`` (pass the train split only)."""
        cats = {
            c: sorted(raw.campaign[c].dropna().astype(str).unique().tolist())
            if c in raw.campaign.columns
            else []
            for c in CATEGORICAL
        }
        num = _slog1p(raw.campaign.reindex(columns=list(NUMERIC)).to_numpy(float))
        cust = _slog1p(raw.customer)

        def stats(x: np.ndarray) -> tuple[list[float], list[float]]:
            if x.shape[0] == 0:
                return [0.0] * x.shape[1], [1.0] * x.shape[1]
            # an all-null column (a feature absent from the train split)
            # gets mean 0 and std 1 instead of a warning
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nan_to_num(np.nanmean(x, axis=0))
                std = np.nan_to_num(np.nanstd(x, axis=0))
            std[std < 1e-6] = 1.0
            return mean.tolist(), std.tolist()

        cm, cs = stats(num)
        um, us = stats(cust)
        return cls(list(NUMERIC), cats, list(raw.customer_columns), cm, cs, um, us)

    def campaign_names(self) -> list[str]:
        onehot = [f"{c}={v}" for c, vs in self.categories.items() for v in vs]
        return [*self.campaign_numeric, *onehot]

    def customer_names(self) -> list[str]:
        return list(self.customer_columns)

    def transform(self, raw: RawSnapshots) -> SnapshotTensors:
        """Standardized tensors of ``raw`` with this spec's columns."""
        frame = raw.campaign
        num = np.full((len(frame), len(self.campaign_numeric)), np.nan)
        for j, c in enumerate(self.campaign_numeric):
            if c in frame.columns:
                num[:, j] = frame[c].to_numpy(float)
        num = (_slog1p(num) - np.array(self.campaign_mean)) / np.array(
            self.campaign_std
        )
        blocks = [np.nan_to_num(num)]
        for c, vocab in self.categories.items():
            values = (
                frame[c].astype(object).to_numpy()
                if c in frame.columns
                else np.full(len(frame), None)
            )
            blocks.append(
                (values[:, None] == np.array(vocab, dtype=object)[None, :])
                .astype(float)
                .reshape(len(frame), len(vocab))
            )
        x_campaign = np.concatenate(blocks, axis=1)

        cust = np.zeros((raw.customer.shape[0], len(self.customer_columns)))
        where = {c: j for j, c in enumerate(raw.customer_columns)}
        for j, c in enumerate(self.customer_columns):
            if c in where:
                cust[:, j] = raw.customer[:, where[c]]
        cust = (_slog1p(cust) - np.array(self.customer_mean)) / np.array(
            self.customer_std
        )
        label = raw.keys["label"].to_numpy(float)
        baseline = (
            np.nan_to_num(raw.keys["baseline"].to_numpy(float)).clip(min=0.0)
            if "baseline" in raw.keys.columns
            else np.zeros(len(raw.keys))
        )
        return SnapshotTensors(
            x_campaign=torch.tensor(x_campaign, dtype=torch.float32),
            x_customer=torch.tensor(np.nan_to_num(cust), dtype=torch.float32),
            ptr=torch.tensor(raw.ptr, dtype=torch.long),
            edge_time=torch.tensor(raw.edge_time, dtype=torch.long),
            y=torch.tensor(label, dtype=torch.float32),
            launched=torch.tensor(raw.keys["is_launched"].to_numpy(bool)),
            baseline=torch.tensor(baseline, dtype=torch.float32),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureSpec:
        return cls(**d)


@dataclass
class SnapshotTensors:
    """Model-ready tensors of a set of snapshots (one campaign node each).

    Attributes:
        x_campaign: [S, campaign features].
        x_customer: [R, customer features], rows grouped by snapshot.
        ptr: [S + 1]; snapshot i owns customer rows ptr[i]:ptr[i + 1].
        edge_time: [R] last touch day of each customer -> campaign edge.
        y: [S] label in currency (nan when unknown).
        launched: [S] whether the campaign had started at as_of.
        baseline: [S] last-touch ROAS x planned spend in currency, the
            model's offset (0 when unknown; zeros when not given, as in a
            state saved before the offset existed).
    """

    x_campaign: torch.Tensor
    x_customer: torch.Tensor
    ptr: torch.Tensor
    edge_time: torch.Tensor
    y: torch.Tensor
    launched: torch.Tensor
    baseline: torch.Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.baseline is None:
            self.baseline = torch.zeros(len(self), dtype=torch.float32)

    def __len__(self) -> int:
        return int(self.x_campaign.shape[0])

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """The snapshots ``idx`` as flat tensors: their customers, re-indexed.

        Returns:
            x_campaign, x_customer, edge_index ([2, R_b]: customer row ->
            campaign position in ``idx``), edge_time, y, launched, baseline.
        """
        idx = torch.as_tensor(idx, dtype=torch.long)
        starts, ends = self.ptr[idx], self.ptr[idx + 1]
        counts = ends - starts
        total = int(counts.sum())
        owner = torch.repeat_interleave(torch.arange(len(idx)), counts)
        first = torch.cumsum(counts, 0) - counts
        rows = torch.arange(total) - first[owner] + starts[owner]
        return {
            "x_campaign": self.x_campaign[idx],
            "x_customer": self.x_customer[rows],
            "edge_index": torch.stack([torch.arange(total), owner]),
            "edge_time": self.edge_time[rows],
            "y": self.y[idx],
            "launched": self.launched[idx],
            "baseline": self.baseline[idx],
        }

    def hetero(self, idx: torch.Tensor):  # -> HeteroData
        """The snapshots ``idx`` as a PyG ``HeteroData`` with both directions.

        Each snapshot is one ``campaign`` node; each sampled customer row is
        one ``customer`` node (its features are those at that as_of).
        """
        from torch_geometric.data import HeteroData

        b = self.batch(idx)
        data = HeteroData()
        data["campaign"].x = b["x_campaign"]
        data["campaign"].y = b["y"]
        data["campaign"].launched = b["launched"]
        data["campaign"].baseline = b["baseline"]
        data["customer"].x = b["x_customer"]
        data[TOUCHED].edge_index = b["edge_index"]
        data[TOUCHED].time = b["edge_time"]
        data[REV_TOUCHED].edge_index = b["edge_index"].flip(0)
        data[REV_TOUCHED].time = b["edge_time"]
        return data

    def to_state(self) -> dict[str, torch.Tensor]:
        return {
            "x_campaign": self.x_campaign,
            "x_customer": self.x_customer,
            "ptr": self.ptr,
            "edge_time": self.edge_time,
            "y": self.y,
            "launched": self.launched,
            "baseline": self.baseline,
        }

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor]) -> SnapshotTensors:
        return cls(**state)
