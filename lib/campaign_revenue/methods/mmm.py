"""Marketing-mix model: adstock and saturation per channel on total revenue.

Revenue per period is a baseline (intercept, trend, optional Fourier
seasonality, optional control regressors such as holiday dummies, markdowns or
store counts) plus, per channel, ``beta * saturation(adstock(spend))``. Geometric adstock carries a
share ``decay`` of last period's effect over; saturation is exponential
(``1 - exp(-a / (lam * scale))``) or Hill (``a^s / (a^s + (k * scale)^s)``),
with ``scale`` the channel's mean spend. Decays are searched on a grid, channel
by channel, the curve parameters by least squares with the linear coefficients
solved exactly at each step; a final joint refinement polishes all of them.
Controls are standardized on the fitted rows and enter the baseline linearly,
optionally with a ridge penalty; ``MmmFit.predict`` forecasts revenue for the
periods after the fitted ones from their spend and controls.

Example:
    >>> fit = fit_mmm(weekly_spend, weekly_revenue, period=None)  # doctest: +SKIP
    >>> fit.response(0, np.array([0.0, 1e4]), periods=4)  # doctest: +SKIP
    >>> fit = fit_mmm(spend[:-26], revenue[:-26], period=52,
    ...               controls=controls[:-26])  # doctest: +SKIP
    >>> fit.predict(spend[-26:], controls=controls[-26:])  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

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
        trend: whether the baseline has a linear trend.
        harmonics: Fourier pairs of the seasonality (None: 2, or 1 when
            ``period`` < 7).
        control_coef: coefficient per standardized control, shape [K]
            (empty without controls).
        control_mean: training mean of each control (subtracted).
        control_scale: training standard deviation of each control (divided
            by; 1 for a control constant on the fitted rows).
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
    trend: bool = True
    harmonics: int | None = None
    control_coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    control_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    control_scale: np.ndarray = field(default_factory=lambda: np.ones(0))

    @property
    def control_per_unit(self) -> np.ndarray:
        """Revenue per period per unit of each control (original units)."""
        return self.control_coef / self.control_scale

    def channel_effect(
        self, c: int, spend: np.ndarray, carry: float = 0.0
    ) -> np.ndarray:
        """Revenue per period caused by channel ``c``'s ``spend`` path."""
        a = adstock(spend, self.decay[c], carry)
        return self.beta[c] * saturate(a, self.curve[c], self.scale[c], self.saturation)

    def control_effect(self, controls: np.ndarray) -> np.ndarray:
        """Revenue per period of the controls, shape [T] (0 without controls).

        Args:
            controls: control values per period, shape [T, K], the columns in
                the order fitted.

        Raises:
            ValueError: if the number of columns differs from the fit's.
        """
        x = np.asarray(controls, dtype=float)
        k = len(self.control_coef)
        if x.ndim != 2 or x.shape[1] != k:
            raise ValueError(f"controls must be [T, {k}]; got {x.shape}")
        return ((x - self.control_mean) / self.control_scale) @ self.control_coef

    def predict(
        self,
        spend: np.ndarray,
        controls: np.ndarray | None = None,
        carry: np.ndarray | None = None,
        start: int | None = None,
    ) -> np.ndarray:
        """Revenue per period for the spend (and controls) of new periods.

        Baseline (trend and seasonality continued), control effects and every
        channel's effect, adstock carried over from the last fitted period.

        Args:
            spend: spend per period and channel, shape [H, C].
            controls: control values, shape [H, K]; required when the model
                was fitted with controls, ignored (must be None) otherwise.
            carry: adstock per channel before the first new period; default
                ``last_adstock`` (the periods follow the fitted ones).
            start: time index of the first new period; default ``n_periods``.

        Returns:
            Predicted revenue, shape [H].

        Raises:
            ValueError: on mismatched shapes or missing controls.
        """
        x = np.asarray(spend, dtype=float)
        c = len(self.beta)
        if x.ndim != 2 or x.shape[1] != c:
            raise ValueError(f"spend must be [H, {c}]; got {x.shape}")
        h = x.shape[0]
        k = len(self.control_coef)
        if k and controls is None:
            raise ValueError(f"the model was fitted with {k} controls; pass them")
        if not k and controls is not None and np.size(controls):
            raise ValueError("the model was fitted without controls")
        carry = self.last_adstock if carry is None else np.broadcast_to(carry, (c,))
        start = self.n_periods if start is None else start
        out = _baseline(h, self.period, self.trend, start, self.harmonics) @ self.baseline
        if k:
            ctl = np.asarray(controls, dtype=float)
            if ctl.shape[0] != h:
                raise ValueError(f"controls must have {h} rows; got {ctl.shape}")
            out = out + self.control_effect(ctl)
        for j in range(c):
            out = out + self.channel_effect(j, x[:, j], float(carry[j]))
        return out

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


