"""The marketing-mix model recovers known adstock and saturation."""

from __future__ import annotations

import numpy as np
import pytest

from campaign_revenue.methods.mmm import adstock, fit_mmm, saturate

DECAY = np.array([0.3, 0.6, 0.1])
LAM = np.array([1.0, 2.0, 0.7])
BETA = np.array([300.0, 500.0, 150.0])


def _weekly(seed: int = 0, weeks: int = 209):
    rng = np.random.default_rng(seed)
    spend = rng.lognormal(0, 0.5, (weeks, 3)) * np.array([100, 200, 50])
    spend[rng.random((weeks, 3)) < 0.2] = 0.0
    scale = np.array([s[s > 0].mean() for s in spend.T])
    y = 1000.0 + 0.5 * np.arange(weeks)
    for j in range(3):
        a = adstock(spend[:, j], DECAY[j])
        y = y + BETA[j] * saturate(a, LAM[j : j + 1], scale[j], "exponential")
    return spend, y + rng.normal(0, 5.0, weeks)


def test_adstock_is_geometric():
    got = adstock(np.array([1.0, 0.0, 0.0, 2.0]), 0.5)
    assert got == pytest.approx([1.0, 0.5, 0.25, 2.125])
    assert adstock(np.zeros(2), 0.5, carry=4.0) == pytest.approx([2.0, 1.0])


def test_fit_mmm_recovers_decay_and_saturation():
    spend, y = _weekly()
    fit = fit_mmm(spend, y, period=None)
    # Tolerance: decay within 0.05, saturation scale and beta within 10%.
    assert fit.decay == pytest.approx(DECAY, abs=0.05)
    assert fit.curve[:, 0] == pytest.approx(LAM, rel=0.10)
    assert fit.beta == pytest.approx(BETA, rel=0.10)
    assert fit.r2 > 0.98


def test_response_is_concave_and_zero_at_zero():
    spend, y = _weekly()
    fit = fit_mmm(spend, y, period=None)
    grid = np.linspace(0, 4000, 9)
    r = fit.response(1, grid, periods=4)
    assert r[0] == 0.0
    assert np.all(np.diff(r) > 0) and np.all(np.diff(r, 2) < 0)


def test_fit_mmm_rejects_bad_shapes():
    with pytest.raises(ValueError, match="spend must be"):
        fit_mmm(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="unknown saturation 'log'"):
        fit_mmm(np.ones((5, 1)), np.ones(5), saturation="log")
