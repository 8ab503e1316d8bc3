"""Feature dictionary: each snapshot feature's meaning for a marketer and its format.

Example:
    >>> display("high_ltv_share_reached", 0.123)
    '12%'
    >>> display("spend_to_date", 1234.4)
    '$1,234'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Format = Literal["percent", "currency", "days", "count", "ratio", "flag", "category"]
FORMATS: tuple[str, ...] = (
    "percent",
    "currency",
    "days",
    "count",
    "ratio",
    "flag",
    "category",
)


# The graph model's offset as an attribution: last-touch ROAS x planned spend.
OFFSET_FEATURE = "last_touch_forecast"


@dataclass(frozen=True)
class FeatureInfo:
    """One feature's entry.

    Attributes:
        name: the column name in ``features.campaign_snapshots``.
        description: one line a marketer understands.
        format: how a value is shown.
    """

    name: str
    description: str
    format: Format


def _entries() -> dict[str, FeatureInfo]:
    rows: list[tuple[str, str, Format]] = [
        ("is_launched", "campaign had started before the snapshot date", "flag"),
        (
            OFFSET_FEATURE,
            "last-touch ROAS x planned spend for the next 30 days",
            "currency",
        ),
        ("channel", "marketing channel", "category"),
        ("targeting", "targeting type (retargeting, prospecting, ...)", "category"),
        ("audience_reached", "people the campaign has reached so far", "count"),
        ("audience_new_30d", "people reached for the first time in 30 days", "count"),
        ("audience_growth_30d", "reached audience growth over 30 days", "percent"),
        ("audience_listed", "people on the audience list, holdout excluded", "count"),
        (
            "high_ltv_share_reached",
            "audience overlap with high-LTV customers",
            "percent",
        ),
        (
            "high_ltv_share_listed",
            "share of the listed audience in high-LTV tiers",
            "percent",
        ),
        (
            "organic_buyer_share_30d",
            "audience overlap with recent organic buyers (30 days)",
            "percent",
        ),
        (
            "organic_buyer_share_90d",
            "audience overlap with organic buyers (90 days)",
            "percent",
        ),
        ("overlap_share", "audience also reached by other campaigns", "percent"),
        (
            "overlap_share_same_channel",
            "audience also reached by campaigns of the same channel",
            "percent",
        ),
        (
            "channel_saturation_7d",
            "ads per reached person in the channel, last 7 days",
            "ratio",
        ),
        (
            "channel_saturation_30d",
            "ads per reached person in the channel, last 30 days",
            "ratio",
        ),
        ("campaign_age_days", "days since the campaign started", "days"),
        ("days_since_last_touch", "days since the campaign last reached anyone",
         "days"),
        ("click_rate_30d", "clicks per impression or open, last 30 days", "percent"),
        ("spend_to_date", "spend since launch", "currency"),
        ("spend_7d", "spend in the last 7 days", "currency"),
        ("spend_30d", "spend in the last 30 days", "currency"),
        ("pacing", "spend so far against the budget due by now", "percent"),
        ("planned_spend_30d", "planned spend for the next 30 days", "currency"),
        ("revenue_7d", "revenue credited to the campaign, last 7 days", "currency"),
        ("revenue_30d", "revenue credited to the campaign, last 30 days", "currency"),
        ("revenue_90d", "revenue credited to the campaign, last 90 days", "currency"),
        ("roas_30d", "credited revenue per dollar spent, last 30 days", "ratio"),
        ("roas_90d", "credited revenue per dollar spent, last 90 days", "ratio"),
        ("has_holdout", "campaign keeps a holdout group for lift tests", "flag"),
        ("holdout_size", "people in the holdout group", "count"),
        ("campaign_degree", "people the campaign reached in the last 90 days", "count"),
        (
            "overlap_neighbours",
            "other campaigns sharing part of the audience",
            "count",
        ),
        (
            "community_campaigns",
            "campaigns in the cluster of strongly overlapping audiences",
            "count",
        ),
        (
            "community_audience_share",
            "campaign's share of its audience cluster's reach",
            "percent",
        ),
    ]
    # The graph model's customer-side inputs, averaged over a campaign's sampled
    # audience: how attributions name the graph's contribution.
    audience: list[tuple[str, str, Format]] = [
        ("touches_7d", "touches from this campaign per person, last 7 days", "ratio"),
        ("touches_30d", "touches from this campaign per person, last 30 days", "ratio"),
        ("touches_90d", "touches from this campaign per person, last 90 days", "ratio"),
        ("clicks_90d", "clicks on this campaign per person, last 90 days", "ratio"),
        ("clicked", "share of the audience that clicked", "percent"),
        ("days_since_touch", "days since the audience was last touched", "days"),
        ("days_since_first_touch", "days since the audience was first touched", "days"),
        ("organic_revenue_30d", "audience's organic spend per person, 30 days", "currency"),
        ("organic_revenue_90d", "audience's organic spend per person, 90 days", "currency"),
        ("purchases_90d", "audience's purchases per person, last 90 days", "ratio"),
        ("purchases_to_date", "audience's purchases per person to date", "ratio"),
        ("days_since_purchase", "days since the audience's last purchase", "days"),
        (
            "campaign_revenue_30d",
            "revenue credited to this campaign per person, 30 days",
            "currency",
        ),
        (
            "other_campaigns_30d",
            "other campaigns reaching the same people, 30 days",
            "ratio",
        ),
        (
            "same_channel_campaigns_30d",
            "same-channel campaigns reaching the same people, 30 days",
            "ratio",
        ),
        ("days_since_signup", "audience's customer age", "days"),
        ("ltv_tier", "lifetime-value tier mix of the audience", "category"),
        ("segment", "segment mix of the audience", "category"),
    ]
    rows += [(f"audience_{name}", text, fmt) for name, text, fmt in audience]
    return {name: FeatureInfo(name, text, fmt) for name, text, fmt in rows}


FEATURES: dict[str, FeatureInfo] = _entries()


def feature_info(name: str) -> FeatureInfo:
    """The dictionary entry of ``name``.

    Raises:
        KeyError: naming the feature when it has no entry.
    """
    try:
        return FEATURES[name]
    except KeyError:
        raise KeyError(f"feature {name!r} is not in the feature dictionary") from None


def display(name: str, value: object) -> str:
    """``value`` of feature ``name`` as a marketer reads it.

    Args:
        name: a feature in ``FEATURES``.
        value: the raw value; None or NaN shows as ``n/a``.

    Returns:
        ``12%``, ``$1,234``, ``14 days``, ``1,200``, ``2.4x``, ``yes`` ...

    Raises:
        KeyError: when ``name`` has no entry.
    """
    fmt = feature_info(name).format
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if fmt == "flag":
        return "yes" if value else "no"
    if fmt == "category":
        return str(value)
    number = float(value)  # type: ignore[arg-type]
    if fmt == "percent":
        return f"{number:.0%}"
    if fmt == "currency":
        sign = "-" if number < 0 else ""
        return f"{sign}${abs(number):,.0f}"
    if fmt == "days":
        days = round(number)
        return f"{days} day" if days == 1 else f"{days} days"
    if fmt == "count":
        return f"{round(number):,}"
    return f"{number:,.2f}x" if fmt == "ratio" else str(value)