def _baseline(
    n: int,
    period: int | None,
    trend: bool,
    start: int = 0,
    harmonics: int | None = None,
) -> np.ndarray:
    t = np.arange(start, start + n, dtype=float)
    cols = [np.ones(n)]
    if trend:
        cols.append(t / 100.0)
    if period:
        if harmonics is None:
            harmonics = 2 if period >= 7 else 1
        for h in range(1, harmonics + 1):
            angle = 2 * np.pi * h * t / period
            cols += [np.sin(angle), np.cos(angle)]
    return np.column_stack(cols)


def _solve_linear(
    base: np.ndarray,
    media: np.ndarray,
    y: np.ndarray,
    penalty: np.ndarray | None = None,
) -> np.ndarray:
    """Least squares with channel coefficients >= 0, baseline free.

    ``penalty`` (one per baseline column) adds ridge rows
    ``penalty_i * coef_i = 0``; zero entries leave a column unpenalized.
    """
    x = np.hstack([base, media])
    if penalty is not None and np.any(penalty > 0):
        idx = np.flatnonzero(penalty > 0)
        rows = np.zeros((len(idx), x.shape[1]))
        rows[np.arange(len(idx)), idx] = penalty[idx]
        x = np.vstack([x, rows])
        y = np.r_[y, np.zeros(len(idx))]
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    nb = base.shape[1]
    if np.any(coef[nb:] < 0):
        # Project the free baseline out, solve the channels by NNLS, then the
        # baseline on what is left: exact, and fast with many baseline columns.
        b, m = x[:, :nb], x[:, nb:]
        rhs = np.column_stack([m, y])
        resid = rhs - b @ np.linalg.lstsq(b, rhs, rcond=None)[0]
        beta = optimize.nnls(resid[:, :-1], resid[:, -1])[0]
        coef = np.r_[np.linalg.lstsq(b, y - m @ beta, rcond=None)[0], beta]
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
    controls: np.ndarray | None = None,
    control_ridge: float = 0.0,
    harmonics: int | None = None,
) -> MmmFit:
    """Fit adstock, saturation and a baseline by least squares.

    Args:
        spend: spend per period and channel, shape [T, C].
        revenue: total revenue per period, shape [T].
        saturation: ``exponential`` or ``hill``.
        period: seasonality period in rows (7 for daily data, 52 for weekly),
            None for none.
        trend: include a linear trend.
        decay_grid: adstock decays searched per channel.
        rounds: passes of the channel-by-channel decay search.
        controls: optional regressors known in advance (holiday or season
            dummies, markdowns, store count), shape [T, K]; standardized on
            these rows and added to the baseline linearly. ``predict`` then
            needs them for the new periods too.
        control_ridge: ridge penalty on the standardized control coefficients,
            in rows (a control orthogonal to the rest is shrunk by
            ``T / (T + control_ridge)``); 0 for plain least squares.
        harmonics: Fourier pairs of the seasonality; default 2 (1 when
            ``period`` < 7).

    Returns:
        The fitted model.

    Raises:
        ValueError: on mismatched shapes, an unknown saturation or a negative
            ridge.
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
    if control_ridge < 0:
        raise ValueError(f"control_ridge must be >= 0; got {control_ridge}")
    n, c = spend.shape
    if controls is None:
        ctl = np.zeros((n, 0))
    else:
        ctl = np.asarray(controls, dtype=float)
        if ctl.ndim == 1:
            ctl = ctl[:, None]
        if ctl.ndim != 2 or ctl.shape[0] != n:
            raise ValueError(f"controls must be [T, K] with T={n}; got {ctl.shape}")
        if not np.all(np.isfinite(ctl)):
            raise ValueError("controls have missing or infinite values")
    c_mean = ctl.mean(axis=0)
    c_scale = ctl.std(axis=0)
    c_scale[c_scale == 0] = 1.0
    scale = np.array([s[s > 0].mean() if np.any(s > 0) else 1.0 for s in spend.T])
    trend_base = _baseline(n, period, trend, 0, harmonics)
    nb = trend_base.shape[1]
    base = np.hstack([trend_base, (ctl - c_mean) / c_scale])
    penalty = np.r_[np.zeros(nb), np.full(ctl.shape[1], np.sqrt(control_ridge))]
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
        coef = _solve_linear(base, m, y, penalty)
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
    coef = _solve_linear(base, m, y, penalty)
    fitted = np.hstack([base, m]) @ coef
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - fitted) ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    last = np.array([adstock(spend[:, j], decay[j])[-1] for j in range(c)])
    return MmmFit(
        decay=decay,
        curve=curve,
        beta=coef[base.shape[1]:],
        scale=scale,
        baseline=coef[:nb],
        saturation=saturation,
        period=period,
        n_periods=n,
        r2=r2,
        last_adstock=last,
        trend=trend,
        harmonics=harmonics,
        control_coef=coef[nb : base.shape[1]],
        control_mean=c_mean,
        control_scale=c_scale,
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

    def fit_before(self, as_of, ctx: MethodContext) -> MmmFit | None:
        """Fit on the daily series before ``as_of`` alone, without predicting.

        What the allocation's response curves need: ``response_curve`` then
        reads this fit. None with too little history.
        """
        self.horizon_days = ctx.horizon_days
        days, x, y = self._daily(ctx)
        return self.fit_as_of(as_of, days, x, y, ctx)

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
