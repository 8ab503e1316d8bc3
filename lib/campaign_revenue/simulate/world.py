"""The simulated world: campaigns, their spend, customers and audiences."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from campaign_revenue.simulate.engine import (
    STREAM_AUDIENCES,
    STREAM_CAMPAIGNS,
    STREAM_CUSTOMERS,
    Chunk,
    Mechanics,
)
from campaign_revenue.simulate.presets import (
    CHANNEL_TARGETING,
    CHANNELS,
    UNLISTED_CHANNELS,
    Preset,
)

ONGOING_LAST_DAY = 10**6
SEGMENTS = ("loyal", "regular", "occasional", "new", "deal_seeker")
TIERS = ("high", "mid", "low")
COVERAGE = (
    ("display", "retargeting"),
    ("paid_search", "brand"),
    ("social", "prospecting"),
    ("email", "crm"),
    ("video", "lookalike"),
    ("affiliate", "affiliate"),
    ("social", "retargeting"),
    ("display", "prospecting"),
    ("paid_search", "prospecting"),
    ("display", "lookalike"),
    ("social", "lookalike"),
    ("video", "prospecting"),
)


@dataclass
class CampaignPlan:
    """Campaign-level world shared by all customer chunks.

    Attributes:
        table: the ``campaigns`` input table.
        mechanics: per-campaign mechanics for the engine.
        targeting: targeting type per campaign.
        audience_share: expected share of customers in each audience.
        holdout: whether each campaign runs a randomized holdout.
        spend: realized spend per campaign and data day, (campaigns, data days).
        plan: planned spend per campaign and window day, (campaigns, window days).
    """

    table: pd.DataFrame
    mechanics: Mechanics
    targeting: np.ndarray
    audience_share: np.ndarray
    holdout: np.ndarray
    spend: np.ndarray
    plan: np.ndarray

    @property
    def ids(self) -> np.ndarray:
        return self.table["campaign_id"].to_numpy()


def season_curve(preset: Preset, n_days: int) -> np.ndarray:
    """Organic purchase rate multiplier per day index from the data start.

    A yearly cycle peaking in mid December, a weekend rhythm and a holiday peak
    from 20 November to 24 December.
    """
    dates = pd.date_range(preset.data_start, periods=n_days, freq="D")
    doy = dates.dayofyear.to_numpy()
    yearly = 1.0 + preset.seasonality * np.cos(2 * np.pi * (doy - 350) / 365.25)
    weekend = np.where(dates.dayofweek.to_numpy() >= 5, preset.weekend_lift, 1.0)
    md = dates.month.to_numpy() * 100 + dates.day.to_numpy()
    holiday = np.where((md >= 1120) & (md <= 1224), preset.holiday_lift, 1.0)
    return yearly * weekend * holiday


def day_dates(start: dt.date, days: np.ndarray) -> pd.Series:
    """Dates (python ``date``) of day indexes counted from ``start``."""
    base = np.datetime64(start, "D")
    return pd.Series((base + days.astype("timedelta64[D]")).astype("datetime64[D]"))


def build_campaigns(preset: Preset, seed: int) -> CampaignPlan:
    """Draw campaigns, their flights, budgets, mechanics, spend and plan.

    Args:
        preset: world parameters.
        seed: world seed.

    Returns:
        The campaign plan.
    """
    rng = np.random.default_rng([seed, STREAM_CAMPAIGNS])
    n_hist, n_fut = preset.n_campaigns, preset.n_future_campaigns
    n = n_hist + n_fut
    n_days, window = preset.n_days, preset.window_days

    # the first campaigns cover every channel and targeting, the rest follow the mix
    mix = np.array([preset.channel_mix[c] for c in CHANNELS], dtype=float)
    channel = rng.choice(len(CHANNELS), size=n, p=mix / mix.sum())
    options = [CHANNEL_TARGETING[CHANNELS[h]] for h in channel]
    targeting = np.array([t[rng.integers(len(t))] for t in options], dtype=object)
    cover = COVERAGE[: min(len(COVERAGE), n_hist)]
    for k, (name, kind) in enumerate(cover):
        channel[k], targeting[k] = CHANNELS.index(name), kind
    targeting = targeting.astype(str)

    # flights: history campaigns start in the data, future ones in the window
    start = np.concatenate([
        rng.integers(0, max(n_days - 21, 1), size=n_hist),
        rng.integers(n_days + 1, n_days + window - 5, size=n_fut),
    ])
    duration = rng.integers(30, 181, size=n)
    ongoing = rng.random(n) < np.where(np.arange(n) < n_hist, preset.ongoing_share, 0.5)
    last = np.where(ongoing, ONGOING_LAST_DAY, start + duration - 1)

    # budgets: an initial daily rate, changed once mid-flight for some
    share = preset.audience_share * rng.lognormal(-0.08, 0.4, size=n)
    members = share * preset.n_customers
    initial = preset.budget_per_member * members * rng.lognormal(-0.18, 0.6, size=n)
    initial *= np.where(CHANNELS.index("email") == channel, 0.2, 1.0)
    initial = np.round(initial, 2)
    changes = rng.random(n) < preset.budget_change_share
    span = np.where(ongoing, np.maximum(n_days - start, 2), duration)
    change_day = np.where(
        changes, start + (rng.uniform(0.3, 0.7, size=n) * span).astype(int), 10**7
    )
    factor = np.where(changes, np.round(rng.uniform(0.6, 1.6, size=n), 2), 1.0)

    all_days = np.arange(n_days + window)
    day = all_days[None, :]
    in_flight = (day >= start[:, None]) & (day <= last[:, None])
    rate = initial[:, None] * np.where(
        all_days[None, :] >= change_day[:, None], factor[:, None], 1.0
    )
    daily = rate * in_flight
    noise = rng.lognormal(
        -preset.pacing_noise**2 / 2, preset.pacing_noise, size=(n, n_days)
    )
    spend = np.round(daily[:, :n_days] * noise, 2)
    plan = np.round(daily[:, n_days:], 2)

    monthly = np.round(rate[:, -1] * 30, 2)
    flight_total = np.round(daily.sum(axis=1), 2)
    budget = np.where(ongoing, monthly, flight_total)

    ids = np.array([f"cmp_{k:04d}" for k in range(n)])
    start_dates = day_dates(preset.data_start, start)
    end_dates = day_dates(preset.data_start, np.where(ongoing, 0, last))
    end_dates[ongoing] = pd.NaT
    table = pd.DataFrame({
        "campaign_id": ids,
        "campaign_name": [
            f"{CHANNELS[h]} {t} {d:%Y-%m}"
            for h, t, d in zip(channel, targeting, start_dates)
        ],
        "channel": [CHANNELS[h] for h in channel],
        "budget": budget,
        "start_date": start_dates.dt.date,
        "end_date": end_dates.dt.date.where(~ongoing, None),
        "targeting": targeting,
        "daily_budget_cap": np.round(np.maximum(initial, initial * factor) * 1.3, 2),
    })

    channel_name = [CHANNELS[h] for h in channel]
    beta = (
        np.array([preset.channel_effect[c] for c in channel_name])
        * np.array([preset.targeting_effect[t] for t in targeting])
        * rng.lognormal(0.0, 0.35, size=n)
    )
    mech = Mechanics(
        channel=channel.astype(np.int64),
        beta=beta,
        exposure_rate=preset.exposure_rate * rng.lognormal(-0.045, 0.3, size=n),
        initial_budget=np.maximum(initial, 0.01),
        ctr=np.minimum(
            np.array([preset.channel_ctr[c] for c in channel_name])
            * rng.lognormal(0.0, 0.2, size=n),
            0.9,
        ),
        decay=np.array([preset.channel_decay[c] for c in channel_name]),
        kappa=np.array([preset.channel_kappa[c] for c in channel_name]),
        start_day=start.astype(np.int64),
        last_day=last.astype(np.int64),
        fatigue_days=preset.fatigue_days,
        unlisted=np.isin(channel_name, UNLISTED_CHANNELS),
    )
    holdout = (~mech.unlisted) & (rng.random(n) < preset.holdout_campaign_share)
    return CampaignPlan(table, mech, targeting, share, holdout, spend, plan)


def spend_table(preset: Preset, plan: CampaignPlan, seed: int) -> pd.DataFrame:
    """The ``spend_daily`` table: spend, platform impressions and clicks."""
    rng = np.random.default_rng([seed, STREAM_CAMPAIGNS, 1])
    c, d = np.nonzero(plan.spend > 0)
    spend = plan.spend[c, d]
    channel = plan.table["channel"].to_numpy()[c]
    cpm = np.array([preset.channel_cpm[h] for h in CHANNELS])[plan.mechanics.channel[c]]
    impressions = np.round(spend / cpm * 1000 * rng.lognormal(0, 0.1, len(c)))
    ctr = plan.mechanics.ctr[c] * np.where(channel == "email", 1.0, 0.5)
    clicks = rng.binomial(impressions.astype(np.int64), np.minimum(ctr, 1.0))
    return pd.DataFrame({
        "campaign_id": plan.ids[c],
        "date": day_dates(preset.data_start, d).dt.date,
        "spend": spend,
        "impressions": impressions.astype(np.int64),
        "clicks": clicks.astype(np.int64),
    })


def plan_table(preset: Preset, plan: CampaignPlan) -> pd.DataFrame:
    """The ``spend_plan`` table: one row per campaign and planned day."""
    c, j = np.nonzero(plan.plan > 0)
    return pd.DataFrame({
        "campaign_id": plan.ids[c],
        "date": day_dates(preset.data_start, preset.n_days + j).dt.date,
        "planned_spend": plan.plan[c, j],
    })


def build_chunk(
    preset: Preset, plan: CampaignPlan, seed: int, index: int, first: int, size: int
) -> tuple[Chunk, pd.DataFrame, pd.DataFrame]:
    """Draw one chunk of customers and their audience memberships.

    Args:
        preset: world parameters.
        plan: the campaigns.
        seed: world seed.
        index: chunk number.
        first: global index of the chunk's first customer.
        size: customers in the chunk.

    Returns:
        The engine state, the ``customers`` rows and the ``campaign_audiences`` rows.
    """
    rng = np.random.default_rng([seed, STREAM_CUSTOMERS, index])
    n_days = preset.n_days
    z = rng.standard_normal(size)
    base_rate = preset.base_rate_median * np.exp(preset.base_rate_sigma * z)
    value_z = 0.3 * z + np.sqrt(1 - 0.09) * rng.standard_normal(size)
    value = preset.order_value_mean * np.exp(0.5 * value_z - 0.125)
    persuadability = 2.0 / (1.0 + base_rate / preset.base_rate_median)

    before = rng.random(size) < 0.85
    signup = np.where(
        before,
        -rng.integers(1, 5 * 365, size=size),
        rng.integers(0, n_days, size=size),
    )
    score = np.log(base_rate) + np.log(value) + rng.normal(0, 0.5, size)
    cut_high, cut_mid = np.quantile(score, [0.8, 0.4]) if size > 1 else (0.0, 0.0)
    tier = np.where(score >= cut_high, 0, np.where(score >= cut_mid, 1, 2))
    deal = rng.random(size) < 0.12
    segment = np.select(
        [deal, signup > -90, z > 1.0, z > -0.3], [4, 3, 0, 1], default=2
    )
    opt_in = rng.random(size) < 0.45 + 0.15 * (z > 0)

    ids = pd.Series(np.arange(first, first + size)).astype(str).str.zfill(7)
    customers = pd.DataFrame({
        "customer_id": "cus_" + ids,
        "segment": np.array(SEGMENTS)[segment],
        "ltv_tier": np.array(TIERS)[tier],
        "signup_date": day_dates(preset.data_start, signup).dt.date,
        "email_opt_in": opt_in,
    })

    chunk, audiences = _memberships(
        preset, plan, seed, index, base_rate, value, signup, tier, deal, opt_in
    )
    chunk_state = Chunk(
        index=index,
        base_rate=base_rate,
        value=value,
        persuadability=persuadability,
        signup_day=signup.astype(np.int64),
        **chunk,
    )
    if len(audiences):
        audiences["customer_id"] = customers["customer_id"].to_numpy()[
            audiences.pop("customer")
        ]
        audiences = audiences[
            ["campaign_id", "customer_id", "assigned_date", "is_holdout"]
        ]
    return chunk_state, customers, audiences


def _audience_weight(
    targeting: str,
    rel_rate: np.ndarray,
    rel_value: np.ndarray,
    signup: np.ndarray,
    tier: np.ndarray,
    deal: np.ndarray,
    opt_in: np.ndarray,
    channel: str,
) -> np.ndarray:
    """Relative chance that a customer is in an audience of ``targeting``."""
    if targeting in ("retargeting", "brand"):
        return rel_rate**1.5
    if targeting == "crm":
        return opt_in * rel_rate**0.5 * np.where(tier == 0, 2.0, 1.0)
    if targeting == "lookalike":
        return rel_value**2 * rel_rate**-0.3
    if targeting == "affiliate":
        return np.where(deal, 3.0, 1.0)
    if channel == "paid_search":
        return rel_rate**0.5
    return rel_rate**-0.7 * np.where(signup > -90, 3.0, 1.0)


def _memberships(
    preset: Preset,
    plan: CampaignPlan,
    seed: int,
    index: int,
    base_rate: np.ndarray,
    value: np.ndarray,
    signup: np.ndarray,
    tier: np.ndarray,
    deal: np.ndarray,
    opt_in: np.ndarray,
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    rng = np.random.default_rng([seed, STREAM_AUDIENCES, index])
    mech, n_days = plan.mechanics, preset.n_days
    rel_rate = base_rate / preset.base_rate_median
    rel_value = value / preset.order_value_mean
    channels = plan.table["channel"].to_numpy()
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("campaign", "customer", "assigned", "weight", "holdout")
    }
    for c in range(mech.n_campaigns):
        w = _audience_weight(
            plan.targeting[c], rel_rate, rel_value, signup, tier, deal, opt_in,
            channels[c],
        )
        p = np.minimum(plan.audience_share[c] * w / max(w.mean(), 1e-12), 1.0)
        members = np.flatnonzero(rng.random(len(w)) < p)

        # assignment: most at launch, the rest while the flight runs
        first = min(mech.start_day[c] - int(rng.integers(1, 8)), n_days - 1)
        first = max(first, 0)
        last_assign = max(min(mech.last_day[c], n_days - 1), first)
        late = rng.random(len(members)) < 0.3
        assigned = np.where(
            late, rng.integers(first, last_assign + 1, size=len(members)), first
        )
        assigned = np.maximum(assigned, signup[members])
        keep = assigned <= last_assign
        members, assigned = members[keep], assigned[keep]
        holdout = plan.holdout[c] & (rng.random(len(members)) < preset.holdout_share)
        weight = np.ones(len(members))
        if mech.unlisted[c] and len(members):
            weight = rel_rate[members] / rel_rate[members].mean()
        parts["campaign"].append(np.full(len(members), c))
        parts["customer"].append(members)
        parts["assigned"].append(assigned)
        parts["weight"].append(weight)
        parts["holdout"].append(holdout)

    cat = {k: np.concatenate(v) for k, v in parts.items()}
    exposed = ~cat["holdout"]
    chunk = {
        "member_campaign": cat["campaign"][exposed].astype(np.int64),
        "member_customer": cat["customer"][exposed].astype(np.int64),
        "member_assigned_day": cat["assigned"][exposed].astype(np.int64),
        "member_weight": cat["weight"][exposed],
        "adstock": np.zeros(int(exposed.sum())),
    }
    listed = ~mech.unlisted[cat["campaign"]]
    audiences = pd.DataFrame({
        "campaign_id": plan.ids[cat["campaign"][listed]],
        "customer": cat["customer"][listed],
        "assigned_date": day_dates(preset.data_start, cat["assigned"][listed]).dt.date,
        "is_holdout": cat["holdout"][listed],
    })
    return chunk, audiences
