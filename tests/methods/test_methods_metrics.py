"""Backtest metrics against direct numpy and scipy computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from campaign_revenue.evaluation import metrics

Y = np.array([10.0, 0.0, 5.0, 20.0, 5.0, 7.5])
P = np.array([12.0, 1.0, 5.0, 15.0, 6.0, 7.5])


def test_point_metrics_match_numpy():
    err = Y - P
    assert metrics.wape(Y, P) == pytest.approx(np.abs(err).sum() / np.abs(Y).sum())
    assert metrics.mae(Y, P) == pytest.approx(np.mean(np.abs(err)))
    assert metrics.rmse(Y, P) == pytest.approx(np.sqrt(np.mean(err**2)))
    r2 = 1 - np.sum(err**2) / np.sum((Y - Y.mean()) ** 2)
    assert metrics.r2(Y, P) == pytest.approx(r2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spearman_matches_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, 40).astype(float)
    p = y + rng.integers(0, 3, 40)
    assert metrics.spearman(y, p) == pytest.approx(stats.spearmanr(y, p)[0])
    assert metrics.spearman(Y, P) == pytest.approx(stats.spearmanr(Y, P)[0])


def test_coverage_and_undefined_cases():
    lo, hi = P - 1.0, P + 1.0
    assert metrics.coverage(Y, lo, hi) == pytest.approx(4 / 6)
    assert np.isnan(metrics.coverage(Y, np.full(6, np.nan), np.full(6, np.nan)))
    assert np.isnan(metrics.wape(np.zeros(3), np.ones(3)))
    assert np.isnan(metrics.r2(np.ones(3), np.ones(3)))
    assert "coverage" not in metrics.all_metrics(Y, P)
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.mae(Y, P[:2])
