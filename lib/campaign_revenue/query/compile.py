"""Compile a parsed query into Spark column expressions and label frames.

Everything here is a function of DataFrames without I/O. Conditions become
``pyspark.sql.Column`` expressions from ``F.col`` and ``F.lit``: a value in a
query is always a literal, never text pasted into SQL.

Time semantics:

* ``as_of`` is a date read as 00:00 UTC of that day (the session time zone is
  UTC). A fact counts in the window of ``as_of`` t when its time column lies in
  ``[t + start * unit, t + end * unit)``; a fact at exactly t counts, one at
  t + end does not. Date time columns (``spend_daily.date``) are read as 00:00
  UTC of their day.
* ``months`` add calendar months like Spark's ``add_months``: the day of month
  is kept and clamped to the month's last day, so 2024-01-31 + 1 month is
  2024-02-29. ``weeks`` are 7 days, ``hours`` 3600 seconds.

Label semantics, per (eligible entity, as_of) pair:

* an empty window gives 0 for SUM, COUNT and COUNT_DISTINCT, and null for AVG,
  MIN and MAX; SUM over rows whose values are all null also gives 0;
* COUNT(table.*) counts rows, COUNT(column) and COUNT_DISTINCT(column) count
  non-null values;
* labels are doubles; MIN and MAX of a date or timestamp column give seconds
  since 1970-01-01 00:00 UTC;
* conditions follow SQL: a comparison with a null value is not true, so a row
  whose filtered column is null is left out (unless the condition is IS NULL).

Eligibility: campaigns are eligible at t when active (``start_date < t`` and
``end_date`` null or ``>= t``) or planned to start in ``[t, window end)``;
rows of another entity table are eligible once their time column is before t
(all rows when the table has none). The entity WHERE is applied to the entity
table as given: its attributes are the current ones, not those as of t.
"""

from __future__ import annotations

import logging

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from campaign_revenue.query.parser import (
    And,
    Comparison,
    Condition,
    InList,
    IsNull,
    Not,
    Or,
    PredictiveQuery,
    as_query,
)

log = logging.getLogger(__name__)

AS_OF = "as_of_date"
LABEL = "label"
WINDOW_START = "window_start_ts"
WINDOW_END = "window_end_ts"

# timestamp_add unit per query unit.
_SPARK_UNIT = {"hours": "HOUR", "days": "DAY", "weeks": "WEEK", "months": "MONTH"}
# Hours per unit at least and at most (a month is 28 to 31 days).
_HOURS_LOW = {"hours": 1, "days": 24, "weeks": 168, "months": 28 * 24}
_HOURS_HIGH = {"hours": 1, "days": 24, "weeks": 168, "months": 31 * 24}

_ZERO_WHEN_EMPTY = ("SUM", "COUNT", "COUNT_DISTINCT")


def condition_column(cond: Condition) -> Column:
    """The Spark expression of a parsed condition.

    Column names come from the schema declarations and values go through
    ``F.lit``, so a value such as ``'x'; DROP TABLE t --`` stays a string.
    """
    if isinstance(cond, And):
        return condition_column(cond.left) & condition_column(cond.right)
    if isinstance(cond, Or):
        return condition_column(cond.left) | condition_column(cond.right)
    if isinstance(cond, Not):
        return ~condition_column(cond.operand)

    column = F.col(cond.column.column)
    if isinstance(cond, IsNull):
        return column.isNotNull() if cond.negated else column.isNull()
    if isinstance(cond, InList):
        found = column.isin([F.lit(v) for v in cond.values])
        return ~found if cond.negated else found
    assert isinstance(cond, Comparison), cond
    value = F.lit(cond.value)
    return {
        "=": lambda: column == value,
        "!=": lambda: column != value,
        "<": lambda: column < value,
        "<=": lambda: column <= value,
        ">": lambda: column > value,
        ">=": lambda: column >= value,
    }[cond.op]()


def shift(ts: Column, n: int, unit: str) -> Column:
    """``ts`` plus ``n`` units (``months`` clamp the day like ``add_months``)."""
    if n == 0:
        return ts
    return F.timestamp_add(_SPARK_UNIT[unit], F.lit(n), ts)


def as_of_ts(as_of: Column) -> Column:
    """An as_of date as the timestamp 00:00 UTC of that day."""
    return as_of.cast("date").cast("timestamp")


def window_bounds(
    query: PredictiveQuery | str, as_of: Column | str = AS_OF
) -> tuple[Column, Column]:
    """The label window ``[start, end)`` of ``as_of`` as two timestamps."""
    query = as_query(query)
    origin = as_of_ts(F.col(as_of) if isinstance(as_of, str) else as_of)
    return shift(origin, query.start, query.unit), shift(origin, query.end, query.unit)


def fact_time(query: PredictiveQuery) -> Column:
    """The fact table's time column as a timestamp."""
    return F.col(query.time_column).cast("timestamp")


def _as_of_frame(as_of_dates: DataFrame) -> DataFrame:
    # The grid is small (one row per date): broadcast it to every join.
    return F.broadcast(
        as_of_dates.select(F.col(AS_OF).cast("date").alias(AS_OF)).distinct()
    )


