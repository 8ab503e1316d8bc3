"""Day-by-day simulation of exposures, purchases and last-touch attribution.

One function, :func:`simulate_days`, advances a chunk of customers through a range
of days. History and the 30 days after the data end run through the same code, and
every random number is drawn from a generator seeded by (seed, chunk, day) in an order
that does not depend on spend, so a re-run with other spend uses common random
numbers: unchanged spend reproduces the same events exactly.

Mechanics per customer ``i``, campaign ``c`` of channel ``h`` and day ``d``:

- exposures ``n ~ Poisson(rate_c * spend_c(d) / initial_budget_c * weight_ic)``,
  drawn by inverse CDF from one uniform, so they never fall when spend rises;
- adstock ``A_ic = decay_h * A_ic + n + CLICK_WEIGHT * click``;
- incremental purchase rate
  ``beta_c * fatigue_c(d) * persuadability_i * A_ic / (A_ih + kappa_h)`` where
  ``A_ih`` sums the adstock of all campaigns of channel ``h`` on ``i``: frequency
  and cross-campaign saturation in one term, still rising in ``A_ic``;
- organic and each campaign's purchases are independent competing processes (at
  most one purchase per cause and day), so every conversion has one true cause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SECONDS_PER_DAY = 86_400
CLICK_WEIGHT = 2.0
# Days a campaign keeps being simulated after its last spend day (adstock tail).
TAIL_DAYS = 30
# Largest exposure count drawn per person, campaign and day.
MAX_EXPOSURES = 12
# Stream tags of numpy SeedSequence entropy, one per kind of draw.
STREAM_CAMPAIGNS, STREAM_CUSTOMERS, STREAM_AUDIENCES, STREAM_DAYS = 0, 1, 2, 3


@dataclass
class Mechanics:
    """Per-campaign mechanics shared by all chunks (arrays indexed by campaign).

    Attributes:
        channel: channel index.
        beta: incremental purchase rate at saturation of a persuadable person.
        exposure_rate: exposures per member per day at the initial budget.
        initial_budget: the daily budget the exposure rate refers to.
        ctr: click probability per exposure.
        decay: daily adstock carry-over.
        kappa: half-saturation adstock of the campaign's channel.
        start_day: first spend day (days from the data start).
        last_day: last spend day (a large number when ongoing).
        fatigue_days: age at which the creative response has halved.
        unlisted: reaches searchers (exposure follows the season), no audience list.
    """

    channel: np.ndarray
    beta: np.ndarray
    exposure_rate: np.ndarray
    initial_budget: np.ndarray
    ctr: np.ndarray
    decay: np.ndarray
    kappa: np.ndarray
    start_day: np.ndarray
    last_day: np.ndarray
    fatigue_days: float
    unlisted: np.ndarray

    @property
    def n_campaigns(self) -> int:
        return len(self.channel)

    def active(self, day: int) -> np.ndarray:
        """Mask of campaigns simulated on ``day`` (spend days plus the tail)."""
        return (self.start_day <= day) & (day <= self.last_day + TAIL_DAYS)

    def fatigue(self, day: int) -> np.ndarray:
        age = np.maximum(day - self.start_day, 0)
        return 1.0 / (1.0 + age / self.fatigue_days)


@dataclass
class Chunk:
    """Latent state of one chunk of customers and their exposed memberships.

    Membership arrays are parallel and sorted by campaign; holdout members are not
    in them (they are never exposed).
    """

    index: int
    base_rate: np.ndarray
    value: np.ndarray
    persuadability: np.ndarray
    signup_day: np.ndarray
    member_campaign: np.ndarray
    member_customer: np.ndarray
    member_assigned_day: np.ndarray
    member_weight: np.ndarray
    adstock: np.ndarray
    last_click_ts: np.ndarray = field(init=False)
    last_click_campaign: np.ndarray = field(init=False)
    last_view_ts: np.ndarray = field(init=False)
    last_view_campaign: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.base_rate)
        never = np.iinfo(np.int64).min // 2
        self.last_click_ts = np.full(n, never, dtype=np.int64)
        self.last_click_campaign = np.full(n, -1, dtype=np.int32)
        self.last_view_ts = np.full(n, never, dtype=np.int64)
        self.last_view_campaign = np.full(n, -1, dtype=np.int32)

    @property
    def n_customers(self) -> int:
        return len(self.base_rate)

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to continue the simulation, for ``np.savez``."""
        names = [
            "base_rate", "value", "persuadability", "signup_day", "member_campaign",
            "member_customer", "member_assigned_day", "member_weight", "adstock",
            "last_click_ts", "last_click_campaign", "last_view_ts",
            "last_view_campaign",
        ]
        return {name: getattr(self, name) for name in names}

    @classmethod
    def from_arrays(cls, index: int, arrays: dict[str, np.ndarray]) -> Chunk:
        init = {k: arrays[k] for k in (
            "base_rate", "value", "persuadability", "signup_day", "member_campaign",
            "member_customer", "member_assigned_day", "member_weight", "adstock",
        )}
        chunk = cls(index=index, **init)
        for name in (
            "last_click_ts", "last_click_campaign", "last_view_ts",
            "last_view_campaign",
        ):
            setattr(chunk, name, arrays[name].copy())
        chunk.adstock = chunk.adstock.copy()
        return chunk


