"""Turn a predictive query into point-in-time labelled, time-split examples.

The as_of grid runs every ``step_days`` from ``first_as_of`` (default: the day
of the earliest fact plus ``warmup_days``) up to ``last_as_of`` (default: the
day after the latest fact, the scoring origin), which is always the grid's
last date. Facts at or after ``data_end`` (default: the day after the latest
fact) are ignored; a window is complete when it ends at or before it.

Splits, by time, with no label window crossing a boundary:

1. of the complete-window dates, in order, the last ``test_fraction`` are test
   (shares are rounded, at least one date when the fraction is above 0);
2. earlier dates whose window ends after the first test date are dropped (the
   gap), then the last ``validation_fraction`` of the complete dates before the
   gap are validation;
3. earlier dates whose window ends after the first validation date are dropped
   too, and the rest is train. Each gap is taken from the earlier split, so a
   short validation share is not emptied by the gap before test;
4. the last grid date, when its window is incomplete, is kept with a null label
   and split ``score``; other incomplete dates are dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import warnings

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from campaign_revenue.config import Config, SnapshotsConfig
from campaign_revenue.query.compile import (
    AS_OF,
    LABEL,
    WINDOW_END,
    WINDOW_START,
    as_of_ts,
    fact_time,
    labelled_pairs,
    window_bounds,
)
from campaign_revenue.query.parser import PredictiveQuery, as_query
from campaign_revenue.schema import INPUT_TABLES
from campaign_revenue.tables import Lakehouse

log = logging.getLogger(__name__)

TRAINING_EXAMPLES = "features.training_examples"
SPLITS = ("train", "validation", "test", "score")
_EPOCH = dt.date(1970, 1, 1)


def _seconds(day: dt.date) -> int:
    """Seconds since the epoch of 00:00 UTC on ``day``."""
    return (day - _EPOCH).days * 86400


def _share(n: int, fraction: float) -> int:
    if fraction <= 0 or n == 0:
        return 0
    return max(1, int(n * fraction + 0.5))


def assign_splits(
    window_ends: dict[dt.date, int],
    data_end: dt.date,
    validation_fraction: float,
    test_fraction: float,
) -> dict[dt.date, str]:
    """The split of each kept as_of date (dropped dates are absent).

    Args:
        window_ends: as_of date to its window's end in seconds since the epoch.
        data_end: the first day without data (read as 00:00 UTC).
        validation_fraction: share of complete dates for validation.
        test_fraction: share of complete dates for test.

    Returns:
        as_of date to ``train``, ``validation``, ``test`` or ``score``.
    """
    dates = sorted(window_ends)
    end_s = _seconds(data_end)
    complete = [d for d in dates if window_ends[d] <= end_s]
    n = len(complete)
    n_test = _share(n, test_fraction)
    n_validation = _share(n, validation_fraction)

    # test first; a gap before it so no earlier window reaches into it
    test = complete[n - n_test :] if n_test else []
    rest = complete[: n - n_test]
    if test:
        rest = [d for d in rest if window_ends[d] <= _seconds(test[0])]
    validation = rest[len(rest) - n_validation :] if n_validation else []
    train = rest[: len(rest) - len(validation)]
    if validation:
        train = [d for d in train if window_ends[d] <= _seconds(validation[0])]
    if not train or (n_validation and not validation):
        warnings.warn(
            f"{len(train)} train and {len(validation)} validation as_of dates "
            f"are left of {n} complete ones; lower snapshots.warmup_days, the "
            "split fractions or the window, or bring more history",
            RuntimeWarning,
            stacklevel=2,
        )

    splits = {d: "train" for d in train}
    splits.update({d: "validation" for d in validation})
    splits.update({d: "test" for d in test})
    if dates and window_ends[dates[-1]] > end_s:
        splits[dates[-1]] = "score"
    return splits


def as_of_grid(
    first_as_of: dt.date, last_as_of: dt.date, step_days: int
) -> list[dt.date]:
    """Every ``step_days`` from ``first_as_of``, ending with ``last_as_of``."""
    if first_as_of > last_as_of:
        raise ValueError(
            f"first_as_of {first_as_of} is after last_as_of {last_as_of}; lower "
            "snapshots.warmup_days or set snapshots.first_as_of"
        )
    days = (last_as_of - first_as_of).days
    grid = [first_as_of + dt.timedelta(days=d) for d in range(0, days + 1, step_days)]
    if grid[-1] != last_as_of:
        grid.append(last_as_of)
    return grid


def _fact_extent(query: PredictiveQuery, facts: DataFrame) -> tuple[dt.date, dt.date]:
    """The days of the earliest and the latest fact (one aggregate row)."""
    ts = fact_time(query)
    row = facts.agg(
        F.to_date(F.min(ts)).alias("first"), F.to_date(F.max(ts)).alias("last")
    ).first()
    if row is None or row["first"] is None:
        raise ValueError(
            f"fact table {query.fact_table} has no rows with a "
            f"{query.time_column}; cannot place the as_of grid"
        )
    return row["first"], row["last"]


def build_training_examples(
    spark: SparkSession,
    query: PredictiveQuery | str,
    tables: dict[str, DataFrame],
    snapshots_cfg: SnapshotsConfig,
    data_end: dt.date | None = None,
) -> DataFrame:
    """Labelled, time-split examples of ``query`` over an as_of grid.

    Args:
        spark: the session.
        query: the parsed query (or its text).
        tables: frames by table name; the query's fact and entity tables.
        snapshots_cfg: the grid and split settings.
        data_end: the first day without data (00:00 UTC); default: the day
            after the latest fact.

    Returns:
        Columns: the entity key, ``as_of_date``, ``split``, ``is_launched``,
        ``label`` (double, null when the window is incomplete),
        ``label_complete``, ``window_start_ts``, ``window_end_ts``.

    Raises:
        ValueError: when a table is missing, the fact table is empty or the
            grid holds no date.
    """
    query = as_query(query)
    if isinstance(data_end, dt.datetime):
        raise TypeError(f"data_end must be a date, got the datetime {data_end}")
    for name in (query.entity_table, query.fact_table):
        if name not in tables:
            raise ValueError(
                f"the query needs table {name}; got {', '.join(sorted(tables))}"
            )
    entities, facts = tables[query.entity_table], tables[query.fact_table]

    first_fact, last_fact = _fact_extent(query, facts)
    if data_end is None:
        data_end = last_fact + dt.timedelta(days=1)
    facts = facts.where(fact_time(query) < as_of_ts(F.lit(data_end)))
    first = snapshots_cfg.first_as_of or first_fact + dt.timedelta(
        days=snapshots_cfg.warmup_days
    )
    last = snapshots_cfg.last_as_of or last_fact + dt.timedelta(days=1)
    grid = as_of_grid(first, last, snapshots_cfg.step_days)

    # window ends of the grid dates: one small row per date
    window_start, window_end = window_bounds(query)
    grid_df = spark.createDataFrame([(d,) for d in grid], f"{AS_OF} date")
    window_ends = {
        r[AS_OF]: int(r["end_s"])
        for r in grid_df.select(
            AS_OF, F.unix_seconds(window_end).alias("end_s")
        ).collect()
    }
    splits = assign_splits(
        window_ends,
        data_end,
        snapshots_cfg.validation_fraction,
        snapshots_cfg.test_fraction,
    )
    log.info(
        "snapshot_grid query=%s first_as_of=%s last_as_of=%s data_end=%s "
        "dates=%d kept=%d",
        query,
        first,
        last,
        data_end,
        len(grid),
        len(splits),
    )
    split_df = F.broadcast(
        spark.createDataFrame(
            sorted(splits.items()), f"{AS_OF} date, split string"
        )
    )

    complete = window_end <= as_of_ts(F.lit(data_end))
    key = query.entity_key
    return (
        labelled_pairs(query, entities, facts, split_df)
        .join(split_df, AS_OF)
        .select(
            key,
            AS_OF,
            "split",
            "is_launched",
            F.when(complete, F.col(LABEL)).alias(LABEL),
            complete.alias("label_complete"),
            window_start.alias(WINDOW_START),
            window_end.alias(WINDOW_END),
        )
    )


def summarize_examples(examples: DataFrame) -> DataFrame:
    """Rows, dates and label statistics per split, in split order."""
    order = F.array_position(F.array(*[F.lit(s) for s in SPLITS]), F.col("split"))
    return (
        examples.groupBy("split")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.count_distinct(AS_OF).alias("as_of_dates"),
            F.min(AS_OF).alias("first_as_of"),
            F.max(AS_OF).alias("last_as_of"),
            F.avg(F.col("is_launched").cast("int")).alias("launched_share"),
            F.avg(LABEL).alias("label_mean"),
            F.min(LABEL).alias("label_min"),
            F.max(LABEL).alias("label_max"),
            F.avg((F.col(LABEL) == 0).cast("int")).alias("label_zero_share"),
        )
        .orderBy(order)
    )


def read_silver_tables(
    lakehouse: Lakehouse, names: list[str] | tuple[str, ...] | None = None
) -> dict[str, DataFrame]:
    """``silver.<name>`` by name for the input tables that exist.

    Args:
        lakehouse: where the tables live.
        names: the tables wanted; default: every input table ingest wrote.

    Raises:
        FileNotFoundError: when a table named in ``names`` is missing.
    """
    if names is not None:
        return {name: lakehouse.read(f"silver.{name}") for name in names}
    return {
        name: lakehouse.read(f"silver.{name}")
        for name in INPUT_TABLES
        if lakehouse.exists(f"silver.{name}")
    }


def run_snapshots(
    spark: SparkSession,
    cfg: Config,
    lakehouse: Lakehouse,
    query_text: str | None = None,
) -> pd.DataFrame:
    """Build ``features.training_examples`` from ``silver.*`` and summarize it.

    Args:
        spark: the session.
        cfg: the run configuration (``query`` and ``snapshots``).
        lakehouse: where ``silver.*`` is read and the examples are written.
        query_text: overrides ``cfg.query``.

    Returns:
        One row per split (rows, as_of dates, launched share, label
        statistics), small enough to print.
    """
    started = time.perf_counter()
    query = as_query(query_text or cfg.query)
    tables = read_silver_tables(
        lakehouse, list(dict.fromkeys((query.entity_table, query.fact_table)))
    )
    examples = build_training_examples(spark, query, tables, cfg.snapshots)
    lakehouse.overwrite(examples, TRAINING_EXAMPLES)

    summary = summarize_examples(lakehouse.read(TRAINING_EXAMPLES))
    rows = summary.collect()
    for r in rows:
        log.info(
            "snapshots split=%s rows=%d as_of_dates=%d label_mean=%s",
            r["split"],
            r["rows"],
            r["as_of_dates"],
            r["label_mean"],
        )
    log.info(
        "snapshots table=%s rows=%d seconds=%.1f",
        TRAINING_EXAMPLES,
        sum(r["rows"] for r in rows),
        time.perf_counter() - started,
    )
    return pd.DataFrame([r.asDict() for r in rows], columns=summary.columns)


def sample_labels(
    spark: SparkSession,
    query: PredictiveQuery | str,
    tables: dict[str, DataFrame],
    n: int = 10,
    snapshots_cfg: SnapshotsConfig | None = None,
) -> pd.DataFrame:
    """A few labelled examples from the latest complete windows, for a preview.

    The grid starts at the first fact unless ``snapshots_cfg`` says otherwise;
    only ``n`` rows reach the driver.
    """
    cfg = snapshots_cfg or SnapshotsConfig(warmup_days=0)
    query = as_query(query)
    examples = build_training_examples(spark, query, tables, cfg)
    return (
        examples.where(F.col("label_complete"))
        .orderBy(F.col(AS_OF).desc(), F.col(LABEL).desc_nulls_last(), query.entity_key)
        .limit(n)
        .toPandas()
    )
