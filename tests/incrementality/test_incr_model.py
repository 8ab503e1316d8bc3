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


def test_own_roas_is_the_exposure_excess_over_spend():
    signals = pd.DataFrame({
        "campaign_id": ["a", "b", "c", "d"],
        "as_of_date": [None] * 4,
        "channel": ["social"] * 4,
        "targeting": ["retargeting"] * 4,
        "planned_spend": [100.0] * 4,
        # the same last-touch ROAS: what differs is what the audience bought
        # above its organic rate
        "last_touch_roas": [4.0, 4.0, 4.0, None],
        "organic_share": [0.5, 0.5, 0.5, None],
        "lookback_spend": [100.0, 100.0, 50.0, None],
        "excess_revenue": [300.0, -20.0, 50.0, None],
    })
    est = estimate_incrementality(signals, pd.DataFrame(columns=["campaign_id"]))
    est = est.set_index("campaign_id")
    # a 300 / 100; b's negative excess counts 0; c 50 / 50; d has no history:
    # the spend-weighted mean of its channel and targeting
    assert est["incremental_roas"].to_dict() == pytest.approx(
        {"a": 3.0, "b": 0.0, "c": 1.0, "d": 4.0 / 3.0}
    )
    assert est["roas_source"].to_dict() == {
        "a": "campaign", "b": "campaign", "c": "campaign", "d": "targeting"
    }
    assert est.at["a", "predicted_incremental_revenue"] == pytest.approx(300.0)
