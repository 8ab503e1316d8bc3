"""Hand-made silver frames for the graph tests: 4 customers, 3 campaigns.

The snapshot date is ``AS_OF`` (2025-01-15). Rows stamped exactly at AS_OF
00:00 UTC are in the data on purpose: they belong to the future and must not
reach any feature.
"""

from __future__ import annotations

import datetime as dt

D = dt.date
T = dt.datetime
AS_OF = D(2025, 1, 15)

CAMPAIGNS = [
    # campaign_id, name, channel, budget, start, end, targeting
    ("c1", "display retargeting", "display", 1000.0, D(2025, 1, 1), D(2025, 1, 31),
     "retargeting"),
    ("c2", "social prospecting", "social", 600.0, D(2025, 1, 5), None, "prospecting"),
    ("c3", "display lookalike", "display", 500.0, D(2025, 1, 20), D(2025, 2, 28),
     "lookalike"),
]
CUSTOMERS = [
    ("u1", "family", "high", D(2024, 1, 1)),
    ("u2", "single", "low", D(2024, 1, 1)),
    ("u3", "family", "high", D(2024, 1, 1)),
    ("u4", "single", "mid", D(2024, 1, 1)),
]
TOUCHPOINTS = [
    ("t1", "u1", "c1", "impression", T(2025, 1, 2, 10)),
    ("t2", "u1", "c1", "click", T(2025, 1, 2, 11)),
    ("t3", "u2", "c1", "impression", T(2025, 1, 10, 8)),
    ("t4", "u3", "c1", "impression", T(2025, 1, 14, 23, 59, 59)),
    ("t5", "u4", "c1", "impression", T(2025, 1, 15, 0, 0, 0)),  # at as_of
    ("t6", "u1", "c2", "impression", T(2025, 1, 8, 12)),
    ("t7", "u2", "c2", "impression", T(2025, 1, 12, 9)),
    ("t8", "u2", "c2", "click", T(2025, 1, 12, 9, 1)),
]
CONVERSIONS = [
    ("v1", "u1", None, 50.0, T(2025, 1, 5, 12)),  # organic, 10 days before
    ("v2", "u2", "c1", 100.0, T(2025, 1, 11, 12)),
    ("v3", "u3", "c1", 200.0, T(2025, 1, 15, 0, 0, 0)),  # at as_of: label
    ("v4", "u3", None, 75.0, T(2024, 11, 1, 12)),  # organic, 75 days before
]
SPEND_DAILY = [("c1", D(2025, 1, 1) + dt.timedelta(days=i), 10.0) for i in range(15)] + [
    ("c2", D(2025, 1, 5) + dt.timedelta(days=i), 20.0) for i in range(11)
]
AUDIENCES = [
    ("c1", "u1", D(2025, 1, 1), False),
    ("c1", "u2", D(2025, 1, 1), False),
    ("c1", "u3", D(2025, 1, 1), True),
    ("c1", "u4", D(2025, 1, 15), False),  # assigned at as_of
    ("c3", "u1", D(2025, 1, 10), False),
    ("c3", "u3", D(2025, 1, 10), False),
]

SCHEMAS = {
    "campaigns": "campaign_id string, campaign_name string, channel string, "
    "budget double, start_date date, end_date date, targeting string",
    "customers": "customer_id string, segment string, ltv_tier string, signup_date date",
    "touchpoints": "touchpoint_id string, customer_id string, campaign_id string, "
    "event_type string, ts timestamp",
    "conversions": "conversion_id string, customer_id string, campaign_id string, "
    "revenue double, ts timestamp",
    "spend_daily": "campaign_id string, date date, spend double",
    "campaign_audiences": "campaign_id string, customer_id string, "
    "assigned_date date, is_holdout boolean",
}
ROWS = {
    "campaigns": CAMPAIGNS,
    "customers": CUSTOMERS,
    "touchpoints": TOUCHPOINTS,
    "conversions": CONVERSIONS,
    "spend_daily": SPEND_DAILY,
    "campaign_audiences": AUDIENCES,
}

# Rows dated at or after AS_OF, appended by the point-in-time test.
FUTURE_ROWS = {
    "touchpoints": [
        ("f1", "u3", "c2", "click", T(2025, 1, 15, 0, 0, 0)),
        ("f2", "u4", "c2", "impression", T(2025, 1, 16, 8)),
        ("f3", "u4", "c3", "impression", T(2025, 1, 21, 8)),
    ],
    "conversions": [
        ("f4", "u4", None, 30.0, T(2025, 1, 15, 0, 0, 0)),
        ("f5", "u1", "c2", 300.0, T(2025, 1, 20, 8)),
    ],
    "spend_daily": [("c2", D(2025, 1, 16), 99.0), ("c3", D(2025, 1, 20), 5.0)],
    "campaign_audiences": [("c2", "u4", D(2025, 1, 15), True)],
}


def silver_tables(spark, extra: dict[str, list] | None = None) -> dict:
    """The hand-made frames by table name, with ``extra`` rows appended."""
    extra = extra or {}
    return {
        name: spark.createDataFrame(rows + extra.get(name, []), SCHEMAS[name])
        for name, rows in ROWS.items()
    }


def pairs_frame(spark, pairs: list[tuple[str, dt.date]]):
    return spark.createDataFrame(pairs, "campaign_id string, as_of_date date")
