"""Labels of a query on tiny frames: window bounds, aggregations, filters."""

from __future__ import annotations

import pytest
from query_frames import as_of_dates, campaigns, conversions, customers, labels

from campaign_revenue.query import (
    eligible_entities,
    label_frame,
    parse_query,
    window_bounds,
)

DEFAULT = "PREDICT SUM(conversions.revenue, 0, 30, days) FOR EACH campaigns.campaign_id"


@pytest.fixture(scope="module")
def one_campaign(spark):
    return campaigns(spark, [("c1", "search", "2024-01-01", None)])


def test_window_boundaries(spark, one_campaign) -> None:
    facts = conversions(
        spark,
        [
            ("c1", 1.0, "2024-03-01 00:00:00"),  # exactly at as_of: counts
            ("c1", 2.0, "2024-03-30 23:59:59"),  # last second of the window
            ("c1", 4.0, "2024-03-31 00:00:00"),  # exactly as_of + 30 days: out
            ("c1", 8.0, "2024-02-29 23:59:59"),  # a second before as_of: out
        ],
    )
    result = label_frame(DEFAULT, one_campaign, facts, as_of_dates(spark, "2024-03-01"))
    assert result.columns == ["campaign_id", "as_of_date", "label"]
    assert dict(result.dtypes)["label"] == "double"
    assert labels(result) == {("c1", "2024-03-01"): 3.0}


def test_window_bound_columns(spark) -> None:
    query = parse_query(
        "PREDICT SUM(conversions.revenue, 1, 2, months) FOR EACH campaigns.campaign_id"
    )
    start, end = window_bounds(query)
    row = (
        as_of_dates(spark, "2024-01-31")
        .select(start.alias("s"), end.alias("e"))
        .first()
    )
    # calendar months clamp to the month's last day, as add_months does
    assert (row["s"].date().isoformat(), row["e"].date().isoformat()) == (
        "2024-02-29",
        "2024-03-31",
    )


@pytest.mark.parametrize(
    "window, facts, expected",
    [
        (
            "0, 2, hours",
            [("2024-03-01 01:59:59", 1.0), ("2024-03-01 02:00:00", 2.0)],
            1.0,
        ),
        (
            "1, 2, days",
            [("2024-03-01 23:59:59", 1.0), ("2024-03-02 00:00:00", 2.0),
             ("2024-03-03 00:00:00", 4.0)],
            2.0,
        ),
        (
            "0, 1, weeks",
            [("2024-03-07 23:59:59", 1.0), ("2024-03-08 00:00:00", 2.0)],
            1.0,
        ),
        (
            "0, 1, month",
            [("2024-01-31 00:00:00", 1.0), ("2024-02-28 23:00:00", 2.0),
             ("2024-02-29 00:00:00", 4.0)],
            3.0,
        ),
    ],
    ids=["hours", "days_offset", "weeks", "months_clamped"],
)
def test_window_units(spark, window, facts, expected) -> None:
    as_of = "2024-01-31" if "month" in window else "2024-03-01"
    query = (
        f"PREDICT SUM(conversions.revenue, {window}) FOR EACH campaigns.campaign_id"
    )
    entity = campaigns(spark, [("c1", "search", "2024-01-01", None)])
    rows = conversions(spark, [("c1", value, at) for at, value in facts])
    result = label_frame(query, entity, rows, as_of_dates(spark, as_of))
    assert labels(result) == {("c1", as_of): expected}


AGGREGATES = {
    "sum": ("SUM(conversions.revenue", 13.0, 0.0),
    "count_rows": ("COUNT(conversions.*", 4.0, 0.0),
    "count_column": ("COUNT(conversions.customer_id", 4.0, 0.0),
    "count_distinct": ("COUNT_DISTINCT(conversions.customer_id", 2.0, 0.0),
    "avg": ("AVG(conversions.revenue", 3.25, None),
    "min": ("MIN(conversions.revenue", 1.0, None),
    "max": ("MAX(conversions.revenue", 6.0, None),
    # 2024-03-04 00:00 UTC in seconds since the epoch
    "max_timestamp": ("MAX(conversions.ts", 1709510400.0, None),
}


