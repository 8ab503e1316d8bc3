"""Tiny hand-made input frames for the query tests."""

from __future__ import annotations

import datetime as dt

from campaign_revenue.schema import INPUT_TABLES

UTC = dt.timezone.utc


def ts(text: str) -> dt.datetime:
    """A UTC timestamp from ``yyyy-mm-dd[ hh:mm:ss]``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def campaigns(spark, rows):
    """Rows of (campaign_id, channel, start_date, end_date[, campaign_name])."""
    full = [
        (r[0], r[4] if len(r) > 4 else f"name {r[0]}", r[1], 1000.0, day(r[2]),
         day(r[3]) if r[3] else None, None)
        for r in rows
    ]
    return spark.createDataFrame(full, INPUT_TABLES["campaigns"].ddl())


def conversions(spark, rows):
    """Rows of (campaign_id, revenue, ts[, customer_id])."""
    full = [
        (f"cv{i}", r[3] if len(r) > 3 else "u1", r[0], r[1], ts(r[2]))
        for i, r in enumerate(rows)
    ]
    return spark.createDataFrame(full, INPUT_TABLES["conversions"].ddl())


def customers(spark, rows):
    """Rows of (customer_id, segment, signup_date)."""
    full = [(r[0], r[1], "high", day(r[2])) for r in rows]
    return spark.createDataFrame(full, INPUT_TABLES["customers"].ddl())


def as_of_dates(spark, *dates: str):
    return spark.createDataFrame([(day(d),) for d in dates], "as_of_date date")


def labels(frame, key: str = "campaign_id") -> dict:
    """``{(key, 'yyyy-mm-dd'): label}`` of a label frame."""
    return {
        (r[key], r["as_of_date"].isoformat()): r["label"] for r in frame.collect()
    }
