"""Adapter: The Complete Journey (84.51°) into the input contract.

The source is one year (2017) of grocery baskets of 2,469 households, 27
direct-marketing campaigns with their targeted households, coupon redemptions
and demographics for 801 households. It has no spend, no channel, no exposure
time and no campaign on a purchase, so each of these is derived as below.

==================  ==========================================================
ours                how it is derived (and what it cannot say)
==================  ==========================================================
ids                 prefixed by kind: ``cmp_cj_<campaign>``, ``cus_cj_<house>``,
                    ``cv_cj_<basket>``, ``tp_cj_<campaign>_<household>``.
campaigns           one per campaign_descriptions row (27). channel =
                    campaign_type as ``type_a|type_b|type_c`` (the source has
                    no channel; all are mailings to loyalty-card households);
                    targeting = ``crm``; name ``Campaign N (Type X)``; start
                    and end dates as published. budget = targeted households
                    x ``cost_per_mailing`` (a cost proxy, not a real cost).
                    Campaigns 24-26 start before the first transaction
                    (2016-11-14 to 2016-12-28) and 15, 20-23 end after the
                    last (up to 2018-02-28): all are kept as published, so
                    their spend covers days without purchases.
customers           every household seen in transactions or campaigns (2,469;
                    every targeted household also transacts). segment =
                    household_comp in snake case (``2_adults_kids``), ltv_tier
                    from the income band (``low`` under 35K, ``medium``
                    35-74K, ``high`` 75K and up), both ``unknown`` for the
                    1,668 households without demographics. Demographics are
                    undated: read as known from the start. signup_date = the
                    data's first day (the earliest campaign start, 2016-11-14)
                    for everyone: no date is derived from purchases, since
                    the first purchase would leak the future into the past.
touchpoints         one per targeted (campaign, household) pair (6,589),
                    event_type ``mailing``, ts = campaign start 00:00 UTC. The
                    source has no exposure time, opens or clicks.
conversions         one per basket (155,848): revenue = sum of sales_value
                    (net of discounts, as paid), ts = the basket's first
                    transaction time, read as UTC (the source's time zone is
                    not stated). 478 baskets have revenue 0 and are kept.
                    campaign_id = last touch as a platform would credit it:
                    among campaigns that targeted the household and are active
                    on the basket's day (start <= day <= end), the latest
                    started; ties (11/12, 21/22 start the same day) go to the
                    later end, then the higher campaign number; else null.
                    Extra column ``coupon_campaign_id``: the campaign whose
                    coupon the household redeemed that day (most redemptions,
                    then latest start); redemptions carry no basket, so every
                    basket of that household-day gets it.
spend_daily         each campaign's budget spread evenly over its flight days
                    (start to end, both included). Redeemed coupon discounts
                    are never used as spend: they are known only afterwards.
campaign_audiences  the targeted pairs (6,589), is_holdout false,
                    assigned_date = start. There is no randomized holdout; the
                    910 never-targeted households are a non-random comparison.
not used            products, coupons (besides redemptions), promotions (a
                    store-level display/mailer placement, not per household).
==================  ==========================================================

Example:
    >>> summary = adapt_completejourney(src, Path("/tmp/cj"))  # doctest: +SKIP
    >>> summary.rows["conversions"]  # doctest: +SKIP
    155848
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

SOURCE_FILES = (
    "campaign_descriptions",
    "campaigns",
    "coupon_redemptions",
    "demographics",
    "transactions",
)
OUTPUT_TABLES = (
    "campaigns",
    "customers",
    "touchpoints",
    "conversions",
    "spend_daily",
    "campaign_audiences",
)
UNKNOWN = "unknown"
# Income bands of demographics.income to ltv_tier.
INCOME_TIER = {
    "Under 15K": "low",
    "15-24K": "low",
    "25-34K": "low",
    "35-49K": "medium",
    "50-74K": "medium",
    "75-99K": "high",
    "100-124K": "high",
    "125-149K": "high",
    "150-174K": "high",
    "175-199K": "high",
    "200-249K": "high",
    "250K+": "high",
}


@dataclass
class AdaptSummary:
    """What an adapter read and wrote.

    Attributes:
        dataset: the adapter's name.
        out: the folder holding one ``<table>.parquet`` per input table.
        rows: rows written per table.
        source_rows: rows read per source file.
        notes: the caveats a user must know, one line each.
        seconds: wall time.
    """

    dataset: str
    out: Path
    rows: dict[str, int] = field(default_factory=dict)
    source_rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        lines = [f"adapt {self.dataset} -> {self.out} ({self.seconds:.1f}s)"]
        lines += [f"  {t:<20}{n:>12,}" for t, n in self.rows.items()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


# -- ids -------------------------------------------------------------------------


def campaign_key(campaign: pd.Series) -> pd.Series:
    return "cmp_cj_" + campaign.astype("int64").astype(str)


def customer_key(household: pd.Series) -> pd.Series:
    return "cus_cj_" + household.astype("int64").astype(str)


def _snake(text: pd.Series) -> pd.Series:
    return text.str.strip().str.lower().str.replace(r"[^0-9a-z]+", "_", regex=True)


def _day(ts: pd.Series) -> pd.Series:
    """Calendar days of naive timestamps, as datetime64 at midnight."""
    return pd.to_datetime(ts).dt.normalize()


# -- the tables ------------------------------------------------------------------


def campaign_table(
    descriptions: pd.DataFrame, targeted: pd.DataFrame, cost_per_mailing: float
) -> pd.DataFrame:
    """campaigns: type as channel, budget = targeted households x cost."""
    size = targeted.groupby("campaign_id")["household_id"].nunique()
    d = descriptions.sort_values("campaign_id")
    households = d["campaign_id"].map(size).fillna(0).astype("int64")
    return pd.DataFrame({
        "campaign_id": campaign_key(d["campaign_id"]),
        "campaign_name": "Campaign "
        + d["campaign_id"].astype(str)
        + " ("
        + d["campaign_type"]
        + ")",
        "channel": _snake(d["campaign_type"]),
        "budget": households.astype(float) * cost_per_mailing,
        "start_date": _day(d["start_date"]),
        "end_date": _day(d["end_date"]),
        "targeting": "crm",
        "targeted_households": households,
    }).reset_index(drop=True)


def first_data_day(
    descriptions: pd.DataFrame, transactions: pd.DataFrame
) -> pd.Timestamp:
    """The earliest day of any dated record: a campaign start or a purchase."""
    return min(
        _day(descriptions["start_date"]).min(),
        _day(transactions["transaction_timestamp"]).min(),
    )


def customer_table(
    households: pd.Series, demographics: pd.DataFrame, signup: pd.Timestamp
) -> pd.DataFrame:
    """customers: segment and tier from demographics only, one signup day."""
    ids = pd.Series(np.sort(households.unique()), name="household_id")
    demo = demographics.set_index("household_id")
    comp = ids.map(demo["household_comp"])
    income = ids.map(demo["income"])
    segment = _snake(comp.fillna(UNKNOWN))
    tier = income.map(INCOME_TIER).fillna(UNKNOWN)
    return pd.DataFrame({
        "customer_id": customer_key(ids),
        "segment": segment,
        "ltv_tier": tier,
        "signup_date": signup,
        "age_band": ids.map(demo["age"]).fillna(UNKNOWN),
        "income_band": income.fillna(UNKNOWN),
    })


def touchpoint_table(
    targeted: pd.DataFrame, descriptions: pd.DataFrame
) -> pd.DataFrame:
    """touchpoints: one mailing per targeted pair at the campaign's start."""
    t = targeted.merge(
        descriptions[["campaign_id", "start_date"]], on="campaign_id"
    ).sort_values(["campaign_id", "household_id"])
    return pd.DataFrame({
        "touchpoint_id": "tp_cj_"
        + t["campaign_id"].astype(str)
        + "_"
        + t["household_id"].astype(str),
        "customer_id": customer_key(t["household_id"]),
        "campaign_id": campaign_key(t["campaign_id"]),
        "event_type": "mailing",
        "ts": _day(t["start_date"]),
    }).reset_index(drop=True)