@dataclass
class Events:
    """Events of simulated days, as parallel arrays (customer is chunk-local).

    Touchpoint ``kind`` is 0 for a view (impression or open) and 1 for a click.
    Conversion ``cause`` and ``attributed`` are campaign indexes, -1 for organic
    and for not attributed. Timestamps are seconds since the data start.
    """

    tp_customer: np.ndarray
    tp_campaign: np.ndarray
    tp_kind: np.ndarray
    tp_ts: np.ndarray
    cv_customer: np.ndarray
    cv_cause: np.ndarray
    cv_attributed: np.ndarray
    cv_revenue: np.ndarray
    cv_ts: np.ndarray
    expected_incremental: np.ndarray


@dataclass
class Curves:
    """Spend multipliers per campaign for expected response curves.

    Attributes:
        campaigns: campaign indexes that get a curve.
        multipliers: spend multipliers of the plan, shape (points,).
        revenue: accumulated expected incremental revenue, (campaigns, points).
    """

    campaigns: np.ndarray
    multipliers: np.ndarray
    revenue: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.revenue = np.zeros((len(self.campaigns), len(self.multipliers)))


def poisson_inverse(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Poisson counts by inverse CDF: non-decreasing in ``mean`` for a fixed ``u``."""
    count = np.zeros(np.broadcast(u, mean).shape, dtype=np.int64)
    term = np.exp(-mean)
    cdf = term.copy()
    for k in range(1, MAX_EXPOSURES + 1):
        count += u > cdf
        term = term * mean / k
        cdf = cdf + term
    return count


def order_values(mean_value: np.ndarray, w: np.ndarray, sigma: float) -> np.ndarray:
    """Log-logistic order values with mean ``mean_value`` from uniforms ``w``.

    A lognormal look-alike whose quantile function is closed form.
    """
    s = sigma * math.sqrt(3.0) / math.pi
    norm = math.pi * s / math.sin(math.pi * s)
    w = np.clip(w, 1e-9, 1 - 1e-9)
    return mean_value * np.exp(s * np.log(w / (1 - w))) / norm


def _frac_seconds(u: np.ndarray, shift: np.ndarray | float = 0.0) -> np.ndarray:
    """A second of the day derived from a uniform's low-order digits."""
    frac = np.modf(u * 1e7 + shift)[0]
    return (frac * SECONDS_PER_DAY).astype(np.int64)


def day_rng(seed: int, chunk: int, day: int) -> np.random.Generator:
    """The generator of one chunk and day; the same in history and re-runs."""
    return np.random.default_rng([seed, STREAM_DAYS, chunk, day])


def _latest_before(
    keys: np.ndarray, ts: np.ndarray, campaign: np.ndarray, query: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per query key, the latest touch of the same customer strictly before it.

    ``keys`` are sorted ``customer << 20 | second``; returns (ts, campaign), with
    campaign -1 where there is none.
    """
    never = np.iinfo(np.int64).min // 2
    if not len(keys):
        return np.full(len(query), never), np.full(len(query), -1, np.int32)
    pos = np.searchsorted(keys, query, side="left") - 1
    ok = pos >= 0
    pos = np.where(ok, pos, 0)
    ok &= (keys[pos] >> 20) == (query >> 20)
    out_ts = np.where(ok, ts[pos], never)
    out_cmp = np.where(ok, campaign[pos], -1)
    return out_ts, out_cmp


def simulate_days(
    chunk: Chunk,
    mech: Mechanics,
    spend: np.ndarray,
    first_day: int,
    season: np.ndarray,
    seed: int,
    sigma_value: float,
    click_window_days: int,
    view_window_days: int,
    curves: Curves | None = None,
) -> Events:
    """Advance ``chunk`` through days ``first_day .. first_day + spend.shape[1] - 1``.

    Updates the chunk's adstock and last-touch state in place.

    Args:
        chunk: customers and memberships of one chunk.
        mech: per-campaign mechanics.
        spend: spend per campaign and simulated day, shape (campaigns, days).
        first_day: day index of ``spend[:, 0]`` (days from the data start).
        season: organic rate multiplier per day index.
        seed: world seed.
        sigma_value: log-scale spread of one order's value.
        click_window_days: attribution window after a click.
        view_window_days: attribution window after a view.
        curves: optional response curves accumulated alongside (spend is the plan).

    Returns:
        The events of the simulated days.
    """
    n = chunk.n_customers
    n_channels = int(mech.channel.max()) + 1 if mech.n_campaigns else 1
    out: dict[str, list[np.ndarray]] = {k: [] for k in Events.__dataclass_fields__}
    expected = np.zeros(mech.n_campaigns)
    curve_pos = np.full(mech.n_campaigns, -1)
    curve_adstock = None
    if curves is not None:
        curve_pos[curves.campaigns] = np.arange(len(curves.campaigns))
        curve_adstock = np.repeat(
            chunk.adstock[:, None], len(curves.multipliers), axis=1
        )
    click_window = click_window_days * SECONDS_PER_DAY
    view_window = view_window_days * SECONDS_PER_DAY

    for offset in range(spend.shape[1]):
        day = first_day + offset
        rng = day_rng(seed, chunk.index, day)
        signed_up = chunk.signup_day <= day

        # organic purchases: one uniform per customer and day
        u_org = rng.random(n)
        p_org = -np.expm1(-chunk.base_rate * season[day] * signed_up)
        org = np.flatnonzero(u_org < p_org)
        org_w = u_org[org] / p_org[org]

        # exposures of the memberships of campaigns simulated today
        rows = np.flatnonzero(mech.active(day)[chunk.member_campaign])
        u = rng.random((3, len(rows)))
        c = chunk.member_campaign[rows]
        i = chunk.member_customer[rows]
        eligible = (chunk.member_assigned_day[rows] <= day) & signed_up[i]
        mean = (
            mech.exposure_rate[c]
            * spend[c, offset]
            / mech.initial_budget[c]
            * chunk.member_weight[rows]
            * np.where(mech.unlisted[c], season[day], 1.0)
            * eligible
        )
        views = poisson_inverse(u[0], mean)
        clicks = (views > 0) & (u[1] < 1.0 - (1.0 - mech.ctr[c]) ** views)
        adstock = mech.decay[c] * chunk.adstock[rows] + views + CLICK_WEIGHT * clicks
        chunk.adstock[rows] = adstock

        # channel saturation: all campaigns of a channel on one person
        h = mech.channel[c]
        slot = i.astype(np.int64) * n_channels + h
        channel_total = np.bincount(slot, weights=adstock, minlength=n * n_channels)
        channel_total = channel_total[slot]
        lift = mech.beta[c] * mech.fatigue(day)[c] * chunk.persuadability[i]
        lam = lift * adstock / (channel_total + mech.kappa[c])
        p_buy = -np.expm1(-lam)
        expected += np.bincount(c, weights=p_buy * chunk.value[i],
                                minlength=mech.n_campaigns)
        bought = np.flatnonzero(u[2] < p_buy)

        if curves is not None and curve_adstock is not None:
            _curve_day(curves, curve_pos, curve_adstock, rows, c, i, u, mean,
                       channel_total - adstock, lift, chunk, mech)

        # touchpoints: one row per view, one per click
        hit = np.flatnonzero(views > 0)
        n_views = views[hit]
        rep = np.repeat(hit, n_views)
        k = np.arange(len(rep)) - np.repeat(np.cumsum(n_views) - n_views, n_views)
        view_sec = _frac_seconds(u[0][rep], k * 0.6180339887)
        first_sec = _frac_seconds(u[0][hit])
        click_rows = np.flatnonzero(clicks[hit])
        click_delay = 1 + _frac_seconds(u[1][hit][click_rows]) // 96
        click_sec = np.minimum(first_sec[click_rows] + click_delay, SECONDS_PER_DAY - 1)
        tp_row = np.concatenate([rep, hit[click_rows]])
        tp_sec = np.concatenate([view_sec, click_sec])
        tp_kind = np.concatenate([
            np.zeros(len(rep), np.int8), np.ones(len(click_rows), np.int8)
        ])
        tp_cust = i[tp_row]
        tp_cmp = c[tp_row].astype(np.int32)

        # conversions: organic first, then each campaign's caused purchases
        cv_cust = np.concatenate([org, i[bought]]).astype(np.int64)
        cv_cause = np.concatenate([np.full(len(org), -1), c[bought]]).astype(np.int32)
        w = np.concatenate([org_w, u[2][bought] / p_buy[bought]])
        cv_rev = np.round(order_values(chunk.value[cv_cust], w, sigma_value), 2)
        cv_sec = np.concatenate([
            _frac_seconds(u_org[org]), _frac_seconds(u[2][bought])
        ])

        # last touch: today's touches before the purchase, else the carried state
        base_ts = day * SECONDS_PER_DAY
        cv_ts = base_ts + cv_sec
        tp_ts = base_ts + tp_sec
        cv_attr = np.full(len(cv_cust), -1, dtype=np.int32)
        if len(cv_cust):
            query = (cv_cust << 20) | cv_sec
            best_ts = np.full(len(cv_cust), np.iinfo(np.int64).min // 2)
            for kind, window, last_ts, last_cmp in (
                (1, click_window, chunk.last_click_ts, chunk.last_click_campaign),
                (0, view_window, chunk.last_view_ts, chunk.last_view_campaign),
            ):
                sel = tp_kind == kind
                keys = (tp_cust[sel].astype(np.int64) << 20) | tp_sec[sel]
                order = np.argsort(keys, kind="stable")
                t_ts, t_cmp = _latest_before(
                    keys[order], tp_ts[sel][order], tp_cmp[sel][order], query
                )
                cand_ts = np.where(t_cmp >= 0, t_ts, last_ts[cv_cust])
                cand_cmp = np.where(t_cmp >= 0, t_cmp, last_cmp[cv_cust])
                ok = (cand_cmp >= 0) & (cv_ts - cand_ts <= window)
                # clicks are checked first, so a view must be strictly later
                better = ok & (cand_ts > best_ts) if kind == 0 else ok
                cv_attr = np.where(better, cand_cmp, cv_attr)
                best_ts = np.where(better, cand_ts, best_ts)

        # carry today's latest click and view per customer into the state
        for kind, last_ts, last_cmp in (
            (1, chunk.last_click_ts, chunk.last_click_campaign),
            (0, chunk.last_view_ts, chunk.last_view_campaign),
        ):
            sel = np.flatnonzero(tp_kind == kind)
            order = sel[np.lexsort((tp_ts[sel], tp_cust[sel]))]
            if len(order):
                cust = tp_cust[order]
                last = np.r_[cust[1:] != cust[:-1], True]
                last_ts[cust[last]] = tp_ts[order][last]
                last_cmp[cust[last]] = tp_cmp[order][last]

        for name, arr in (
            ("tp_customer", tp_cust), ("tp_campaign", tp_cmp), ("tp_kind", tp_kind),
            ("tp_ts", tp_ts), ("cv_customer", cv_cust), ("cv_cause", cv_cause),
            ("cv_attributed", cv_attr), ("cv_revenue", cv_rev), ("cv_ts", cv_ts),
        ):
            out[name].append(arr)

    arrays = {
        k: np.concatenate(v) if v else np.zeros(0)
        for k, v in out.items() if k != "expected_incremental"
    }
    return Events(**arrays, expected_incremental=expected)


def _curve_day(
    curves: Curves,
    curve_pos: np.ndarray,
    curve_adstock: np.ndarray,
    rows: np.ndarray,
    c: np.ndarray,
    i: np.ndarray,
    u: np.ndarray,
    mean: np.ndarray,
    other_adstock: np.ndarray,
    lift: np.ndarray,
    chunk: Chunk,
    mech: Mechanics,
) -> None:
    """One day of expected incremental revenue at each spend multiplier.

    The other campaigns of the channel stay at the plan (``other_adstock``), and
    the same uniforms drive the exposures, so each curve rises with spend.
    """
    sel = np.flatnonzero(curve_pos[c] >= 0)
    if not len(sel):
        return
    g = curves.multipliers[None, :]
    cs = c[sel]
    views = poisson_inverse(u[0][sel, None], mean[sel, None] * g)
    ctr = mech.ctr[cs][:, None]
    clicks = (views > 0) & (u[1][sel, None] < 1.0 - (1.0 - ctr) ** views)
    r = rows[sel]
    a = mech.decay[cs][:, None] * curve_adstock[r] + views + CLICK_WEIGHT * clicks
    curve_adstock[r] = a
    lam = lift[sel, None] * a / (other_adstock[sel, None] + a + mech.kappa[cs][:, None])
    rev = -np.expm1(-lam) * chunk.value[i[sel], None]
    pos = curve_pos[cs]
    for j in range(len(curves.multipliers)):
        curves.revenue[:, j] += np.bincount(
            pos, weights=rev[:, j], minlength=len(curves.campaigns)
        )
