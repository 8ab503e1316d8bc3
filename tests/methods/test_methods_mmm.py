"""The marketing-mix model recovers known adstock, saturation and controls."""

from __future__ import annotations

import numpy as np
import pytest

from campaign_revenue.methods.mmm import _baseline, adstock, fit_mmm, saturate

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


def _weekly_with_controls(seed: int = 1, weeks: int = 209):
    """Weekly data with a holiday dummy, a markdown share and a store count."""
    rng = np.random.default_rng(seed + 1000)
    spend, y = _weekly(seed, weeks)
    holiday = np.zeros(weeks)
    holiday[rng.choice(weeks, 12, replace=False)] = 1.0
    markdown = rng.uniform(0.25, 0.45, weeks)
    stores = np.repeat([720.0, 700.0, 660.0, 600.0], -(-weeks // 4))[:weeks]
    controls = np.column_stack([holiday, markdown, stores])
    return spend, y + controls @ CONTROL_EFFECT, controls


CONTROL_EFFECT = np.array([400.0, 2000.0, 1.5])  # per holiday, per unit, per store


def test_fit_mmm_recovers_control_effects():
    spend, y, controls = _weekly_with_controls()
    fit = fit_mmm(spend, y, period=None, controls=controls, rounds=1)
    assert fit.control_per_unit == pytest.approx(CONTROL_EFFECT, rel=0.10)
    assert fit.decay == pytest.approx(DECAY, abs=0.05)
    assert fit.beta == pytest.approx(BETA, rel=0.10)
    assert fit.r2 > 0.98


def test_predict_continues_the_fit_with_future_controls():
    spend, y, controls = _weekly_with_controls()
    n = 180
    fit = fit_mmm(spend[:n], y[:n], period=None, controls=controls[:n], rounds=1)
    got = fit.predict(spend[n:], controls=controls[n:])
    # Noise sd is 5 on revenue near 1,500-2,500: forecasts within 2 %.
    assert np.abs(got - y[n:]).sum() / y[n:].sum() < 0.02
    # Same as the pieces: baseline, controls and each channel with its carry.
    pieces = (
        _baseline(len(got), None, True, start=n) @ fit.baseline
        + fit.control_effect(controls[n:])
        + sum(
            fit.channel_effect(j, spend[n:, j], fit.last_adstock[j])
            for j in range(spend.shape[1])
        )
    )
    assert got == pytest.approx(pieces)
    with pytest.raises(ValueError, match="fitted with 3 controls"):
        fit.predict(spend[n:])
    with pytest.raises(ValueError, match=r"controls must be \[T, 3\]"):
        fit.predict(spend[n:], controls=controls[n:, :2])


def test_predict_without_controls_matches_the_old_pieces():
    spend, y = _weekly()
    n = 180
    fit = fit_mmm(spend[:n], y[:n], period=None, rounds=1)
    got = fit.predict(spend[n:])
    assert len(fit.control_coef) == 0
    assert got == pytest.approx(
        _baseline(len(got), None, True, start=n) @ fit.baseline
        + sum(
            fit.channel_effect(j, spend[n:, j], fit.last_adstock[j])
            for j in range(spend.shape[1])
        )
    )
    with pytest.raises(ValueError, match="fitted without controls"):
        fit.predict(spend[n:], controls=np.ones((len(got), 1)))


def test_fit_mmm_rejects_bad_controls():
    spend, y = _weekly()
    with pytest.raises(ValueError, match="controls must be"):
        fit_mmm(spend, y, controls=np.ones((5, 2)))
    with pytest.raises(ValueError, match="missing or infinite"):
        fit_mmm(spend, y, controls=np.full((len(y), 1), np.nan))
    with pytest.raises(ValueError, match="control_ridge"):
        fit_mmm(spend, y, controls=np.ones((len(y), 1)), control_ridge=-1.0)