def baskets(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per basket: household, revenue, first timestamp and its day."""
    b = (
        transactions.groupby("basket_id", sort=True)
        .agg(
            household_id=("household_id", "first"),
            revenue=("sales_value", "sum"),
            ts=("transaction_timestamp", "min"),
        )
        .reset_index()
    )
    b["day"] = _day(b["ts"])
    return b


def last_touch(
    basket_days: pd.DataFrame,
    targeted: pd.DataFrame,
    descriptions: pd.DataFrame,
) -> pd.Series:
    """The campaign a platform would credit to each basket, or NaN.

    Among campaigns that targeted the basket's household and are active on
    its day (start <= day <= end), the latest started; ties go to the later
    end, then the higher campaign number.

    Args:
        basket_days: basket_id, household_id, day.
        targeted: campaign_id, household_id pairs.
        descriptions: campaign_id, start_date, end_date.

    Returns:
        The source campaign number per basket_id (float, NaN when none).
    """
    flights = targeted.merge(
        descriptions[["campaign_id", "start_date", "end_date"]], on="campaign_id"
    )
    flights["start"] = _day(flights["start_date"])
    flights["end"] = _day(flights["end_date"])
    both = basket_days[["basket_id", "household_id", "day"]].merge(
        flights[["household_id", "campaign_id", "start", "end"]], on="household_id"
    )
    active = both[(both["start"] <= both["day"]) & (both["day"] <= both["end"])]
    winner = active.sort_values(
        ["basket_id", "start", "end", "campaign_id"]
    ).drop_duplicates("basket_id", keep="last")
    return winner.set_index("basket_id")["campaign_id"].astype(float)


def coupon_campaign(
    basket_days: pd.DataFrame,
    redemptions: pd.DataFrame,
    descriptions: pd.DataFrame,
) -> pd.Series:
    """The campaign whose coupon the household redeemed on the basket's day.

    Returns:
        The source campaign number per basket_id (float, NaN when none).
    """
    r = redemptions.assign(day=_day(redemptions["redemption_date"]))
    counts = (
        r.groupby(["household_id", "day", "campaign_id"])
        .size()
        .rename("n")
        .reset_index()
        .merge(descriptions[["campaign_id", "start_date"]], on="campaign_id")
    )
    best = counts.sort_values(
        ["household_id", "day", "n", "start_date", "campaign_id"]
    ).drop_duplicates(["household_id", "day"], keep="last")
    hit = basket_days[["basket_id", "household_id", "day"]].merge(
        best[["household_id", "day", "campaign_id"]], on=["household_id", "day"]
    )
    return hit.set_index("basket_id")["campaign_id"].astype(float)


def _campaign_ids(numbers: pd.Series) -> pd.Series:
    ids = [None if pd.isna(n) else f"cmp_cj_{int(n)}" for n in numbers]
    return pd.Series(ids, index=numbers.index, dtype=object)


def conversion_table(
    transactions: pd.DataFrame,
    targeted: pd.DataFrame,
    descriptions: pd.DataFrame,
    redemptions: pd.DataFrame,
) -> pd.DataFrame:
    """conversions: one per basket, last-touch credit and the coupon's campaign."""
    b = baskets(transactions)
    credited = b["basket_id"].map(last_touch(b, targeted, descriptions))
    coupon = b["basket_id"].map(coupon_campaign(b, redemptions, descriptions))
    return pd.DataFrame({
        "conversion_id": "cv_cj_" + b["basket_id"].astype(str),
        "customer_id": customer_key(b["household_id"]),
        "campaign_id": _campaign_ids(credited),
        "revenue": b["revenue"].astype(float),
        "ts": b["ts"],
        "coupon_campaign_id": _campaign_ids(coupon),
    })


def spend_table(campaigns: pd.DataFrame) -> pd.DataFrame:
    """spend_daily: each budget spread evenly over the flight's days."""
    frames = []
    for c in campaigns.itertuples(index=False):
        days = pd.date_range(c.start_date, c.end_date, freq="D")
        frames.append(pd.DataFrame({
            "campaign_id": c.campaign_id,
            "date": days,
            "spend": c.budget / len(days),
        }))
    return pd.concat(frames, ignore_index=True)


def audience_table(touchpoints: pd.DataFrame) -> pd.DataFrame:
    """campaign_audiences: the targeted pairs, none of them a holdout."""
    return pd.DataFrame({
        "campaign_id": touchpoints["campaign_id"],
        "customer_id": touchpoints["customer_id"],
        "assigned_date": touchpoints["ts"],
        "is_holdout": False,
    })


# -- writing ---------------------------------------------------------------------

_DATE_COLUMNS = {"start_date", "end_date", "signup_date", "date", "assigned_date"}
_TS_COLUMNS = {"ts"}


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` with dates as date32 and timestamps as UTC microseconds."""
    fields, arrays = [], []
    for col in frame.columns:
        values = frame[col]
        if col in _DATE_COLUMNS:
            arr = pa.array(pd.to_datetime(values).dt.date, type=pa.date32())
        elif col in _TS_COLUMNS:
            utc = pd.to_datetime(values).dt.tz_localize("UTC")
            arr = pa.array(utc, type=pa.timestamp("us", tz="UTC"))
        elif values.dtype == object:
            arr = pa.array(values, type=pa.string())
        else:
            arr = pa.array(values)
        fields.append(pa.field(col, arr.type))
        arrays.append(arr)
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    pq.write_table(
        table, path, coerce_timestamps="us", allow_truncated_timestamps=True
    )


def read_source(source: Path) -> dict[str, pd.DataFrame]:
    """The source files the adapter needs, by name.

    Raises:
        FileNotFoundError: naming the missing files and the folder.
    """
    missing = [f for f in SOURCE_FILES if not (source / f"{f}.parquet").exists()]
    if missing:
        raise FileNotFoundError(
            f"completejourney source {source} lacks "
            f"{', '.join(f + '.parquet' for f in missing)}"
        )
    return {f: pd.read_parquet(source / f"{f}.parquet") for f in SOURCE_FILES}


def adapt_tables(
    src: dict[str, pd.DataFrame], cost_per_mailing: float = 0.5
) -> dict[str, pd.DataFrame]:
    """The input-contract tables built from the source frames, without I/O.

    Args:
        src: frames by source file name (``SOURCE_FILES``).
        cost_per_mailing: cost of one mailing to one household.

    Returns:
        Frames by input table name (``OUTPUT_TABLES``).

    Raises:
        ValueError: if ``cost_per_mailing`` is negative.
    """
    if cost_per_mailing < 0:
        raise ValueError(
            f"cost_per_mailing must be >= 0, got {cost_per_mailing}"
        )
    descriptions = src["campaign_descriptions"]
    targeted = src["campaigns"][["campaign_id", "household_id"]].drop_duplicates()
    transactions = src["transactions"]
    campaigns = campaign_table(descriptions, targeted, cost_per_mailing)
    households = pd.concat(
        [transactions["household_id"], targeted["household_id"]]
    )
    signup = first_data_day(descriptions, transactions)
    touchpoints = touchpoint_table(targeted, descriptions)
    return {
        "campaigns": campaigns,
        "customers": customer_table(households, src["demographics"], signup),
        "touchpoints": touchpoints,
        "conversions": conversion_table(
            transactions, targeted, descriptions, src["coupon_redemptions"]
        ),
        "spend_daily": spend_table(campaigns),
        "campaign_audiences": audience_table(touchpoints),
    }


NOTES = (
    "budget and spend are a cost proxy: targeted households x cost_per_mailing",
    "channel is the campaign type (type_a/b/c); the source has no channel",
    "no randomized holdout: campaign_audiences.is_holdout is false everywhere",
    "campaigns 24-26 start before the first purchase (kept as published)",
    "conversions.campaign_id is a derived last touch; the source has none",
)


def adapt_completejourney(
    source: Path, out: Path, cost_per_mailing: float = 0.5
) -> AdaptSummary:
    """Write The Complete Journey as input-contract Parquet files.

    Args:
        source: the folder of the source Parquet files.
        out: the folder to write ``<table>.parquet`` into (created).
        cost_per_mailing: cost of one mailing to one household, the only
            basis of budget and spend.

    Returns:
        Rows read and written, and the caveats.

    Raises:
        FileNotFoundError: if a source file is missing.
        ValueError: if ``cost_per_mailing`` is negative.
    """
    started = time.perf_counter()
    source, out = Path(source), Path(out)
    src = read_source(source)
    tables = adapt_tables(src, cost_per_mailing)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        write_parquet(frame, out / f"{name}.parquet")
    summary = AdaptSummary(
        dataset="completejourney",
        out=out,
        rows={name: len(frame) for name, frame in tables.items()},
        source_rows={name: len(frame) for name, frame in src.items()},
        notes=list(NOTES),
        seconds=time.perf_counter() - started,
    )
    log.info(
        "adapt dataset=completejourney out=%s conversions=%d seconds=%.1f",
        out,
        summary.rows["conversions"],
        summary.seconds,
    )
    return summary

