"""Response curves: expected incremental revenue of a campaign as a function of spend.

A campaign's curve is its estimated incremental revenue at planned spend, carried
along the saturation shape the marketing-mix model found for its channel:
``curve(s) = estimate * r(s / planned)`` with ``r(m) = f(m * S) / f(S)``, where
``f`` is the channel's window response and ``S`` the channel's planned total.
``r`` is 0 at 0 and 1 at the plan, so the curve passes through the estimate,
and it is monotone and concave wherever the channel's saturation is. The bands
scale the same shape through the estimate's lower and upper bounds.

Example:
    >>> shape = exponential_shape(1.0)
    >>> round(float(shape(np.array([1.0]))[0]), 6)
    1.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from campaign_revenue.schema import RESPONSE_CURVES

# Relative response: spend multiplier of the plan -> revenue multiplier.
Shape = Callable[[np.ndarray], np.ndarray]

# Declared once in schema.py, the gold table's contract.
CURVE_COLUMNS = tuple(RESPONSE_CURVES.column_names)
CURVE_KEY = RESPONSE_CURVES.key


def exponential_shape(theta: float = 1.0) -> Shape:
    """``r(m) = (1 - exp(-m / theta)) / (1 - exp(-1 / theta))``.

    The fallback shape for a channel the MMM could not fit; smaller ``theta``
    saturates sooner.
    """
    if theta <= 0:
        raise ValueError(f"theta must be positive, got {theta}")
    norm = 1.0 - np.exp(-1.0 / theta)

    def shape(m: np.ndarray) -> np.ndarray:
        return (1.0 - np.exp(-np.maximum(m, 0.0) / theta)) / norm

    return shape


def channel_shape(response: Callable[[np.ndarray], np.ndarray], planned: float) -> Shape | None:
    """The relative shape of a channel's window response around its plan.

    Args:
        response: total window spend of the channel -> window revenue
            (for example ``lambda s: mmm.response_curve(channel, s)``).
        planned: the channel's planned window spend.

    Returns:
        ``r(m) = response(m * planned) / response(planned)``, or None when the
        response at the plan is not positive (no usable shape).
    """
    if planned <= 0:
        return None
    at_plan = float(np.asarray(response(np.array([planned])))[0])
    if not np.isfinite(at_plan) or at_plan <= 1e-9:
        return None

    def shape(m: np.ndarray) -> np.ndarray:
        m = np.maximum(np.asarray(m, dtype=float), 0.0)
        return np.asarray(response(m * planned), dtype=float) / at_plan

    return shape


def response_curves(
    estimates: pd.DataFrame,
    shapes: Mapping[str, Shape],
    multipliers: np.ndarray,
    default_shape: Shape | None = None,
) -> pd.DataFrame:
    """Curve points per campaign on a grid of multipliers of its planned spend.

    Args:
        estimates: one row per campaign: campaign_id, as_of_date, channel,
            planned_spend, predicted_incremental_revenue, incremental_lower,
            incremental_upper.
        shapes: relative shape per channel.
        multipliers: spend multipliers of the plan, starting at 0.
        default_shape: used for a channel missing from ``shapes``.

    Returns:
        ``CURVE_COLUMNS``; a campaign with no planned spend gets one point,
        zero spend and zero revenue.
    """
    fallback = default_shape or exponential_shape()
    grid = np.asarray(multipliers, dtype=float)
    frames = []
    for row in estimates.itertuples(index=False):
        planned = float(row.planned_spend or 0.0)
        if planned <= 0:
            frames.append(_points(row, np.zeros(1), 0.0, np.zeros(1)))
            continue
        r = np.asarray(shapes.get(row.channel, fallback)(grid), dtype=float)
        # Guard the invariants: zero at zero, monotone, never negative.
        r = np.maximum.accumulate(np.maximum(r - r[0], 0.0))
        frames.append(_points(row, grid, planned, r))
    if not frames:
        return pd.DataFrame(columns=list(CURVE_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(CURVE_COLUMNS)]


def _points(row, grid: np.ndarray, planned: float, r: np.ndarray) -> pd.DataFrame:
    estimate = max(float(row.predicted_incremental_revenue or 0.0), 0.0)
    lower = max(float(row.incremental_lower or 0.0), 0.0)
    upper = max(float(row.incremental_upper or 0.0), estimate)
    return pd.DataFrame({
        "campaign_id": row.campaign_id,
        "as_of_date": row.as_of_date,
        "spend_multiplier": np.round(grid, 6),
        "spend": grid * planned,
        "expected_incremental_revenue": estimate * r,
        "lower": min(lower, estimate) * r,
        "upper": upper * r,
    })


def curve_functions(
    curves: pd.DataFrame, value: str = "expected_incremental_revenue"
) -> dict[str, Callable[[float], float]]:
    """Piecewise-linear interpolants of curve points, flat past the last point.

    Args:
        curves: rows with campaign_id, spend and ``value``.
        value: which column to interpolate.

    Returns:
        Campaign id -> spend -> revenue.
    """
    out: dict[str, Callable[[float], float]] = {}
    for cid, g in curves.sort_values("spend").groupby("campaign_id"):
        xs = g["spend"].to_numpy(dtype=float)
        ys = g[value].to_numpy(dtype=float)

        def f(x: float, xs: np.ndarray = xs, ys: np.ndarray = ys) -> float:
            return float(np.interp(x, xs, ys))

        out[str(cid)] = f
    return out
