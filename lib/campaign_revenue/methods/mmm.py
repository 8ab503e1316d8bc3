"""Marketing-mix model: adstock and saturation per channel on total revenue.

Revenue per period is a baseline (intercept, trend, optional seasonality) plus,
per channel, ``beta * saturation(adstock(spend))``. Geometric adstock carries a
share ``decay`` of last period's effect over; saturation is exponential
(``1 - exp(-a / (lam * scale))``) or Hill (``a^s / (a^s + (k * scale)^s)``),
with ``scale`` the channel's mean spend. Decays are searched on a grid, channel
by channel, the curve parameters by least squares with the linear coefficients
solved exactly at each step; a final joint refinement polishes all of them.

Example:
    >>> fit = fit_mmm(weekly_spend, weekly_revenue, period=None)  # doctest: +SKIP
    >>> fit.response(0, np.array([0.0, 1e4]), periods=4)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from scipy import optimize, signal

from campaign_revenue.methods.base import (
    Method,
    MethodContext,
    as_predictions,
    snapshot_pairs,
    window_planned_spend,
)

log = logging.getLogger(__name__)

SATURATIONS = ("exponential", "hill")
DECAY_GRID = np.round(np.linspace(0.0, 0.9, 10), 2)
_CURVE_BOUNDS = {"exponential": ([0.05], [50.0]), "hill": ([0.05, 0.5], [50.0, 4.0])}
_CURVE_START = {"exponential": [1.0], "hill": [1.0, 1.5]}


def adstock(spend: np.ndarray, decay: float, carry: float = 0.0) -> np.ndarray:
    """Geometric adstock a_t = x_t + decay * a_{t-1}, with a_{-1} = carry."""
    zi = np.array([decay * carry])
    return signal.lfilter([1.0], [1.0, -decay], spend, zi=zi)[0]


def saturate(a: np.ndarray, curve: np.ndarray, scale: float, kind: str) -> np.ndarray:
    """The saturation curve of adstocked spend ``a`` (0 at 0, below 1)."""
    a = np.maximum(a, 0.0) / max(scale, 1e-12)
    if kind == "exponential":
        return 1.0 - np.exp(-a / curve[0])
    k, s = curve
    return a**s / (a**s + k**s)


@dataclass
class MmmFit:
    """A fitted marketing-mix model.

    Attributes:
        decay: adstock decay per channel.
        curve: saturation parameters per channel (rows).
        beta: channel coefficients (revenue at full saturation per period).
        scale: mean spend per channel (the unit of the curve parameters).
        baseline: intercept, trend and seasonal coefficients.
        saturation: ``exponential`` or ``hill``.
        period: seasonality period in rows, or None.
        n_periods: rows fitted on.
        r2: in-sample R2.
        last_adstock: adstock of each channel in the last fitted period.
    """

    decay: np.ndarray
    curve: np.ndarray
    beta: np.ndarray
    scale: np.ndarray
    baseline: np.ndarray
    saturation: str
    period: int | None
    n_periods: int
    r2: float
    last_adstock: np.ndarray

    def channel_effect(
        self, c: int, spend: np.ndarray, carry: float = 0.0
    ) -> np.ndarray:
        """Revenue per period caused by channel ``c``'s ``spend`` path."""
        a = adstock(spend, self.decay[c], carry)
        return self.beta[c] * saturate(a, self.curve[c], self.scale[c], self.saturation)

    def response(
        self, c: int, total_spend: np.ndarray, periods: int
    ) -> np.ndarray:
        """Steady-state revenue of channel ``c`` over ``periods`` periods.

        Spend ``total_spend`` spread evenly over the periods, adstock at its
        steady state (spend per period / (1 - decay)).

        Args:
            c: channel index.
            total_spend: spend over the whole window, any shape.
            periods: window length in periods.
        """
        per = np.asarray(total_spend, dtype=float) / periods
        a = per / (1.0 - self.decay[c])
        sat = saturate(a, self.curve[c], self.scale[c], self.saturation)
        return periods * self.beta[c] * sat


def _baseline(n: int, period: int | None, trend: bool, start: int = 0) -> np.ndarray:
    t = np.arange(start, start + n, dtype=float)
    cols = [np.ones(n)]
    if trend:
        cols.append(t / 100.0)
    if period:
        for h in (1, 2) if period >= 7 else (1,):
            angle = 2 * np.pi * h * t / period
            cols += [np.sin(angle), np.cos(angle)]
    return np.column_stack(cols)


