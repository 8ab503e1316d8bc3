"""Budget reallocation: the spend split that maximizes expected incremental revenue.

The optimizer hands the budget out in small steps, each to the campaign whose
next step buys the most expected incremental revenue, starting from every
campaign's lower bound and never passing an upper bound or a channel cap. On
concave response curves this greedy rule reaches the optimum up to one step.

The step runner reads the incrementality estimates, builds the response curves,
optimizes under the same total as the current plan, and writes
``gold.budget_allocations``, ``gold.response_curves``,
``gold.recommended_spend_plan`` and ``<out>/spend_plan.parquet`` (the input
contract's ``spend_plan``, so ingest can take a recommendation back in).

Example:
    >>> import numpy as np
    >>> curves = {"a": lambda x: 10 * np.log1p(x), "b": lambda x: 5 * np.log1p(x)}
    >>> bounds = Bounds(lower={"a": 0.0, "b": 0.0}, upper={"a": 10.0, "b": 10.0})
    >>> alloc = optimize(curves, 6.0, bounds)
    >>> round(alloc["a"], 1), round(alloc["b"], 1)
    (4.3, 1.7)
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from campaign_revenue.config import AllocationConfig, Config
from campaign_revenue.incrementality.curves import (
    CURVE_KEY,
    curve_functions,
    response_curves,
)
from campaign_revenue.schema import (
    BUDGET_ALLOCATIONS,
    RECOMMENDED_SPEND_PLAN,
    RESPONSE_CURVES,
)
from campaign_revenue.tables import Lakehouse

log = logging.getLogger(__name__)

ALLOCATION_TABLE = "gold.budget_allocations"
# Declared once in schema.py, the gold table's contract.
ALLOCATION_KEY = BUDGET_ALLOCATIONS.key
ALLOCATION_COLUMNS = tuple(BUDGET_ALLOCATIONS.column_names)
CURVES_TABLE = "gold.response_curves"
PLAN_TABLE = "gold.recommended_spend_plan"
PLAN_KEY = RECOMMENDED_SPEND_PLAN.key

Curve = Callable[[float], float]


@dataclass
class Bounds:
    """Per-campaign spend bounds and per-channel caps of one window.

    Attributes:
        lower: campaign id -> least spend.
        upper: campaign id -> most spend.
        channel: campaign id -> channel, needed for ``channel_caps``.
        channel_caps: channel -> most total spend of its campaigns.
    """

    lower: dict[str, float]
    upper: dict[str, float]
    channel: dict[str, str] = field(default_factory=dict)
    channel_caps: dict[str, float] = field(default_factory=dict)

    def check(self, total_budget: float) -> None:
        """Raise ValueError when no split of ``total_budget`` fits the bounds."""
        bad = [c for c in self.lower if self.lower[c] > self.upper.get(c, 0.0) + 1e-9]
        if bad:
            raise ValueError(
                f"lower bound above upper bound for campaigns {', '.join(bad[:5])}"
            )
        low = sum(self.lower.values())
        if low > total_budget + 1e-6:
            raise ValueError(
                f"total_budget {total_budget:,.2f} is below the sum of lower "
                f"bounds {low:,.2f} (min_ratio and floors)"
            )
        high = 0.0
        by_channel: dict[str, float] = {}
        for c, u in self.upper.items():
            ch = self.channel.get(c)
            if ch in self.channel_caps:
                by_channel[ch] = by_channel.get(ch, 0.0) + u
            else:
                high += u
        for ch, u in by_channel.items():
            high += min(u, max(self.channel_caps[ch], 0.0))
        if high < total_budget - 1e-6:
            raise ValueError(
                f"total_budget {total_budget:,.2f} is above what the bounds allow "
                f"({high:,.2f}: max_ratio and channel_caps)"
            )
        for ch, cap in self.channel_caps.items():
            floor = sum(
                v for c, v in self.lower.items() if self.channel.get(c) == ch
            )
            if floor > cap + 1e-6:
                raise ValueError(
                    f"channel cap of {ch!r} ({cap:,.2f}) is below its campaigns' "
                    f"lower bounds ({floor:,.2f})"
                )


def allocation_bounds(
    current: Mapping[str, float],
    channel: Mapping[str, str],
    cfg: AllocationConfig,
) -> Bounds:
    """Bounds from the config: ratios of the current plan, floors, channel caps.

    A campaign's lower bound is ``max(min_ratio * current, floor)`` and its
    upper bound ``max(max_ratio * current, lower)``. A campaign with no current
    spend stays at zero (it has no planned day to spend on), unless a floor
    names it.
    """
    lower, upper = {}, {}
    for cid, spend in current.items():
        floor = float(cfg.floors.get(cid, 0.0))
        lower[cid] = max(cfg.min_ratio * spend, floor)
        upper[cid] = max(cfg.max_ratio * spend, lower[cid])
    return Bounds(
        lower=lower,
        upper=upper,
        channel={c: channel.get(c, "") for c in current},
        channel_caps=dict(cfg.channel_caps),
    )


def optimize(
    curves: Mapping[str, Curve],
    total_budget: float,
    bounds: Bounds,
    steps: int = 4000,
) -> dict[str, float]:
    """Split ``total_budget`` to maximize the summed curves within ``bounds``.

    Args:
        curves: campaign id -> spend -> expected incremental revenue
            (concave for the result to be optimal).
        total_budget: the whole budget; all of it is spent.
        bounds: per-campaign bounds (every campaign of ``curves`` must have
            both) and channel caps.
        steps: the budget above the lower bounds is handed out in about this
            many steps.

    Returns:
        Campaign id -> spend; sums to ``total_budget`` and meets every bound.

    Raises:
        ValueError: when a campaign lacks bounds or the bounds cannot be met.
    """
    missing = [c for c in curves if c not in bounds.lower or c not in bounds.upper]
    if missing:
        raise ValueError(f"bounds lack campaigns {', '.join(missing[:5])}")
    bounds.check(total_budget)
    spend = {c: float(bounds.lower[c]) for c in curves}
    left = total_budget - sum(spend.values())
    if left <= 0:
        return spend
    step = left / max(steps, 1)
    channel_left = {
        ch: cap - sum(v for c, v in spend.items() if bounds.channel.get(c) == ch)
        for ch, cap in bounds.channel_caps.items()
    }

    def room(c: str) -> float:
        r = bounds.upper[c] - spend[c]
        ch = bounds.channel.get(c)
        if ch in channel_left:
            r = min(r, channel_left[ch])
        return r

    def gain(c: str) -> tuple[float, float]:
        size = min(step, room(c), left)
        if size <= 1e-12:
            return -np.inf, 0.0
        return (curves[c](spend[c] + size) - curves[c](spend[c])) / size, size

    heap = []
    for c in curves:
        g, size = gain(c)
        if size > 0:
            heapq.heappush(heap, (-g, c))
    while left > 1e-9 * max(total_budget, 1.0) and heap:
        _, c = heapq.heappop(heap)
        g, size = gain(c)  # room may have shrunk through a channel cap
        if size <= 0:
            continue
        if heap and -heap[0][0] > g + 1e-12:
            heapq.heappush(heap, (-g, c))
            continue
        spend[c] += size
        left -= size
        ch = bounds.channel.get(c)
        if ch in channel_left:
            channel_left[ch] -= size
        g, size = gain(c)
        if size > 0:
            heapq.heappush(heap, (-g, c))
    return spend


@dataclass
class AllocationSummary:
    """What one allocation run recommends.

    Attributes:
        as_of: the window's first day.
        total_budget: spend of the window, split the same way in total.
        allocations: ``ALLOCATION_COLUMNS`` per campaign.
        gain: expected incremental revenue added by the new split.
        gain_lower: lower end of the gain's interval.
        gain_upper: upper end of the gain's interval.
        moves: donor -> recipient transfers (from_campaign, to_campaign, amount).
        spend_plan_path: the Parquet ``spend_plan`` written.
        interval_level: the level of the gain's interval.
    """

    as_of: dt.date
    total_budget: float
    allocations: pd.DataFrame
    gain: float
    gain_lower: float
    gain_upper: float
    moves: pd.DataFrame
    spend_plan_path: Path | None = None
    interval_level: float = 0.9

    @property
    def current_revenue(self) -> float:
        return float(self.allocations["expected_incremental_revenue_current"].sum())

    @property
    def recommended_revenue(self) -> float:
        return float(
            self.allocations["expected_incremental_revenue_recommended"].sum()
        )

    def __str__(self) -> str:
        lines = [
            f"allocation as_of {self.as_of}: budget {self.total_budget:,.0f} over "
            f"{len(self.allocations)} campaigns",
            f"  expected incremental revenue {self.current_revenue:,.0f} -> "
            f"{self.recommended_revenue:,.0f}: {self.gain:+,.0f} "
            f"({self.interval_level:.0%} interval {self.gain_lower:+,.0f} .. "
            f"{self.gain_upper:+,.0f})",
        ]
        if len(self.moves):
            lines.append("  top moves:")
            for m in self.moves.itertuples(index=False):
                lines.append(
                    f"    {m.from_campaign} -> {m.to_campaign}: {m.amount:,.0f}"
                )
        if self.spend_plan_path is not None:
            lines.append(f"  spend_plan: {self.spend_plan_path}")
        return "\n".join(lines)


def top_moves(allocations: pd.DataFrame, count: int = 5) -> pd.DataFrame:
    """Pair the largest donors with the largest recipients, in order.

    Returns:
        Up to ``count`` rows (from_campaign, to_campaign, amount), largest first.
    """
    delta = allocations.set_index("campaign_id").eval(
        "recommended_spend - current_spend"
    )
    give = [[c, -v] for c, v in delta[delta < -0.005].sort_values().items()]
    take = [[c, v] for c, v in delta[delta > 0.005].sort_values(ascending=False).items()]
    moves = []
    i = j = 0
    while i < len(give) and j < len(take):
        amount = min(give[i][1], take[j][1])
        moves.append((give[i][0], take[j][0], amount))
        give[i][1] -= amount
        take[j][1] -= amount
        if give[i][1] <= 0.005:
            i += 1
        if take[j][1] <= 0.005:
            j += 1
    frame = pd.DataFrame(moves, columns=["from_campaign", "to_campaign", "amount"])
    return frame.sort_values("amount", ascending=False).head(count).reset_index(
        drop=True
    )


def spend_plan_rows(
    recommended: Mapping[str, float],
    campaigns: pd.DataFrame,
    as_of: dt.date,
    horizon_days: int = 30,
) -> pd.DataFrame:
    """Recommended spend spread evenly over each campaign's in-flight window days.

    Args:
        recommended: campaign id -> window spend.
        campaigns: campaign_id, start_date, end_date.
        as_of: the window's first day.
        horizon_days: window length.

    Returns:
        (campaign_id, date, planned_spend), the input contract's ``spend_plan``;
        a campaign with spend but no in-flight day spreads it over the window.
    """
    days = [as_of + dt.timedelta(days=k) for k in range(horizon_days)]
    flights = campaigns.set_index("campaign_id")
    rows = []
    for cid, total in recommended.items():
        start = flights.at[cid, "start_date"]
        end = flights.at[cid, "end_date"]
        on = [
            d for d in days
            if d >= start and (end is None or pd.isna(end) or d <= end)
        ]
        if not on and total > 0:
            on = days
        for d in on:
            rows.append((cid, d, float(total) / len(on)))
    return pd.DataFrame(rows, columns=["campaign_id", "date", "planned_spend"])


def gain_interval(
    plan: Mapping[str, float],
    current: Mapping[str, float],
    mean: Mapping[str, Curve],
    low: Mapping[str, Curve],
    high: Mapping[str, Curve],
) -> tuple[float, float]:
    """Expected gain of ``plan`` over ``current`` and its half-width.

    Each campaign's change in revenue has the half-width of its own interval's
    change; campaigns are taken as independent (the shared calibration factor
    is left out), so the half-widths add in quadrature.
    """
    gain = sum(mean[c](plan[c]) - mean[c](current[c]) for c in current)
    spread = np.array([
        (high[c](plan[c]) - high[c](current[c]))
        - (low[c](plan[c]) - low[c](current[c]))
        for c in current
    ]) / 2.0
    return float(gain), float(np.sqrt(np.sum(spread**2)))


def guard_gain(
    recommended: Mapping[str, float],
    current: Mapping[str, float],
    mean: Mapping[str, Curve],
    low: Mapping[str, Curve],
    high: Mapping[str, Curve],
    steps: int = 20,
) -> tuple[dict[str, float], float]:
    """Scale the moves back until the gain's lower bound is not below zero.

    The plan ``current + t * (recommended - current)`` meets the same bounds
    and total for every t in [0, 1] (they are linear). The largest t on a
    grid of ``steps`` whose gain minus its half-width is at least 0 is kept;
    t = 0, the current plan, when none is. The curves' lower and upper
    carry the interval level.

    Returns:
        The guarded plan and t.
    """
    delta = {c: recommended[c] - current[c] for c in current}
    for t in np.linspace(1.0, 0.0, steps + 1):
        plan = {c: current[c] + t * delta[c] for c in current}
        gain, half = gain_interval(plan, current, mean, low, high)
        if gain - half >= 0.0:
            return plan, float(t)
    return dict(current), 0.0


def channel_shapes(
    tables: dict[str, DataFrame],
    cfg: Config,
    as_of: dt.date,
    channel_plan: Mapping[str, float],
) -> dict:
    """Relative response shapes per channel from an MMM fitted before ``as_of``.

    Returns an empty dict (the fixed exponential shape is used) when the MMM
    cannot be fitted.
    """
    from campaign_revenue.incrementality.curves import channel_shape
    from campaign_revenue.methods.base import MethodContext
    from campaign_revenue.methods.mmm import Mmm

    ctx = MethodContext(
        tables=tables, horizon_days=cfg.backtest.horizon_days, config=cfg.backtest
    )
    mmm = Mmm()
    try:
        fit = mmm.fit_before(as_of, ctx)
    except (ValueError, RuntimeError, np.linalg.LinAlgError) as err:
        log.warning("allocate mmm_curves=false reason=%s", err)
        return {}
    if fit is None:
        log.warning("allocate mmm_curves=false reason=too little history")
        return {}
    shapes = {}
    for ch, total in channel_plan.items():
        if ch not in mmm.channels:
            continue
        shape = channel_shape(
            lambda s, ch=ch: mmm.response_curve(ch, s, as_of), total
        )
        if shape is not None:
            shapes[ch] = shape
    return shapes


def run_allocate(
    spark: SparkSession,
    cfg: Config,
    lakehouse: Lakehouse,
    as_of: dt.date | None = None,
    total_budget: float | None = None,
    out: str | Path | None = None,
) -> AllocationSummary:
    """The allocate step: curves, the best split of the budget, and its writes.

    Args:
        spark: the session.
        cfg: run configuration (``allocation`` bounds and settings).
        lakehouse: where ``silver.*`` live and ``gold.*`` go.
        as_of: the window's first day; default the day after the latest input.
        total_budget: the window's budget; default the current plan's total.
        out: folder of ``spend_plan.parquet``; default
            ``<lakehouse root>/allocate/<as_of>``.

    Returns:
        The allocation, its expected gain with an interval, and the top moves.
    """
    from campaign_revenue.incrementality.model import (
        default_as_of,
        run_incrementality,
        silver_tables,
    )

    started = time.perf_counter()
    a = cfg.allocation
    h = cfg.backtest.horizon_days
    tables = silver_tables(lakehouse)
    as_of = as_of or default_as_of(tables)
    est = run_incrementality(spark, cfg, lakehouse, as_of)

    channel_plan = est.groupby("channel")["planned_spend"].sum().to_dict()
    shapes = channel_shapes(tables, cfg, as_of, channel_plan) if a.mmm_curves else {}
    grid = np.linspace(0.0, a.curve_max_multiplier, a.curve_points)
    curves = response_curves(est, shapes, grid)
    _write_pandas(
        spark, lakehouse, curves, CURVES_TABLE, CURVE_KEY, as_of,
        RESPONSE_CURVES.ddl(),
    )

    current = dict(zip(est["campaign_id"], est["planned_spend"].astype(float)))
    channel = dict(zip(est["campaign_id"], est["channel"]))
    bounds = allocation_bounds(current, channel, a)
    total = float(sum(current.values()) if total_budget is None else total_budget)
    mean = curve_functions(curves)
    low = curve_functions(curves, "lower")
    high = curve_functions(curves, "upper")
    recommended = optimize(mean, total, bounds, steps=a.steps)
    if a.guard_current and total_budget is None:
        # the same total as the current plan: never worse than it at the
        # interval's lower end (another total has no such comparison)
        recommended, kept = guard_gain(recommended, current, mean, low, high)
        if kept < 1.0:
            log.info("allocate guard moves_kept=%.2f", kept)

    alloc = pd.DataFrame({
        "campaign_id": list(current),
        "as_of_date": as_of,
        "current_spend": list(current.values()),
        "recommended_spend": [recommended[c] for c in current],
    })
    alloc["expected_incremental_revenue_current"] = [
        mean[c](current[c]) for c in current
    ]
    alloc["expected_incremental_revenue_recommended"] = [
        mean[c](recommended[c]) for c in current
    ]
    gain, half = gain_interval(recommended, current, mean, low, high)
    _write_pandas(
        spark, lakehouse, alloc[list(ALLOCATION_COLUMNS)], ALLOCATION_TABLE,
        ALLOCATION_KEY, as_of, BUDGET_ALLOCATIONS.ddl(),
    )

    flights = tables["campaigns"].select(
        "campaign_id", "start_date", "end_date"
    ).toPandas()
    plan = spend_plan_rows(recommended, flights, as_of, h)
    _write_pandas(
        spark, lakehouse,
        plan.assign(as_of_date=as_of)[RECOMMENDED_SPEND_PLAN.column_names],
        PLAN_TABLE, PLAN_KEY, as_of, RECOMMENDED_SPEND_PLAN.ddl(),
    )
    folder = Path(out) if out else Path(cfg.lakehouse.root) / "allocate" / str(as_of)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spend_plan.parquet"
    plan.to_parquet(path, index=False)

    summary = AllocationSummary(
        as_of=as_of,
        total_budget=total,
        allocations=alloc[list(ALLOCATION_COLUMNS)],
        gain=gain,
        gain_lower=gain - half,
        gain_upper=gain + half,
        moves=top_moves(alloc, a.top_movers),
        spend_plan_path=path,
        interval_level=a.interval_level,
    )
    log.info(
        "allocate as_of=%s campaigns=%d budget=%.0f gain=%.0f seconds=%.1f",
        as_of, len(alloc), total, gain, time.perf_counter() - started,
    )
    return summary


def _write_pandas(
    spark: SparkSession,
    lakehouse: Lakehouse,
    frame: pd.DataFrame,
    name: str,
    key: tuple[str, ...],
    as_of: dt.date,
    schema: str,
) -> None:
    """MERGE a small pandas frame of one as_of into ``name`` on ``key``.

    Rows of the same as_of that the frame no longer holds are deleted, so a
    rerun leaves exactly the frame's rows for that date.
    """
    rows = [
        tuple(v.item() if isinstance(v, np.generic) else v for v in r)
        for r in frame.itertuples(index=False)
    ]
    df = spark.createDataFrame(rows, schema)
    lakehouse.merge(
        df, name, key=key, delete_unmatched=F.col("t.as_of_date") == F.lit(as_of)
    )
