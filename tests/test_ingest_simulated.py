"""Ingest on the simulator's tiny preset with injected bad rows, checked against truth."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

from campaign_revenue.ingest import ingest
from campaign_revenue.schema import INPUT_TABLES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bad_data(tmp_path_factory):
    from campaign_revenue.simulate import generate

    out = tmp_path_factory.mktemp("tiny_bad")
    generate(out=out, preset="tiny", seed=3, bad_rows=0.005)
    return out


def _key(record: str, table: str) -> str | None:
    row = json.loads(record)
    values = [row.get(k) for k in INPUT_TABLES[table].key]
    if any(v is None for v in values):
        return None
    return "|".join(str(v) for v in values)


def test_quarantine_holds_exactly_the_injected_rows(spark, cfg, lakehouse, bad_data):
    summary = ingest(spark, cfg, str(bad_data))
    truth = pd.read_parquet(bad_data / "truth" / "bad_rows.parquet")

    quarantined = Counter(
        (r["table_name"], r["reason"], _key(r["record"], r["table_name"]))
        for r in lakehouse.read("quarantine").collect()
    )
    expected = Counter(
        (t.table_name, t.reason, t.key)
        for t in truth.itertuples()
        if t.reason != "exact_duplicate"
    )
    assert quarantined == expected
    for st in summary.tables:
        assert st.reconciles()
        dups = truth[(truth.table_name == st.table) & (truth.reason == "exact_duplicate")]
        assert st.exact_duplicates == len(dups), st.table
    # Clean tables (the simulator corrupts only leaf tables) lose nothing.
    customers = pd.read_parquet(bad_data / "customers.parquet")
    assert summary.table("customers").accepted == len(customers)
