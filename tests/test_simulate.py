"""Tests of the built-in simulator on the tiny preset."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from campaign_revenue.schema import INPUT_TABLES
from campaign_revenue.simulate import counterfactual, generate, get_preset

SEED = 3
TABLES = list(INPUT_TABLES)
ARROW = {
    "string": "string",
    "double": "double",
    "long": "int64",
    "date": "date32[day]",
    "timestamp": "timestamp[us, tz=UTC]",
    "boolean": "bool",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    generate(out, preset="tiny", seed=SEED)
    return out


@pytest.fixture(scope="module")
def tiny_bad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny_bad")
    generate(out, preset="tiny", seed=SEED, bad_rows=0.01)
    return out


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{name}.parquet")


def truth(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / "truth" / f"{name}.parquet")


def test_columns_and_types_match_the_contract(tiny: Path) -> None:
    for name, spec in INPUT_TABLES.items():
        schema = pq.read_schema(tiny / f"{name}.parquet")
        for column in spec.columns:
            assert column.name in schema.names, (name, column.name)
            assert str(schema.field(column.name).type) == ARROW[column.dtype]
    assert "daily_budget_cap" in pq.read_schema(tiny / "campaigns.parquet").names
    assert "email_opt_in" in pq.read_schema(tiny / "customers.parquet").names


def test_ids_are_prefixed_and_keys_unique(tiny: Path) -> None:
    prefixes = {
        "campaigns": ("campaign_id", "cmp_"),
        "customers": ("customer_id", "cus_"),
        "touchpoints": ("touchpoint_id", "tp_"),
        "conversions": ("conversion_id", "cv_"),
    }
    for name, (column, prefix) in prefixes.items():
        ids = read(tiny, name)[column]
        assert ids.str.startswith(prefix).all()
    for name, spec in INPUT_TABLES.items():
        frame = read(tiny, name)
        assert not frame.duplicated(list(spec.key)).any(), name


def test_same_seed_same_files_other_seed_differs(
    tiny: Path, tmp_path: Path
) -> None:
    generate(tmp_path / "again", preset="tiny", seed=SEED)
    for name in TABLES:
        pd.testing.assert_frame_equal(read(tiny, name), read(tmp_path / "again", name))
    pd.testing.assert_frame_equal(
        truth(tiny, "campaign_windows"), truth(tmp_path / "again", "campaign_windows")
    )
    generate(tmp_path / "other", preset="tiny", seed=SEED + 1)
    a, b = read(tiny, "conversions"), read(tmp_path / "other", "conversions")
    assert len(a) != len(b) or not a["revenue"].equals(b["revenue"])


def test_dates_stay_in_the_data_and_plan_covers_the_window(tiny: Path) -> None:
    preset = get_preset("tiny")
    end = pd.Timestamp(preset.data_end, tz="UTC") + pd.Timedelta(days=1)
    assert read(tiny, "touchpoints")["ts"].max() < end
    assert read(tiny, "conversions")["ts"].max() < end
    assert read(tiny, "spend_daily")["date"].max() <= preset.data_end
    plan = read(tiny, "spend_plan")
    assert plan["date"].min() > preset.data_end
    assert plan["date"].max() <= preset.data_end + dt.timedelta(days=30)


def test_future_campaigns_are_planned_but_silent(tiny: Path) -> None:
    campaigns = read(tiny, "campaigns")
    end = get_preset("tiny").data_end
    future = set(campaigns.loc[campaigns["start_date"] > end, "campaign_id"])
    assert len(future) == 2
    assert future <= set(read(tiny, "spend_plan")["campaign_id"])
    for name in ("touchpoints", "conversions", "spend_daily"):
        assert not future & set(read(tiny, name)["campaign_id"].dropna()), name


def test_every_conversion_has_one_cause(tiny: Path) -> None:
    conversions = read(tiny, "conversions")
    causes = truth(tiny, "conversion_causes")
    merged = conversions.merge(causes, on="conversion_id", validate="one_to_one")
    assert len(merged) == len(conversions) == len(causes)
    known = set(read(tiny, "campaigns")["campaign_id"]) | {"organic"}
    assert set(merged["cause"]) <= known
    assert (merged["cause"] != "organic").sum() > 20
    same = merged["campaign_id"].fillna("-") == merged["attributed_campaign_id"].fillna(
        "-"
    )
    assert same.all()


def test_campaign_windows_reconcile_with_conversions(tiny: Path) -> None:
    history = read(tiny, "conversions").merge(
        truth(tiny, "conversion_causes")[["conversion_id", "cause"]],
        on="conversion_id",
    )
    future = truth(tiny, "future_conversions")
    rows = pd.concat([history, future], ignore_index=True)
    windows = truth(tiny, "campaign_windows")
    picked = pd.concat([
        windows[windows["attributed_revenue"] > 0].sample(6, random_state=0),
        windows[windows["incremental_revenue"] > 0].sample(6, random_state=1),
        windows[windows["as_of_date"] == windows["as_of_date"].max()].head(4),
    ])
    for row in picked.itertuples():
        start = pd.Timestamp(row.as_of_date, tz="UTC")
        inside = (rows["ts"] >= start) & (rows["ts"] < start + pd.Timedelta(days=30))
        credited = rows.loc[inside & (rows["campaign_id"] == row.campaign_id)]
        caused = rows.loc[inside & (rows["cause"] == row.campaign_id)]
        assert row.attributed_revenue == pytest.approx(credited["revenue"].sum())
        assert row.incremental_revenue == pytest.approx(caused["revenue"].sum())
    as_of = pd.to_datetime(windows["as_of_date"])
    weekly = as_of[as_of < as_of.max()]
    assert (weekly.dt.dayofweek == 0).all()
    assert as_of.max().date() == get_preset("tiny").data_end + dt.timedelta(days=1)


def test_retargeting_credit_is_more_organic_than_prospecting(tiny: Path) -> None:
    rows = read(tiny, "conversions").merge(
        truth(tiny, "conversion_causes"), on="conversion_id"
    )
    rows = rows.merge(read(tiny, "campaigns"), on="campaign_id")
    organic = rows["revenue"].where(rows["cause"] == "organic", 0.0)
    share = organic.groupby(rows["targeting"]).sum() / rows.groupby("targeting")[
        "revenue"
    ].sum()
    assert share["retargeting"] > share["prospecting"] + 0.05
    assert share["brand"] > share["prospecting"] + 0.05


def test_holdout_members_are_never_touched(tiny: Path) -> None:
    audiences = read(tiny, "campaign_audiences")
    holdout = audiences[audiences["is_holdout"]]
    assert len(holdout) > 0
    touched = read(tiny, "touchpoints").merge(
        holdout, on=["campaign_id", "customer_id"]
    )
    assert touched.empty
    exposed = read(tiny, "touchpoints").merge(
        audiences[~audiences["is_holdout"]], on=["campaign_id", "customer_id"]
    )
    assert len(exposed) > 0
    listed = set(audiences["campaign_id"])
    channels = read(tiny, "campaigns").set_index("campaign_id")["channel"]
    assert not {"paid_search", "affiliate"} & set(channels[list(listed)])


def test_counterfactual_with_the_plan_reproduces_the_future(tiny: Path) -> None:
    result = counterfactual(tiny, {}).set_index("campaign_id")
    windows = truth(tiny, "campaign_windows")
    last = windows[windows["as_of_date"] == windows["as_of_date"].max()]
    last = last.set_index("campaign_id")
    joined = last.join(result, rsuffix="_cf", how="left").fillna(0.0)
    np.testing.assert_allclose(
        joined["attributed_revenue"], joined["attributed_revenue_cf"], atol=0.011
    )
    np.testing.assert_allclose(
        joined["incremental_revenue"], joined["incremental_revenue_cf"], atol=0.011
    )
    plan = read(tiny, "spend_plan").groupby("campaign_id")["planned_spend"].sum()
    np.testing.assert_allclose(result.loc[plan.index, "spend"], plan, atol=0.01)


def test_more_spend_never_lowers_expected_incremental_revenue(tiny: Path) -> None:
    curves = truth(tiny, "response_curves").sort_values(["campaign_id", "spend"])
    for _, curve in curves.groupby("campaign_id"):
        revenue = curve["expected_incremental_revenue"].to_numpy()
        assert (np.diff(revenue) >= -1e-9).all()
        assert curve["spend"].iloc[0] == 0.0
    assert curves["expected_incremental_revenue"].max() > 0

    plan = read(tiny, "spend_plan").groupby("campaign_id")["planned_spend"].sum()
    base = counterfactual(tiny, {}).set_index("campaign_id")
    at_plan = curves[curves["spend_multiplier"] == 1.0].set_index("campaign_id")
    np.testing.assert_allclose(
        base.loc[at_plan.index, "expected_incremental_revenue"],
        at_plan["expected_incremental_revenue"],
        rtol=1e-9,
    )
    for campaign_id in plan.index[:3]:
        doubled = counterfactual(tiny, {campaign_id: 2 * plan[campaign_id]})
        doubled = doubled.set_index("campaign_id")
        assert (
            doubled.loc[campaign_id, "expected_incremental_revenue"]
            >= base.loc[campaign_id, "expected_incremental_revenue"]
        )
        assert doubled.loc[campaign_id, "spend"] == pytest.approx(
            2 * plan[campaign_id], abs=0.05
        )


def test_counterfactual_rejects_unknown_campaign(tiny: Path) -> None:
    with pytest.raises(ValueError, match="unknown campaign 'cmp_nope'"):
        counterfactual(tiny, {"cmp_nope": 10.0})


def _detect(frame: pd.DataFrame, table: str, campaigns: set[str]) -> pd.DataFrame:
    """Classify bad rows independently of the injector (test oracle)."""
    spec = INPUT_TABLES[table]
    key = list(spec.key)
    time = spec.time_column
    reason = pd.Series(None, index=frame.index, dtype=object)
    exact = frame.duplicated(keep="first")
    reason[exact] = "exact_duplicate"
    null = frame[key].isna().any(axis=1)
    reason[null] = "null_key"
    rest = reason.isna()
    dup = frame[rest].duplicated(key, keep=False)
    reason[dup[dup].index] = "conflicting_duplicate_key"
    rest = reason.isna()
    unknown = ~frame["campaign_id"].isin(campaigns) & frame["campaign_id"].notna()
    reason[rest & unknown] = "unknown_foreign_key"
    for column in spec.non_negative:
        if column in frame:
            reason[reason.isna() & (frame[column] < 0)] = "negative_value"
    parsed = pd.to_datetime(frame[time], errors="coerce", format="ISO8601")
    reason[reason.isna() & parsed.isna()] = "unparseable_value"
    reason[reason.isna() & (frame[time].str.startswith("2099"))] = "future_timestamp"
    out = frame.assign(reason=reason).dropna(subset=["reason"])
    keys = out[key].astype(str).agg("|".join, axis=1)
    return pd.DataFrame({
        "reason": out["reason"],
        "key": keys.where(~out[key].isna().any(axis=1), None),
    })


def test_bad_rows_in_truth_are_exactly_the_injected_ones(
    tiny: Path, tiny_bad: Path
) -> None:
    listed = truth(tiny_bad, "bad_rows")
    campaigns = set(read(tiny_bad, "campaigns")["campaign_id"])
    reasons = set()
    for table in ("touchpoints", "conversions", "spend_daily", "campaign_audiences"):
        frame = read(tiny_bad, table)
        clean = read(tiny, table)
        found = _detect(frame, table, campaigns)
        expected = listed[listed["table_name"] == table]
        assert len(frame) == len(clean) + len(expected), table
        assert found["reason"].value_counts().sort_index().equals(
            expected["reason"].value_counts().sort_index()
        ), table
        assert sorted(found["key"].dropna()) == sorted(expected["key"].dropna())
        assert len(expected) >= 0.01 * len(clean)
        reasons |= set(expected["reason"])
    assert reasons == {
        "null_key", "conflicting_duplicate_key", "unknown_foreign_key",
        "negative_value", "unparseable_value", "future_timestamp", "exact_duplicate",
    }
    # injection only adds rows: the truth of the clean data is unchanged
    pd.testing.assert_frame_equal(
        truth(tiny, "campaign_windows"), truth(tiny_bad, "campaign_windows")
    )


def test_unknown_preset_and_field_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        generate(tmp_path, preset="huge")
    with pytest.raises(ValueError, match="unknown preset field"):
        generate(tmp_path, preset="tiny", n_customerz=5)
