"""Calibration of estimates to measured lifts, precision-weighted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from campaign_revenue.incrementality.model import calibrate, estimate_incrementality


@pytest.mark.parametrize(
    ("se", "expected"),
    [(0.05, 2.980198), (5.0, 1.019802), (np.nan, 1.0)],
    ids=["precise", "noisy", "none"],
)
def test_calibration_moves_by_precision(se, expected):
    # Prior 1 (sd 0.5), measured 3: weights 4 and 1 / se^2.
    post, sd = calibrate(np.array([1.0]), np.array([0.5]), np.array([3.0]), np.array([se]))
    assert post[0] == pytest.approx(expected, abs=1e-6)
    assert sd[0] <= 0.5


def _signals():
    return pd.DataFrame({
        "campaign_id": ["a", "b", "c"],
        "as_of_date": [None] * 3,
        "channel": ["social", "social", "email"],
        "targeting": ["crm", "crm", "crm"],
        "planned_spend": [100.0, 100.0, 50.0],
        "last_touch_roas": [4.0, 2.0, None],
        "organic_share": [0.5, 0.0, None],
    })


def test_estimate_without_lifts_uses_structural_prior():
    est = estimate_incrementality(_signals(), pd.DataFrame(columns=["campaign_id"]))
    roas = est.set_index("campaign_id")["incremental_roas"]
    # 4 x (1 - 0.5) and 2 x 1; c has no history: the spend-weighted pool, 2.
    assert roas.to_dict() == pytest.approx({"a": 2.0, "b": 2.0, "c": 2.0})
    assert est.set_index("campaign_id").at["c", "roas_source"] == "all"
    row = est.set_index("campaign_id").loc["a"]
    assert row.predicted_incremental_revenue == pytest.approx(200.0)
    assert row.incremental_lower < 200.0 < row.incremental_upper


def test_precise_lift_pulls_its_campaign():
    measured = pd.DataFrame({
        "campaign_id": ["a"], "measured_roas": [6.0], "measured_se": [0.01]
    })
    est = estimate_incrementality(_signals(), measured).set_index("campaign_id")
    assert est.at["a", "incremental_roas"] == pytest.approx(6.0, abs=0.01)
    # The calibration factor lifts the others' prior too, but less.
    assert 2.0 < est.at["b", "incremental_roas"] < 6.0


def _valued():
    return pd.DataFrame({
        "campaign_id": ["a", "b", "c", "d"],
        "as_of_date": [None] * 4,
        "channel": ["social"] * 4,
        "targeting": ["retargeting", "prospecting", "lookalike", "crm"],
        "planned_spend": [100.0] * 4,
        "last_touch_roas": [4.0, 4.0, 4.0, 4.0],
        "organic_share": [0.4, 0.2, 0.3, 0.3],
        # a reaches buyers worth 4x what b's audience spends
        "audience_value": [80.0, 20.0, 40.0, 40.0],
    })


def test_audience_value_discounts_last_touch_credit():
    from campaign_revenue.incrementality.model import value_discount

    signals = _valued()
    d = value_discount(signals["audience_value"], 1.0)
    # reference: the median, 40
    assert d.tolist() == pytest.approx([0.5, 2.0, 1.0, 1.0])
    assert value_discount(signals["audience_value"], 0.0).tolist() == [1.0] * 4
    est = estimate_incrementality(signals, pd.DataFrame(columns=["campaign_id"]))
    roas = est.set_index("campaign_id")["incremental_roas"]
    # same last-touch ROAS, opposite ranks: the buyers' campaign is last
    assert roas["b"] > roas["c"] > roas["a"]
    assert roas["b"] == pytest.approx(4.0 * roas["a"])


def test_precise_lifts_choose_the_exponent():
    from campaign_revenue.incrementality.model import fit_exponent

    signals = _valued()
    # lifts generated with exponent 2 around reference 40, measured precisely
    truth = 4.0 * (40.0 / signals["audience_value"]) ** 2
    measured = pd.DataFrame({
        "campaign_id": signals["campaign_id"][:3],
        "measured_roas": truth[:3],
        "measured_se": [0.01] * 3,
    })
    assert fit_exponent(signals, measured, 1.0, 0.5) == pytest.approx(2.0)
    # noisy lifts barely move it from the prior
    noisy = measured.assign(measured_se=[50.0] * 3)
    assert fit_exponent(signals, noisy, 1.0, 0.5) == pytest.approx(1.0)
