"""Named simulator presets: world size, dates and mechanics settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

CHANNELS = ("display", "paid_search", "social", "email", "video", "affiliate")

# Targeting types each channel runs, in the order they are drawn.
CHANNEL_TARGETING: dict[str, tuple[str, ...]] = {
    "display": ("retargeting", "prospecting", "lookalike"),
    "paid_search": ("brand", "prospecting"),
    "social": ("retargeting", "prospecting", "lookalike"),
    "email": ("crm",),
    "video": ("prospecting", "lookalike"),
    "affiliate": ("affiliate",),
}

# Channels that reach whoever searches or browses: no audience list, no holdout.
UNLISTED_CHANNELS = ("paid_search", "affiliate")


def _by_channel(**values: float) -> dict[str, float]:
    return {c: float(values[c]) for c in CHANNELS}


@dataclass(frozen=True)
class Preset:
    """Parameters of one simulated world.

    Attributes:
        name: preset name written to ``params.json``.
        n_customers: customers in the world.
        n_campaigns: campaigns with history (launched before the data end).
        n_future_campaigns: campaigns planned to launch in the 30 days after the end.
        data_start: first day of input data.
        data_end: last day of input data (inclusive).
        chunk_customers: customers simulated together; more than one chunk writes
            part files per table.
        channel_mix: relative number of campaigns per channel.
        channel_effect: incremental purchase rate per day of a fully persuadable,
            saturated person, per channel.
        channel_kappa: adstock at which a channel's response is half saturated.
        channel_decay: daily adstock carry-over per channel.
        channel_ctr: click probability per exposure per channel.
        channel_cpm: platform cost per thousand impressions per channel.
        targeting_effect: multiplier of the channel effect per targeting type.
        base_rate_median: median organic purchases per customer per day.
        base_rate_sigma: log-scale spread of the organic rate.
        order_value_mean: mean order value of a mid-tier customer.
        order_value_sigma: log-scale spread of one order's value.
        audience_share: mean share of customers in one campaign's audience.
        exposure_rate: mean exposures per audience member per day at the
            campaign's initial daily budget.
        budget_per_member: mean initial daily budget per expected audience member
            (spend buys reach among many people outside the customer base too).
        holdout_campaign_share: share of listed campaigns that run a holdout.
        holdout_share: share of a campaign's audience held out.
        ongoing_share: share of campaigns with no end date.
        budget_change_share: share of campaigns whose budget changes mid-flight.
        pacing_noise: log-scale daily spend noise.
        fatigue_days: campaign age at which creative response has halved.
        seasonality: amplitude of the yearly cycle of organic purchases.
        holiday_lift: organic rate multiplier from late November through December.
        weekend_lift: organic rate multiplier on Saturday and Sunday.
        click_window_days: platform attribution window after a click.
        view_window_days: platform attribution window after a view.
        window_days: length of the predicted window after an as-of date.
        curve_points: spend points per response curve, from 0 to 3x the plan.
    """

    name: str = "demo"
    n_customers: int = 20_000
    n_campaigns: int = 38
    n_future_campaigns: int = 3
    data_start: dt.date = dt.date(2024, 4, 1)
    data_end: dt.date = dt.date(2025, 6, 30)
    chunk_customers: int = 1_000_000
    channel_mix: dict[str, float] = field(
        default_factory=lambda: _by_channel(
            display=3, paid_search=2, social=3, email=1.5, video=1.5, affiliate=1
        )
    )
    channel_effect: dict[str, float] = field(
        default_factory=lambda: _by_channel(
            display=0.010,
            paid_search=0.006,
            social=0.014,
            email=0.012,
            video=0.008,
            affiliate=0.004,
        )
    )
    channel_kappa: dict[str, float] = field(
        default_factory=lambda: _by_channel(
            display=0.8, paid_search=0.5, social=0.8,
            email=0.6, video=1.0, affiliate=0.5
        )
    )
    channel_decay: dict[str, float] = field(
        default_factory=lambda: _by_channel(
            display=0.7, paid_search=0.5, social=0.7,
            email=0.6, video=0.8, affiliate=0.5
        )
    )
    channel_ctr: dict[str, float] = field(
        default_factory=lambda: _by_channel(
            display=0.04, paid_search=0.35, social=0.06, email=0.15, video=0.03,
            affiliate=0.6,
        )
    )
    channel_cpm: dict[str, float] = field(
        default_factory=lambda: _by_channel(
            display=4.0, paid_search=25.0, social=7.0, email=0.5, video=12.0,
            affiliate=15.0,
        )
    )
    targeting_effect: dict[str, float] = field(
        default_factory=lambda: {
            "retargeting": 0.6,
            "prospecting": 1.2,
            "lookalike": 1.0,
            "brand": 0.3,
            "crm": 0.8,
            "affiliate": 0.5,
        }
    )
    base_rate_median: float = 0.0025
    base_rate_sigma: float = 0.9
    order_value_mean: float = 60.0
    order_value_sigma: float = 0.5
    audience_share: float = 0.08
    exposure_rate: float = 0.06
    budget_per_member: float = 0.03
    holdout_campaign_share: float = 0.4
    holdout_share: float = 0.1
    ongoing_share: float = 0.25
    budget_change_share: float = 0.3
    pacing_noise: float = 0.15
    fatigue_days: float = 150.0
    seasonality: float = 0.15
    holiday_lift: float = 1.6
    weekend_lift: float = 1.15
    click_window_days: int = 7
    view_window_days: int = 1
    window_days: int = 30
    curve_points: int = 13

    @property
    def n_days(self) -> int:
        """Days of input data."""
        return (self.data_end - self.data_start).days + 1

    def to_json(self) -> dict[str, object]:
        """The parameters as JSON-ready values (dates as ISO strings)."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, dt.date):
                out[key] = value.isoformat()
        return out


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        name="tiny",
        n_customers=2_000,
        n_campaigns=10,
        n_future_campaigns=2,
        # Seven months: enough for train, validation and test as_of dates with
        # a 30-day label window and the gaps between the splits.
        data_start=dt.date(2024, 12, 1),
        data_end=dt.date(2025, 6, 30),
        audience_share=0.12,
        exposure_rate=0.08,
    ),
    "demo": Preset(),
    "demo_alt": Preset(
        name="demo_alt",
        channel_effect=_by_channel(
            display=0.004,
            paid_search=0.010,
            social=0.006,
            email=0.020,
            video=0.016,
            affiliate=0.008,
        ),
        channel_kappa=_by_channel(
            display=0.3, paid_search=1.2, social=0.4,
            email=1.5, video=0.4, affiliate=1.0
        ),
        targeting_effect={
            "retargeting": 0.9,
            "prospecting": 0.8,
            "lookalike": 1.4,
            "brand": 0.5,
            "crm": 1.1,
            "affiliate": 0.3,
        },
        base_rate_median=0.0018,
        seasonality=0.25,
        holiday_lift=2.0,
        fatigue_days=80.0,
    ),
    "large": Preset(
        name="large",
        n_customers=1_000_000,
        n_campaigns=1_960,
        n_future_campaigns=40,
        chunk_customers=100_000,
        audience_share=0.005,
        exposure_rate=0.05,
    ),
}


def get_preset(name: str, **overrides: object) -> Preset:
    """The named preset with ``overrides`` replacing its fields.

    Args:
        name: one of ``PRESETS``.
        **overrides: field values that replace the preset's; dates may be given
            as ISO strings.

    Returns:
        The preset.

    Raises:
        ValueError: if the name or an override's field is unknown.
    """
    if name not in PRESETS:
        valid = ", ".join(PRESETS)
        raise ValueError(f"unknown preset {name!r}; valid presets: {valid}")
    fields = {f.name for f in dataclasses.fields(Preset)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(
            f"unknown preset field(s) {', '.join(unknown)}; "
            f"valid fields: {', '.join(sorted(fields))}"
        )
    values = dict(overrides)
    for key in ("data_start", "data_end"):
        if isinstance(values.get(key), str):
            values[key] = dt.date.fromisoformat(str(values[key]))
    preset = dataclasses.replace(PRESETS[name], **values)  # type: ignore[arg-type]
    if preset.data_end <= preset.data_start:
        raise ValueError(
            f"data_end {preset.data_end} must be after data_start {preset.data_start}"
        )
    return preset
