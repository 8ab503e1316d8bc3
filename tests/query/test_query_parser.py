"""PQL parser: round trips, case-insensitivity, errors with positions."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_revenue.config import DEFAULT_QUERY
from campaign_revenue.query import (
    And,
    ColumnRef,
    Comparison,
    InList,
    IsNull,
    Not,
    Or,
    PredictiveQuery,
    QueryError,
    describe_query,
    parse_query,
)

REVENUE = ColumnRef("conversions", "revenue")
CHANNEL = ColumnRef("campaigns", "channel")

ROUND_TRIPS = {
    "default": DEFAULT_QUERY,
    "count_star": (
        "PREDICT COUNT(conversions.*, 0, 4, weeks) FOR EACH customers.customer_id"
    ),
    "count_distinct": (
        "PREDICT COUNT_DISTINCT(touchpoints.customer_id WHERE event_type = 'click', "
        "0, 48, hours) FOR EACH campaigns.campaign_id"
    ),
    "avg_months": (
        "PREDICT AVG(conversions.revenue, 1, 3, months) FOR EACH campaigns.campaign_id"
    ),
    "max_timestamp": (
        "PREDICT MAX(conversions.ts, 0, 7, days) FOR EACH customers.customer_id"
    ),
    "min_spend_date_filter": (
        "PREDICT MIN(spend_daily.spend WHERE date >= DATE '2024-02-29', 0, 1, week) "
        "FOR EACH campaigns.campaign_id"
    ),
    "nested_conditions": (
        "PREDICT SUM(conversions.revenue WHERE (revenue > 10.5 OR revenue <= -1e3) "
        "AND NOT campaign_id IS NULL, 0, 30, days) FOR EACH campaigns.campaign_id "
        "WHERE channel NOT IN ('email', 'it''s') AND (end_date IS NOT NULL OR "
        "budget <> 0) AND NOT (targeting = 'crm')"
    ),
    "boolean_literal": (
        "PREDICT COUNT(campaign_audiences.* WHERE is_holdout = FALSE, 0, 30, days) "
        "FOR EACH customers.customer_id"
    ),
    "multi_line": (
        "predict sum(\n  conversions.revenue,\n  0, 30, days\n)\n"
        "for each campaigns.campaign_id"
    ),
}


@pytest.mark.parametrize("text", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_round_trip(text: str) -> None:
    query = parse_query(text)
    canonical = str(query)
    assert parse_query(canonical) == query
    assert str(parse_query(canonical)) == canonical


def test_default_query_fields() -> None:
    query = parse_query(DEFAULT_QUERY)
    assert query == PredictiveQuery(
        agg="SUM",
        fact_table="conversions",
        fact_column="revenue",
        fact_filter=None,
        start=0,
        end=30,
        unit="days",
        entity_table="campaigns",
        entity_key="campaign_id",
        entity_filter=None,
    )
    assert query.join_column == "campaign_id"
    assert query.time_column == "ts"
    assert str(query) == (
        "PREDICT SUM(conversions.revenue, 0, 30, days) FOR EACH campaigns.campaign_id"
    )


@pytest.mark.parametrize(
    "text",
    [
        "predict sum(conversions.revenue, 0, 30, days) for each campaigns.campaign_id",
        "PrEdIcT SuM(CoNvErSiOnS.ReVeNuE, 0, 30, DAY) fOr EaCh CAMPAIGNS.campaign_ID",
        "PREDICT  SUM( conversions . revenue ,0,30,Days )FOR EACH "
        "campaigns.campaign_id",
    ],
    ids=["lower", "mixed", "spacing"],
)
def test_case_and_spacing_insensitive(text: str) -> None:
    assert parse_query(text) == parse_query(DEFAULT_QUERY)


def test_conditions_are_built_as_trees() -> None:
    query = parse_query(
        "PREDICT SUM(conversions.revenue WHERE revenue > 1 AND revenue < 5 OR "
        "revenue IS NULL, 0, 30, days) FOR EACH campaigns.campaign_id WHERE NOT "
        "channel IN ('email', 'social')"
    )
    assert query.fact_filter == Or(
        And(Comparison(REVENUE, ">", 1), Comparison(REVENUE, "<", 5)),
        IsNull(REVENUE),
    )
    assert query.entity_filter == Not(InList(CHANNEL, ("email", "social")))


def test_literals_are_typed() -> None:
    query = parse_query(
        "PREDICT SUM(conversions.revenue, 0, 30, days) FOR EACH campaigns.campaign_id "
        "WHERE start_date >= '2024-01-31' AND end_date < DATE '2024-03-01' "
        "AND budget != 2.5 AND channel <> 'a''b'"
    )
    flat = query.entity_filter
    values = []
    while isinstance(flat, And):
        values.append(flat.right)
        flat = flat.left
    values.append(flat)
    assert [c.value for c in reversed(values)] == [
        dt.date(2024, 1, 31),
        dt.date(2024, 3, 1),
        2.5,
        "a'b",
    ]
    assert [c.op for c in reversed(values)] == [">=", "<", "!=", "!="]


def test_describe_query() -> None:
    text = describe_query(
        "PREDICT AVG(conversions.revenue WHERE revenue > 0, 0, 2, weeks) "
        "FOR EACH customers.customer_id WHERE segment = 'smb'"
    )
    lines = text.splitlines()
    assert lines[1] == (
        "task: regression, average of conversions.revenue per customers.customer_id"
    )
    assert "fact filter: conversions.revenue > 0" in lines
    assert "aggregation: AVG; an empty window gives null (no label)" in lines
    window = "window: [as_of + 0 weeks, as_of + 2 weeks), as_of read as 00:00 UTC"
    assert window in lines
    assert "entity: customers.customer_id (joined on conversions.customer_id)" in lines
    assert "entity filter: customers.segment = 'smb'" in lines


TAIL = ", 0, 30, days) FOR EACH campaigns.campaign_id"
SYNTAX_ERRORS = {
    "unknown_aggregation": (
        "PREDICT FOO(conversions.revenue" + TAIL,
        r"^query error at column 9: unexpected token 'FOO'; expected one of: SUM, "
        r"COUNT, COUNT_DISTINCT, AVG, MIN, MAX$",
        (1, 9, "FOO"),
    ),
    "empty": (
        "",
        r"column 1: unexpected end of query; expected one of: PREDICT",
        (1, 1, ""),
    ),
    "missing_window": (
        "PREDICT SUM(conversions.revenue) FOR EACH campaigns.campaign_id",
        r"column 32: unexpected token '\)'; expected one of: WHERE, ','",
        (1, 32, ")"),
    ),
    "stray_character": (
        DEFAULT_QUERY + " #",
        r"column 78: unexpected character '#'",
        (1, 78, "#"),
    ),
    "truncated_condition": (
        "PREDICT SUM(conversions.revenue WHERE revenue >" + TAIL,
        r"column 48: unexpected token ','; expected one of: a number, a 'string', "
        r"TRUE, FALSE, DATE",
        (1, 48, ","),
    ),
    "bad_unit": (
        "PREDICT SUM(conversions.revenue, 0, 30, years) FOR EACH campaigns.campaign_id",
        r"column 41: unexpected token 'years'; expected one of: hours, days, weeks, "
        r"months",
        (1, 41, "years"),
    ),
    "keyword_glued": (
        "PREDICTSUM(conversions.revenue" + TAIL,
        r"column 1: unexpected token 'PREDICTSUM'",
        (1, 1, "PREDICTSUM"),
    ),
    "second_line": (
        "PREDICT SUM(conversions.revenue, 0, 30, days)\nFOR campaigns.campaign_id",
        r"^query error at line 2, column 5: unexpected token 'campaigns'; expected "
        r"one of: EACH$",
        (2, 5, "campaigns"),
    ),
}


@pytest.mark.parametrize(
    "text, message, where", SYNTAX_ERRORS.values(), ids=SYNTAX_ERRORS.keys()
)
def test_syntax_errors(text: str, message: str, where: tuple) -> None:
    with pytest.raises(QueryError, match=message) as info:
        parse_query(text)
    assert (info.value.line, info.value.column, info.value.token) == where
    assert "\n" not in str(info.value)


SEMANTIC_ERRORS = {
    "unknown_table": (
        "PREDICT SUM(CONVERSION.REVENUE" + TAIL,
        r"unknown table CONVERSION; valid tables: campaigns, customers, touchpoints, "
        r"conversions, spend_daily, campaign_audiences, spend_plan",
    ),
    "unknown_column": (
        "PREDICT SUM(CONVERSIONS.REVENU" + TAIL,
        r"^query error at column 25: unknown column CONVERSIONS.REVENU; valid "
        r"columns: conversion_id, customer_id, campaign_id, revenue, ts$",
    ),
    "unknown_filter_column": (
        "PREDICT SUM(conversions.revenue WHERE amount > 0" + TAIL,
        r"unknown column conversions.amount; valid columns: conversion_id,",
    ),
    "sum_of_string": (
        "PREDICT SUM(conversions.customer_id" + TAIL,
        r"SUM needs a double or long column, conversions.customer_id is string; "
        r"conversions columns that fit: revenue",
    ),
    "avg_of_timestamp": (
        "PREDICT AVG(conversions.ts" + TAIL,
        r"AVG needs a double or long column, conversions.ts is timestamp",
    ),
    "min_of_string": (
        "PREDICT MIN(conversions.campaign_id" + TAIL,
        r"MIN needs a double or long or date or timestamp column",
    ),
    "star_without_count": (
        "PREDICT SUM(conversions.*" + TAIL,
        r"column 25: SUM\(conversions.\*\) is not allowed; only COUNT takes table.\*",
    ),
    "start_after_end": (
        "PREDICT SUM(conversions.revenue, 30, 0, days) FOR EACH campaigns.campaign_id",
        r"column 38: window start 30 must be before window end 0",
    ),
    "negative_start": (
        "PREDICT SUM(conversions.revenue, -7, 0, days) FOR EACH campaigns.campaign_id",
        r"window start must be 0 or later \(labels look forward from as_of\), got -7",
    ),
    "fractional_end": (
        "PREDICT SUM(conversions.revenue, 0, 1.5, days) FOR EACH campaigns.campaign_id",
        r"window end must be a whole number of units, got 1.5",
    ),
    "entity_not_key": (
        "PREDICT SUM(conversions.revenue, 0, 30, days) FOR EACH campaigns.channel",
        r"campaigns.channel is not the key of campaigns; use campaigns.campaign_id",
    ),
    "composite_key_entity": (
        "PREDICT SUM(conversions.revenue, 0, 30, days) FOR EACH spend_daily.date",
        r"table spend_daily has a composite key \(campaign_id, date\)",
    ),
    "no_foreign_key": (
        "PREDICT SUM(spend_daily.spend, 0, 30, days) FOR EACH customers.customer_id",
        r"fact table spend_daily has no foreign key to customers.customer_id; "
        r"tables that have one: touchpoints, conversions, campaign_audiences",
    ),
    "self_reference": (
        "PREDICT COUNT(campaigns.*, 0, 30, days) FOR EACH campaigns.campaign_id",
        r"fact table campaigns has no foreign key to campaigns.campaign_id",
    ),
    "filter_on_other_table": (
        "PREDICT SUM(conversions.revenue" + TAIL + " WHERE conversions.revenue > 0",
        r"the entity filter may only use columns of campaigns, got "
        r"conversions.revenue",
    ),
    "string_vs_number": (
        "PREDICT SUM(conversions.revenue WHERE revenue > '10'" + TAIL,
        r"column conversions.revenue is double and compares with a number, got '10'",
    ),
    "number_vs_string": (
        "PREDICT SUM(conversions.revenue" + TAIL + " WHERE channel IN ('a', 3)",
        r"column campaigns.channel is string and compares with a 'string', got 3",
    ),
    "bad_date": (
        "PREDICT SUM(conversions.revenue" + TAIL + " WHERE start_date > '2024-02-30'",
        r"'2024-02-30' is not a date; write DATE 'yyyy-mm-dd'",
    ),
    "huge_number": (
        "PREDICT SUM(conversions.revenue WHERE revenue > 1e999" + TAIL,
        r"number 1e999 is out of range",
    ),
}


@pytest.mark.parametrize(
    "text, message", SEMANTIC_ERRORS.values(), ids=SEMANTIC_ERRORS.keys()
)
def test_semantic_errors(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message) as info:
        parse_query(text)
    assert info.value.column is not None
    assert isinstance(info.value, ValueError)


def test_unknown_column_lists_valid_columns() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("PREDICT SUM(conversions.revenu" + TAIL)
    assert info.value.expected == (
        "conversion_id",
        "customer_id",
        "campaign_id",
        "revenue",
        "ts",
    )
    assert info.value.token == "revenu"


VOCABULARY = [
    "PREDICT", "SUM", "COUNT", "COUNT_DISTINCT", "AVG", "MIN", "MAX", "FOR", "EACH",
    "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "TRUE", "FALSE", "DATE", "days",
    "hours", "weeks", "months", "day", "(", ")", ",", ".", "*", "=", "!=", "<>", "<",
    "<=", ">", ">=", "0", "30", "-1", "1.5", "1e999", "'x'", "'2024-01-01'", "'",
    "conversions", "campaigns", "customers", "spend_daily", "revenue", "campaign_id",
    "customer_id", "start_date", "channel", "ts", "date", "foo", "#", "\n", "",
]


def _check_only_query_errors(text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError as err:
        assert str(err).startswith("query error")
        return
    assert parse_query(str(query)) == query


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(VOCABULARY), max_size=30))
def test_random_token_strings_raise_only_query_errors(tokens: list[str]) -> None:
    _check_only_query_errors(" ".join(tokens))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(VOCABULARY), max_size=8),
    st.integers(min_value=0, max_value=60),
    st.sampled_from(VOCABULARY),
)
def test_mutated_valid_queries_raise_only_query_errors(
    extra: list[str], at: int, replace: str
) -> None:
    base = ROUND_TRIPS["nested_conditions"]
    words = base.split(" ")
    at = min(at, len(words) - 1)
    words[at] = replace
    _check_only_query_errors(" ".join(words[:at] + extra + words[at:]))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_random_text_raises_only_query_errors(text: str) -> None:
    _check_only_query_errors(text)
