"""The Complete Journey adapter: counts reconcile, attribution, no leakage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from campaign_revenue.adapters import adapt
from campaign_revenue.adapters.completejourney import (
    OUTPUT_TABLES,
    adapt_completejourney,
    adapt_tables,
)

SOURCE = Path("/work/shared/data/real/completejourney")
needs_source = pytest.mark.skipif(
    not SOURCE.exists(), reason=f"{SOURCE} is absent"
)


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def mini_source(transactions: list[tuple]) -> dict[str, pd.DataFrame]:
    """Two overlapping campaigns for household 7, one for household 8.

    Campaign 1 runs 03-01..03-31, campaign 2 (started later) 03-10..04-10;
    household 9 is never targeted and has no demographics.
    """
    return {
        "campaign_descriptions": pd.DataFrame({
            "campaign_id": [1, 2],
            "campaign_type": ["Type A", "Type B"],
            "start_date": [_ts("2017-03-01"), _ts("2017-03-10")],
            "end_date": [_ts("2017-03-31"), _ts("2017-04-10")],
        }),
        "campaigns": pd.DataFrame({
            "campaign_id": [1, 2, 1],
            "household_id": [7, 7, 8],
        }),
        "coupon_redemptions": pd.DataFrame({
            "household_id": [7],
            "coupon_upc": [111],
            "campaign_id": [1],
            "redemption_date": [_ts("2017-03-15")],
        }),
        "demographics": pd.DataFrame({
            "household_id": [7, 8],
            "age": ["35-44", "65+"],
            "income": ["Under 15K", "100-124K"],
            "home_ownership": ["Homeowner", None],
            "marital_status": ["Married", None],
            "household_size": ["3", "1"],
            "household_comp": ["2 Adults Kids", "1 Adult No Kids"],
            "kids_count": ["1", "0"],
        }),
        "transactions": pd.DataFrame(
            transactions,
            columns=[
                "household_id", "basket_id", "sales_value",
                "transaction_timestamp",
            ],
        ),
    }


MINI_BASKETS = [
    (7, 100, 2.0, _ts("2017-03-15 10:00:00")),  # inside both: campaign 2
    (7, 100, 3.0, _ts("2017-03-15 10:05:00")),
    (7, 101, 4.0, _ts("2017-03-05 09:00:00")),  # only campaign 1 active
    (7, 102, 1.5, _ts("2017-04-20 09:00:00")),  # after both: null
    (8, 103, 6.0, _ts("2017-03-20 12:00:00")),  # campaign 1
    (9, 104, 7.0, _ts("2017-03-20 12:00:00")),  # never targeted: null
    (7, 105, 1.0, _ts("2017-02-01 08:00:00")),  # before both: null
]


@pytest.fixture()
def mini():
    return adapt_tables(mini_source(MINI_BASKETS), cost_per_mailing=2.0)


def test_last_touch_is_the_latest_started_active_campaign(mini):
    conv = mini["conversions"].set_index("conversion_id")
    credited = conv["campaign_id"].to_dict()
    assert credited == {
        "cv_cj_100": "cmp_cj_2",
        "cv_cj_101": "cmp_cj_1",
        "cv_cj_102": None,
        "cv_cj_103": "cmp_cj_1",
        "cv_cj_104": None,
        "cv_cj_105": None,
    }
    # one row per basket: revenue summed, ts = the first line's time
    assert conv.loc["cv_cj_100", "revenue"] == 5.0
    assert conv.loc["cv_cj_100", "ts"] == _ts("2017-03-15 10:00:00")


def test_coupon_campaign_marks_the_redeeming_household_day(mini):
    conv = mini["conversions"].set_index("conversion_id")
    marked = conv["coupon_campaign_id"].dropna().to_dict()
    assert marked == {"cv_cj_100": "cmp_cj_1"}


def test_campaigns_budget_spend_and_audiences(mini):
    cmp = mini["campaigns"].set_index("campaign_id")
    assert cmp.loc["cmp_cj_1", "campaign_name"] == "Campaign 1 (Type A)"
    assert cmp.loc["cmp_cj_1", "channel"] == "type_a"
    assert set(cmp["targeting"]) == {"crm"}
    # 2 targeted households x 2.0, 1 x 2.0
    assert cmp["budget"].to_dict() == {"cmp_cj_1": 4.0, "cmp_cj_2": 2.0}
    spend = mini["spend_daily"]
    per = spend.groupby("campaign_id")["spend"]
    assert per.sum().to_dict() == pytest.approx({"cmp_cj_1": 4.0, "cmp_cj_2": 2.0})
    assert per.size().to_dict() == {"cmp_cj_1": 31, "cmp_cj_2": 32}
    assert per.nunique().to_dict() == {"cmp_cj_1": 1, "cmp_cj_2": 1}
    aud = mini["campaign_audiences"]
    assert len(aud) == 3 and not aud["is_holdout"].any()
    tp = mini["touchpoints"].set_index("touchpoint_id")
    assert tp.loc["tp_cj_2_7", "ts"] == _ts("2017-03-10")
    assert set(tp["event_type"]) == {"mailing"}


def test_customer_attributes_come_from_demographics_only(mini):
    cus = mini["customers"].set_index("customer_id")
    assert cus.loc["cus_cj_7", ["segment", "ltv_tier"]].tolist() == [
        "2_adults_kids", "low",
    ]
    assert cus.loc["cus_cj_8", ["segment", "ltv_tier"]].tolist() == [
        "1_adult_no_kids", "high",
    ]
    assert cus.loc["cus_cj_9", ["segment", "ltv_tier"]].tolist() == [
        "unknown", "unknown",
    ]
    # the data's first day (the earliest purchase here) for everyone
    assert set(cus["signup_date"]) == {_ts("2017-02-01")}

    # purchases after the first campaign start change no customer attribute
    later = [b for b in MINI_BASKETS if b[3] < _ts("2017-03-01")]
    later += [(9, 200, 50.0, _ts("2017-03-25 10:00:00"))]
    other = adapt_tables(mini_source(later))["customers"]
    pd.testing.assert_frame_equal(
        other.drop(index=other.index[other["customer_id"] == "cus_cj_9"])
        .reset_index(drop=True),
        mini["customers"]
        .drop(index=mini["customers"].index[
            mini["customers"]["customer_id"] == "cus_cj_9"
        ])
        .reset_index(drop=True),
    )


def test_adapt_names_valid_datasets(tmp_path):
    with pytest.raises(ValueError, match="valid datasets: completejourney"):
        adapt("dunnhumby", tmp_path, tmp_path / "out")


def test_negative_cost_is_rejected():
    with pytest.raises(ValueError, match="cost_per_mailing must be >= 0"):
        adapt_tables(mini_source(MINI_BASKETS), cost_per_mailing=-1.0)


# -- the full source ---------------------------------------------------------------


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("cj") / "contract"
    summary = adapt_completejourney(SOURCE, out)
    tables = {t: pd.read_parquet(out / f"{t}.parquet") for t in OUTPUT_TABLES}
    return summary, out, tables


@needs_source
def test_full_counts_reconcile_with_the_source(full):
    summary, _, tables = full
    tx = pd.read_parquet(SOURCE / "transactions.parquet")
    targeted = pd.read_parquet(SOURCE / "campaigns.parquet")
    households = set(tx["household_id"]) | set(targeted["household_id"])
    assert summary.rows == {
        "campaigns": 27,
        "customers": len(households),
        "touchpoints": len(targeted),
        "conversions": tx["basket_id"].nunique(),
        "spend_daily": tables["spend_daily"].shape[0],
        "campaign_audiences": len(targeted),
    }
    # the figures SOURCE.md states
    assert len(households) == 2469 and len(targeted) == 6589
    assert tx["basket_id"].nunique() == 155_848
    assert tables["conversions"]["revenue"].sum() == pytest.approx(
        4_596_039.58, abs=0.01
    )
    assert tables["campaigns"]["budget"].sum() == pytest.approx(6589 * 0.5)
    assert tables["spend_daily"]["spend"].sum() == pytest.approx(6589 * 0.5)


@needs_source
def test_full_ids_are_prefixed_and_unique(full):
    _, _, t = full
    for table, key, prefix in (
        ("campaigns", "campaign_id", "cmp_cj_"),
        ("customers", "customer_id", "cus_cj_"),
        ("conversions", "conversion_id", "cv_cj_"),
        ("touchpoints", "touchpoint_id", "tp_cj_"),
    ):
        assert t[table][key].str.startswith(prefix).all(), table
        assert t[table][key].is_unique, table


@needs_source
def test_full_customers_do_not_read_transactions(full):
    _, _, t = full
    cus = t["customers"]
    assert set(cus["signup_date"]) == {dt.date(2016, 11, 14)}
    demo = pd.read_parquet(SOURCE / "demographics.parquet")
    known = cus["customer_id"].isin("cus_cj_" + demo["household_id"].astype(str))
    assert known.sum() == 801
    assert (cus.loc[~known, ["segment", "ltv_tier"]] == "unknown").all().all()
    assert not (cus.loc[known, ["segment", "ltv_tier"]] == "unknown").any().any()


@needs_source
def test_full_parquet_timestamps_are_microseconds(full):
    _, out, _ = full
    for table in ("touchpoints", "conversions"):
        field = pq.read_schema(out / f"{table}.parquet").field("ts")
        assert str(field.type) == "timestamp[us, tz=UTC]", table


@needs_source
@pytest.mark.slow
def test_full_output_ingests_without_quarantine(spark, cfg, full):
    from campaign_revenue.ingest import ingest

    _, out, _ = full
    summary = ingest(spark, cfg, str(out))
    for stats in summary.tables:
        assert stats.quarantined == 0, (stats.table, stats.reasons)
        assert stats.accepted == full[0].rows[stats.table], stats.table