def _solve_linear(base: np.ndarray, media: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares with channel coefficients >= 0, baseline free."""
    x = np.hstack([base, media])
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    if np.any(coef[base.shape[1]:] < 0):
        lo = np.r_[np.full(base.shape[1], -np.inf), np.zeros(media.shape[1])]
        coef = optimize.lsq_linear(x, y, bounds=(lo, np.inf)).x
    return coef


def fit_mmm(
    spend: np.ndarray,
    revenue: np.ndarray,
    *,
    saturation: str = "exponential",
    period: int | None = 7,
    trend: bool = True,
    decay_grid: np.ndarray = DECAY_GRID,
    rounds: int = 2,
) -> MmmFit:
    """Fit adstock, saturation and a baseline by least squares.

    Args:
        spend: spend per period and channel, shape [T, C].
        revenue: total revenue per period, shape [T].
        saturation: ``exponential`` or ``hill``.
        period: seasonality period in rows (7 for daily data), None for none.
        trend: include a linear trend.
        decay_grid: adstock decays searched per channel.
        rounds: passes of the channel-by-channel decay search.

    Returns:
        The fitted model.

    Raises:
        ValueError: on mismatched shapes or an unknown saturation.
    """
    spend = np.asarray(spend, dtype=float)
    y = np.asarray(revenue, dtype=float)
    if spend.ndim != 2 or spend.shape[0] != y.shape[0]:
        raise ValueError(
            f"spend must be [T, C] and revenue [T]; got {spend.shape} and {y.shape}"
        )
    if saturation not in SATURATIONS:
        raise ValueError(
            f"unknown saturation {saturation!r}; valid: {', '.join(SATURATIONS)}"
        )
    n, c = spend.shape
    scale = np.array([s[s > 0].mean() if np.any(s > 0) else 1.0 for s in spend.T])
    base = _baseline(n, period, trend)
    p = len(_CURVE_START[saturation])
    lo = np.tile(_CURVE_BOUNDS[saturation][0], c)
    hi = np.tile(_CURVE_BOUNDS[saturation][1], c)

    def media(decay: np.ndarray, curve: np.ndarray) -> np.ndarray:
        return np.column_stack([
            saturate(adstock(spend[:, j], decay[j]), curve[j], scale[j], saturation)
            for j in range(c)
        ])

    def residual(decay: np.ndarray, flat: np.ndarray) -> np.ndarray:
        m = media(decay, flat.reshape(c, p))
        coef = _solve_linear(base, m, y)
        return y - np.hstack([base, m]) @ coef

    def fit_curves(decay: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, float]:
        res = optimize.least_squares(
            lambda f: residual(decay, f), start, bounds=(lo, hi), x_scale="jac"
        )
        return res.x, float(np.sum(res.fun**2))

    decay = np.full(c, float(np.median(decay_grid)))
    flat = np.tile(_CURVE_START[saturation], c).astype(float)
    flat, sse = fit_curves(decay, flat)
    for _ in range(rounds):
        for j in range(c):
            for d in decay_grid:
                trial = decay.copy()
                trial[j] = d
                f, s = fit_curves(trial, flat)
                if s < sse:
                    decay, flat, sse = trial, f, s

    # Joint polish of decays and curves from the best grid point.
    joint = optimize.least_squares(
        lambda v: residual(v[:c], v[c:]),
        np.r_[decay, flat],
        bounds=(np.r_[np.zeros(c), lo], np.r_[np.full(c, 0.98), hi]),
        x_scale="jac",
    )
    if np.sum(joint.fun**2) <= sse:
        decay, flat = joint.x[:c], joint.x[c:]
    curve = flat.reshape(c, p)
    m = media(decay, curve)
    coef = _solve_linear(base, m, y)
    fitted = np.hstack([base, m]) @ coef
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - fitted) ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    last = np.array([adstock(spend[:, j], decay[j])[-1] for j in range(c)])
    return MmmFit(
        decay=decay,
        curve=curve,
        beta=coef[base.shape[1]:],
        scale=scale,
        baseline=coef[: base.shape[1]],
        saturation=saturation,
        period=period,
        n_periods=n,
        r2=r2,
        last_adstock=last,
    )


class Mmm(Method):
    """Daily MMM fitted before each as_of; channel effect split by planned spend.

    The channel's contribution over the window at its planned spend (adstock
    carried over from history) goes to its campaigns in proportion to their
    planned spend. The baseline is nobody's. The fits are kept per as_of, and
    ``response_curve`` reads the latest for the allocation step.

    Args:
        saturation: ``exponential`` or ``hill``.
    """

    name = "mmm"
    gives_intervals = False

    def __init__(self, saturation: str = "exponential") -> None:
        self.saturation = saturation
        self.fits: dict = {}
        self.channels: list[str] = []
        self.horizon_days = 30

    def _daily(
        self, ctx: MethodContext
    ) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
        channel = ctx.table("campaigns").select("campaign_id", "channel")
        # Hand-off to pandas: O(days x channels) and O(days) rows.
        spend = (
            ctx.table("spend_daily")
            .join(channel, "campaign_id")
            .groupBy("channel", "date")
            .agg(F.sum("spend").alias("spend"))
            .toPandas()
        )
        revenue = (
            ctx.table("conversions")
            .groupBy(F.to_date("ts").alias("date"))
            .agg(F.sum("revenue").alias("revenue"))
            .toPandas()
        )
        self.channels = sorted(spend["channel"].unique().tolist())
        days = pd.date_range(
            min(spend["date"].min(), revenue["date"].min()),
            max(spend["date"].max(), revenue["date"].max()),
            freq="D",
        )
        x = (
            spend.assign(date=pd.to_datetime(spend["date"]))
            .pivot_table(index="date", columns="channel", values="spend", aggfunc="sum")
            .reindex(index=days, columns=self.channels)
            .fillna(0.0)
            .to_numpy()
        )
        y = (
            revenue.assign(date=pd.to_datetime(revenue["date"]))
            .set_index("date")["revenue"]
            .reindex(days)
            .fillna(0.0)
            .to_numpy()
        )
        return days, x, y

    def fit_as_of(
        self,
        as_of,
        days: pd.DatetimeIndex,
        x: np.ndarray,
        y: np.ndarray,
        ctx: MethodContext,
    ) -> MmmFit | None:
        """Fit on the days before ``as_of``; None with too little history."""
        if as_of in self.fits:
            return self.fits[as_of]
        n = int(np.sum(days < pd.Timestamp(as_of)))
        if n < ctx.config.mmm_min_history_days:
            log.warning("mmm as_of=%s history_days=%d skipped=true", as_of, n)
            self.fits[as_of] = None
            return None
        fit = fit_mmm(x[:n], y[:n], saturation=self.saturation, period=7)
        log.info(
            "mmm as_of=%s days=%d r2=%.3f decay=%s",
            as_of,
            n,
            fit.r2,
            np.round(fit.decay, 2).tolist(),
        )
        self.fits[as_of] = fit
        return fit

    def predict(self, snapshots: DataFrame, ctx: MethodContext) -> DataFrame:
        spark = snapshots.sparkSession
        pairs = snapshot_pairs(snapshots)
        days, x, y = self._daily(ctx)
        # Hand-off: planned spend per snapshot, O(campaigns x as_of dates).
        planned = (
            window_planned_spend(pairs, ctx)
            .join(
                ctx.table("campaigns").select("campaign_id", "channel"),
                "campaign_id",
            )
            .toPandas()
        )
        h = self.horizon_days = ctx.horizon_days
        rows = []
        for as_of, group in planned.groupby("as_of_date"):
            fit = self.fit_as_of(as_of, days, x, y, ctx)
            for ch, cg in group.groupby("channel"):
                total = float(cg["planned_spend"].sum())
                if fit is None or ch not in self.channels or total <= 0:
                    rows += [(r, as_of, 0.0) for r in cg["campaign_id"]]
                    continue
                j = self.channels.index(ch)
                effect = fit.channel_effect(
                    j, np.full(h, total / h), carry=fit.last_adstock[j]
                ).sum()
                share = cg["planned_spend"].to_numpy() / total
                rows += list(zip(cg["campaign_id"], [as_of] * len(cg), effect * share))
        out = spark.createDataFrame(
            [(str(c), d, float(v)) for c, d, v in rows],
            "campaign_id string, as_of_date date, prediction double",
        )
        return as_predictions(pairs.join(out, ["campaign_id", "as_of_date"], "left"))

    def response_curve(
        self, channel: str, spend_grid: np.ndarray, as_of=None
    ) -> np.ndarray:
        """Window revenue of ``channel`` at each total window spend in the grid.

        Args:
            channel: a channel the model was fitted on.
            spend_grid: total spend over the horizon.
            as_of: which fit; default the latest.

        Raises:
            ValueError: before any fit, or for an unknown channel.
        """
        fitted = {k: v for k, v in self.fits.items() if v is not None}
        if not fitted:
            raise ValueError("mmm has no fit yet; call predict first")
        if channel not in self.channels:
            raise ValueError(
                f"unknown channel {channel!r}; fitted: {', '.join(self.channels)}"
            )
        fit = fitted[as_of if as_of is not None else max(fitted)]
        j = self.channels.index(channel)
        return fit.response(j, spend_grid, self.horizon_days)
