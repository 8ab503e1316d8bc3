"""Scoring the methods: metrics, the rolling-origin backtest, attribution vs truth."""

from __future__ import annotations

from campaign_revenue.evaluation.backtest import (
    BacktestResult,
    attribution_vs_truth,
    run_backtest,
)

__all__ = ["BacktestResult", "attribution_vs_truth", "run_backtest"]
