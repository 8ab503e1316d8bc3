"""Tiny hand-made silver frames and contexts for the method tests."""

from __future__ import annotations

import datetime as dt

from campaign_revenue.config import BacktestConfig
from campaign_revenue.methods.base import MethodContext
from campaign_revenue.schema import INPUT_TABLES

UTC = dt.timezone.utc


def ts(text: str) -> dt.datetime:
    """A UTC timestamp from ``yyyy-mm-dd[ hh:mm:ss]``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def frame(spark, table: str, rows: list[tuple]):
    return spark.createDataFrame(rows, INPUT_TABLES[table].ddl())


def campaigns(spark, rows):
    """Rows of (campaign_id, channel, start_date, end_date, budget[, targeting])."""
    full = [
        (r[0], f"name {r[0]}", r[1], float(r[4]), day(r[2]),
         day(r[3]) if r[3] else None, r[5] if len(r) > 5 else None)
        for r in rows
    ]
    return frame(spark, "campaigns", full)


def conversions(spark, rows):
    """Rows of (campaign_id or None, revenue, ts[, customer_id])."""
    full = [
        (f"cv{i}", r[3] if len(r) > 3 else "u1", r[0], float(r[1]), ts(r[2]))
        for i, r in enumerate(rows)
    ]
    return frame(spark, "conversions", full)


def touchpoints(spark, rows):
    """Rows of (customer_id, campaign_id, ts)."""
    full = [(f"t{i}", r[0], r[1], "click", ts(r[2])) for i, r in enumerate(rows)]
    return frame(spark, "touchpoints", full)


def spend_daily(spark, campaign_id: str, first: str, days: int, spend: float):
    """``spend`` a day for ``days`` days from ``first``."""
    start = day(first)
    rows = [
        (campaign_id, start + dt.timedelta(days=i), float(spend), None, None)
        for i in range(days)
    ]
    return frame(spark, "spend_daily", rows)


def pairs(spark, rows):
    """Rows of (campaign_id, as_of_date text[, label, is_launched])."""
    full = [
        (r[0], day(r[1]), float(r[2]) if len(r) > 2 and r[2] is not None else None,
         bool(r[3]) if len(r) > 3 else True)
        for r in rows
    ]
    return spark.createDataFrame(
        full, "campaign_id string, as_of_date date, label double, is_launched boolean"
    )


def context(tables: dict, features=None, **settings) -> MethodContext:
    return MethodContext(
        tables=tables, features=features, config=BacktestConfig(**settings)
    )