@pytest.mark.parametrize(
    "agg, filled, empty", AGGREGATES.values(), ids=AGGREGATES.keys()
)
def test_aggregations_and_empty_windows(spark, agg, filled, empty) -> None:
    entity = campaigns(
        spark,
        [("c1", "search", "2024-01-01", None), ("c2", "social", "2024-01-01", None)],
    )
    rows = conversions(
        spark,
        [
            ("c1", 1.0, "2024-03-01 10:00:00", "u1"),
            ("c1", 2.0, "2024-03-02 10:00:00", "u2"),
            ("c1", 4.0, "2024-03-03 10:00:00", "u1"),
            ("c1", 6.0, "2024-03-04 00:00:00", "u2"),
            ("c2", 100.0, "2024-02-01 00:00:00", "u1"),  # before the window
        ],
    )
    query = f"PREDICT {agg}, 0, 30, days) FOR EACH campaigns.campaign_id"
    result = label_frame(query, entity, rows, as_of_dates(spark, "2024-03-01"))
    assert labels(result) == {("c1", "2024-03-01"): filled, ("c2", "2024-03-01"): empty}


def test_fact_and_entity_filters(spark) -> None:
    entity = campaigns(
        spark,
        [
            ("c1", "search", "2024-01-01", None),
            ("c2", "social", "2024-01-01", None),
            ("c3", "email", "2024-01-01", None),
        ],
    )
    rows = conversions(
        spark,
        [
            ("c1", 3.0, "2024-03-02 00:00:00"),
            ("c1", 50.0, "2024-03-03 00:00:00"),
            ("c2", 70.0, "2024-03-03 00:00:00"),
            ("c3", 90.0, "2024-03-03 00:00:00"),
        ],
    )
    query = (
        "PREDICT SUM(conversions.revenue WHERE revenue >= 10 AND revenue != 70, "
        "0, 30, days) FOR EACH campaigns.campaign_id "
        "WHERE channel IN ('search', 'social')"
    )
    result = label_frame(query, entity, rows, as_of_dates(spark, "2024-03-01"))
    assert labels(result) == {("c1", "2024-03-01"): 50.0, ("c2", "2024-03-01"): 0.0}


def test_values_are_literals_never_sql(spark) -> None:
    name = "x'; DROP TABLE t --"
    entity = campaigns(
        spark,
        [
            ("c1", "search", "2024-01-01", None, name),
            ("c2", "search", "2024-01-01", None, "x"),
        ],
    )
    rows = conversions(spark, [("c1", 5.0, "2024-03-02 00:00:00")])
    query = parse_query(
        DEFAULT + " WHERE campaign_name = 'x''; DROP TABLE t --' OR "
        "campaign_name IN ('a) OR (1 = 1')"
    )
    assert query.entity_filter.left.value == name
    result = label_frame(query, entity, rows, as_of_dates(spark, "2024-03-01"))
    assert labels(result) == {("c1", "2024-03-01"): 5.0}


def test_null_semantics_of_filters(spark, one_campaign) -> None:
    # the helper leaves targeting null
    entity = one_campaign
    rows = conversions(spark, [("c1", 5.0, "2024-03-02 00:00:00")])
    as_of = as_of_dates(spark, "2024-03-01")
    kept = label_frame(
        DEFAULT + " WHERE targeting IS NULL", entity, rows, as_of
    )
    dropped = label_frame(
        DEFAULT + " WHERE NOT targeting = 'crm'", entity, rows, as_of
    )
    assert labels(kept) == {("c1", "2024-03-01"): 5.0}
    assert labels(dropped) == {}


def test_campaign_eligibility(spark) -> None:
    entity = campaigns(
        spark,
        [
            ("running", "search", "2024-01-01", None),
            ("ends_at_as_of", "search", "2024-01-01", "2024-03-01"),
            ("ended", "search", "2024-01-01", "2024-02-29"),
            ("starts_at_as_of", "search", "2024-03-01", None),
            ("planned", "search", "2024-03-30", "2024-04-30"),
            ("too_late", "search", "2024-03-31", None),
        ],
    )
    result = eligible_entities(
        parse_query(DEFAULT), entity, as_of_dates(spark, "2024-03-01")
    )
    got = {r["campaign_id"]: r["is_launched"] for r in result.collect()}
    assert got == {
        "running": True,
        "ends_at_as_of": True,
        "starts_at_as_of": False,
        "planned": False,
    }


