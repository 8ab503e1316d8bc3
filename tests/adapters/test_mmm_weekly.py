"""The weekly media-mix csv loads as arrays, and fit_mmm forecasts it.

The synthetic recovery of known adstock and saturation lives in
tests/methods/test_methods_mmm.py; this file holds the real-data checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from campaign_revenue.adapters.mmm_weekly import (
    load_mmm_weekly,
    load_mmm_weekly_with_controls,
)
from campaign_revenue.methods.mmm import fit_mmm

CSV = Path("/work/shared/data/real/mmm-weekly-retail/case_study_data.csv")
HOLDOUT = 26
# Channels grouped to keep the fit to seconds on two cores (ten channels take
# minutes and forecast no better: MAPE 0.38 on the same holdout).
GROUPS = {
    "offline": ["dm", "inst", "nsp", "audtr", "vidtr"],
    "online": ["auddig", "viddig", "so", "on"],
    "search": ["sem"],
}
# Controls known in advance: holiday and season one-hots. Chosen, with the
# additive form, no ridge and 2 yearly harmonics, on two inner folds of the
# training weeks (fit on the first 131 / 157 weeks, forecast the next 26):
# WAPE 0.255 / 0.273 against 0.270 / 0.270 without controls; adding markdowns
# and store count (0.291 / 0.276), va_pub_* or macro columns, a ridge of 50 or
# 4 harmonics did worse there, and a log target (with markdowns, store count
# and a ridge of 50: 0.248 / 0.276) was level. The test window was not used
# to choose.
CONTROLS = ("hldy_", "seas_")

pytestmark = pytest.mark.skipif(not CSV.exists(), reason=f"{CSV} is absent")


@pytest.fixture(scope="module")
def weekly():
    return load_mmm_weekly(CSV)


@pytest.fixture(scope="module")
def weekly_controls():
    return load_mmm_weekly_with_controls(CSV)


def _mape(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p) / np.abs(y)))


def _wape(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.abs(y - p).sum() / np.abs(y).sum())


@pytest.fixture(scope="module")
def holdout_forecasts(weekly_controls):
    """Actual, MMM and seasonal-naive revenue over the last 26 weeks.

    The MMM is fitted on the first 183 weeks with the controls and forecasts
    the last 26 from their actual spend and controls.
    """
    data = weekly_controls
    x = np.column_stack([
        data.spend[:, [data.channels.index(c) for c in members]].sum(axis=1)
        for members in GROUPS.values()
    ])
    controls = data.select(CONTROLS)
    revenue = data.revenue
    n = len(revenue) - HOLDOUT
    fit = fit_mmm(
        x[:n], revenue[:n], period=52, trend=True, rounds=1, controls=controls[:n]
    )
    mmm = fit.predict(x[n:], controls=controls[n:])
    naive = revenue[n - 52 : len(revenue) - 52]
    return revenue[n:], mmm, naive, revenue[:n].mean()


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


def test_load_mmm_weekly_with_controls(weekly, weekly_controls):
    data = weekly_controls
    # Same arrays as the plain loader.
    for got, want in zip(
        (data.dates, data.spend, data.revenue, data.channels), weekly
    ):
        assert np.array_equal(np.asarray(got), np.asarray(want))
    assert data.controls.shape == (209, 50) == (209, len(data.control_names))
    groups = [n.split("_")[0] for n in data.control_names]
    assert groups.count("hldy") == 22 and groups.count("seas") == 19
    assert data.control_names[41:] == [
        "mrkdn_valadd_edw", "mrkdn_pdm", "st_ct", "me_ics_all", "me_gas_dpg",
        "va_pub_0.15", "va_pub_0.2", "va_pub_0.25", "va_pub_0.3",
    ]
    assert data.select(("hldy_", "seas_")).shape == (209, 41)
    # Every holiday falls in one week a year (Green Monday 3 times in 4 years).
    assert data.select(("hldy_Black Friday",)).sum() == 4
    assert data.select(("st_ct",))[0, 0] == pytest.approx(716.2857, abs=1e-4)


def test_load_mmm_weekly_with_controls_needs_controls(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("wk_strt_dt,sales,mdsp_tv\n2020-01-05,1.0,2.0\n")
    with pytest.raises(ValueError, match="no control column"):
        load_mmm_weekly_with_controls(bad)


@pytest.mark.slow
def test_mmm_forecast_beats_the_training_mean(holdout_forecasts):
    actual, mmm, _, mean = holdout_forecasts
    flat = np.full_like(actual, mean)
    # With controls: WAPE 0.261 (0.32 without them).
    assert _wape(actual, mmm) < 0.30
    assert _mape(actual, mmm) < _mape(actual, flat) + 0.05


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "with holiday and season controls fit_mmm scores MAPE 0.283 / WAPE "
        "0.261 on the last 26 weeks (0.33 / 0.32 without them), still behind "
        "the seasonal naive's 0.240 / 0.225; a log target with markdowns and "
        "store count too (level with it on the inner folds) scores 0.281 / "
        "0.254"
    ),
)
def test_mmm_forecast_beats_seasonal_naive(holdout_forecasts):
    actual, mmm, naive, _ = holdout_forecasts
    assert _wape(actual, mmm) < _wape(actual, naive)