def eligible_entities(
    query: PredictiveQuery | str, entities: DataFrame, as_of_dates: DataFrame
) -> DataFrame:
    """The (entity, as_of) pairs that get a label.

    Args:
        query: the parsed query.
        entities: rows of the entity table.
        as_of_dates: a frame with a date column ``as_of_date``.

    Returns:
        Columns: the entity key, ``as_of_date``, ``is_launched`` (campaigns:
        ``start_date < as_of_date``; other entities: true).
    """
    query = as_query(query)
    key = query.entity_key
    if query.entity_filter is not None:
        entities = entities.where(condition_column(query.entity_filter))

    # entities x dates is the size of the output itself
    pairs = entities.crossJoin(_as_of_frame(as_of_dates))
    t = as_of_ts(F.col(AS_OF))
    _, window_end = window_bounds(query)
    spec = query.entity_spec
    if query.entity_table == "campaigns":
        start = F.col("start_date").cast("timestamp")
        end = F.col("end_date").cast("timestamp")
        launched = start < t
        active = launched & (end.isNull() | (end >= t))
        planned = (start >= t) & (start < window_end)
        return pairs.where(active | planned).select(
            key, AS_OF, launched.alias("is_launched")
        )
    if spec.time_column is not None:
        pairs = pairs.where(F.col(spec.time_column).cast("timestamp") < t)
    return pairs.select(key, AS_OF, F.lit(True).alias("is_launched"))


def _aggregate(query: PredictiveQuery, value: Column) -> Column:
    if query.agg == "SUM":
        return F.sum(value)
    if query.agg == "COUNT":
        return F.count(value)
    if query.agg == "COUNT_DISTINCT":
        return F.count_distinct(value)
    if query.agg == "AVG":
        return F.avg(value)
    if query.agg == "MIN":
        return F.min(value)
    assert query.agg == "MAX", query.agg
    return F.max(value)


def _fact_value(query: PredictiveQuery) -> Column:
    if query.fact_column is None:
        return F.lit(1)
    dtype = query.fact_spec.column(query.fact_column).dtype
    value = F.col(query.fact_column)
    if query.agg in ("MIN", "MAX") and dtype in ("date", "timestamp"):
        return F.unix_seconds(value.cast("timestamp"))
    return value


def window_aggregates(
    query: PredictiveQuery | str, facts: DataFrame, as_of_dates: DataFrame
) -> DataFrame:
    """The aggregate of the facts in each (entity, as_of) window with any fact.

    A range join that scales: each fact is expanded to the few as_of days whose
    window could hold it (from ``day(ts) - end`` to ``day(ts) - start``, about
    the window's length in days, independent of the data size), equi-joined to
    the broadcast as_of grid, then checked against the exact bounds. With a
    weekly grid and a 30-day window each fact lands in at most 5 windows, and
    nothing is collected to the driver.

    Returns:
        Columns: the entity key, ``as_of_date``, ``label`` (not yet cast, and
        no row for an empty window).
    """
    query = as_query(query)
    key = query.entity_key
    if query.fact_filter is not None:
        facts = facts.where(condition_column(query.fact_filter))

    ts = fact_time(query)
    # whole days before a fact's day where a window holding it can begin
    low = query.start * _HOURS_LOW[query.unit] // 24
    high = -(-query.end * _HOURS_HIGH[query.unit] // 24)
    day = F.to_date(F.col("_fact_ts"))
    candidates = (
        facts.select(
            F.col(query.join_column).alias(key),
            ts.alias("_fact_ts"),
            _fact_value(query).alias("_value"),
        )
        .where(F.col(key).isNotNull() & F.col("_fact_ts").isNotNull())
        .withColumn(
            AS_OF,
            F.explode(F.sequence(F.date_sub(day, high), F.date_sub(day, low))),
        )
    )

    window_start, window_end = window_bounds(query)
    in_window = (F.col("_fact_ts") >= window_start) & (F.col("_fact_ts") < window_end)
    return (
        candidates.join(_as_of_frame(as_of_dates), AS_OF)
        .where(in_window)
        .groupBy(key, AS_OF)
        .agg(_aggregate(query, F.col("_value")).alias(LABEL))
    )


def labelled_pairs(
    query: PredictiveQuery | str,
    entities: DataFrame,
    facts: DataFrame,
    as_of_dates: DataFrame,
) -> DataFrame:
    """Eligible pairs with ``is_launched`` and their double ``label``."""
    query = as_query(query)
    key = query.entity_key
    pairs = eligible_entities(query, entities, as_of_dates)
    aggregates = window_aggregates(query, facts, as_of_dates)
    label = F.col(LABEL).cast("double")
    if query.agg in _ZERO_WHEN_EMPTY:
        label = F.coalesce(label, F.lit(0.0))
    return pairs.join(aggregates, [key, AS_OF], "left").select(
        key, AS_OF, "is_launched", label.alias(LABEL)
    )


def label_frame(
    query: PredictiveQuery | str,
    entities: DataFrame,
    facts: DataFrame,
    as_of_dates: DataFrame,
) -> DataFrame:
    """The label of every eligible (entity, as_of) pair.

    Args:
        query: the parsed query (or its text).
        entities: rows of the entity table.
        facts: rows of the fact table.
        as_of_dates: a frame with a date column ``as_of_date``.

    Returns:
        Columns: the entity key, ``as_of_date``, ``label`` (double).
    """
    query = as_query(query)
    log.debug("label_frame query=%s", query)
    return labelled_pairs(query, entities, facts, as_of_dates).select(
        query.entity_key, AS_OF, LABEL
    )