def test_customer_entity_needs_signup_before_as_of(spark) -> None:
    people = customers(
        spark,
        [("u1", "smb", "2024-01-01"), ("u2", "smb", "2024-03-01"),
         ("u3", "ent", "2024-01-01")],
    )
    rows = conversions(
        spark,
        [
            ("c1", 5.0, "2024-03-02 00:00:00", "u1"),
            ("c1", 7.0, "2024-03-03 00:00:00", "u2"),
            ("c1", 9.0, "2024-03-03 00:00:00", "u3"),
            (None, 1.0, "2024-03-04 00:00:00", "u1"),  # unattributed still counts
        ],
    )
    query = (
        "PREDICT COUNT(conversions.*, 0, 2, weeks) FOR EACH customers.customer_id "
        "WHERE segment = 'smb'"
    )
    result = label_frame(query, people, rows, as_of_dates(spark, "2024-03-01"))
    assert labels(result, "customer_id") == {("u1", "2024-03-01"): 2.0}


def test_overlapping_windows_on_a_weekly_grid(spark, one_campaign) -> None:
    rows = conversions(
        spark,
        [
            ("c1", 1.0, "2024-03-05 00:00:00"),
            ("c1", 10.0, "2024-03-20 00:00:00"),
            ("c1", 100.0, "2024-04-10 00:00:00"),
        ],
    )
    dates = as_of_dates(spark, "2024-03-01", "2024-03-08", "2024-03-15", "2024-03-22")
    result = label_frame(DEFAULT, one_campaign, rows, dates)
    assert labels(result) == {
        ("c1", "2024-03-01"): 11.0,
        ("c1", "2024-03-08"): 10.0,
        ("c1", "2024-03-15"): 110.0,
        ("c1", "2024-03-22"): 100.0,
    }


def test_rows_after_the_window_change_nothing(spark) -> None:
    entity_rows = [
        ("c1", "search", "2024-01-01", None),
        ("c2", "social", "2024-02-01", "2024-03-20"),
    ]
    fact_rows = [
        ("c1", 1.0, "2024-03-02 00:00:00"),
        ("c2", 2.0, "2024-03-25 00:00:00"),
        ("c1", 4.0, "2024-04-05 00:00:00"),
    ]
    future_entities = [("c3", "email", "2024-04-20", None)]
    future_facts = [
        ("c1", 1000.0, "2024-04-12 00:00:00"),  # after the last window's end
        ("c2", 1000.0, "2024-05-01 00:00:00"),
        ("c3", 1000.0, "2024-04-20 00:00:00"),
    ]
    dates = as_of_dates(spark, "2024-03-01", "2024-03-08")
    before = label_frame(
        DEFAULT, campaigns(spark, entity_rows), conversions(spark, fact_rows), dates
    )
    after = label_frame(
        DEFAULT,
        campaigns(spark, entity_rows + future_entities),
        conversions(spark, fact_rows + future_facts),
        dates,
    )
    assert labels(before) == {
        ("c1", "2024-03-01"): 1.0,
        ("c1", "2024-03-08"): 4.0,
        ("c2", "2024-03-01"): 2.0,
        ("c2", "2024-03-08"): 2.0,
    }
    assert labels(after) == labels(before)


def test_facts_before_the_window_change_nothing(spark, one_campaign) -> None:
    rows = [("c1", 1.0, "2024-03-02 00:00:00")]
    history = [("c1", 500.0, "2024-02-29 23:59:59"), ("c1", 50.0, "2023-01-01")]
    dates = as_of_dates(spark, "2024-03-01")
    base = label_frame(DEFAULT, one_campaign, conversions(spark, rows), dates)
    more = label_frame(DEFAULT, one_campaign, conversions(spark, rows + history), dates)
    assert labels(base) == labels(more) == {("c1", "2024-03-01"): 1.0}

