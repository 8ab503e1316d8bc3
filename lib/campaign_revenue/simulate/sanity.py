"""Sanity figures of a generated dataset, for the README."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# Allocation bounds of the reallocation figure, as multiples of the plan.
LOWER, UPPER = 0.5, 2.0


def read_table(out: Path, table: str) -> pd.DataFrame:
    """An input table written by ``generate`` (one file or a folder of parts)."""
    single = out / f"{table}.parquet"
    return pd.read_parquet(single if single.exists() else out / table)


def organic_share_by_targeting(out: Path) -> pd.DataFrame:
    """Share of last-touch-credited revenue that was organic, per targeting type."""
    conversions = read_table(out, "conversions")
    causes = pd.read_parquet(out / "truth" / "conversion_causes.parquet")
    campaigns = read_table(out, "campaigns")[["campaign_id", "targeting"]]
    credited = (
        conversions.dropna(subset=["campaign_id"])
        .merge(causes[["conversion_id", "cause"]], on="conversion_id")
        .merge(campaigns, on="campaign_id")
    )
    credited["organic_revenue"] = credited["revenue"].where(
        credited["cause"] == "organic", 0.0
    )
    share = credited.groupby("targeting")[["organic_revenue", "revenue"]].sum()
    share["organic_share"] = share["organic_revenue"] / share["revenue"]
    return share.reset_index()


def roas_by_channel(out: Path) -> pd.DataFrame:
    """True incremental ROAS and last-touch ROAS per channel over the data."""
    conversions = read_table(out, "conversions")
    causes = pd.read_parquet(out / "truth" / "conversion_causes.parquet")
    campaigns = read_table(out, "campaigns")[["campaign_id", "channel"]]
    spend = read_table(out, "spend_daily").merge(campaigns, on="campaign_id")
    rows = conversions.merge(causes[["conversion_id", "cause"]], on="conversion_id")
    channel_of = campaigns.set_index("campaign_id")["channel"]
    credited = rows.groupby(rows["campaign_id"].map(channel_of))["revenue"].sum()
    caused = rows.groupby(rows["cause"].map(channel_of))["revenue"].sum()
    table = spend.groupby("channel")[["spend"]].sum()
    table["last_touch_roas"] = credited.reindex(table.index).fillna(0) / table["spend"]
    table["incremental_roas"] = caused.reindex(table.index).fillna(0) / table["spend"]
    return table.reset_index()


def greedy_reallocation(curves: pd.DataFrame, steps: int = 400) -> tuple[float, float]:
    """Expected incremental revenue of the plan and of a greedy reallocation.

    Spend moves in equal steps to the campaign with the largest marginal gain on
    its (linearly interpolated) response curve, within LOWER..UPPER of the plan,
    under the plan's total.

    Returns:
        (revenue at the plan, revenue at the reallocation).
    """
    groups = [g.sort_values("spend") for _, g in curves.groupby("campaign_id")]
    planned = np.array([
        np.interp(1.0, g["spend_multiplier"], g["spend"]) for g in groups
    ])

    def value(k: int, spend: float) -> float:
        g = groups[k]
        return float(np.interp(spend, g["spend"], g["expected_incremental_revenue"]))

    current = sum(value(k, s) for k, s in enumerate(planned))
    alloc = planned * LOWER
    step = (planned.sum() - alloc.sum()) / steps
    for _ in range(steps):
        room = planned * UPPER - alloc >= step - 1e-9
        gains = [
            value(k, alloc[k] + step) - value(k, alloc[k]) if room[k] else -np.inf
            for k in range(len(groups))
        ]
        alloc[int(np.argmax(gains))] += step
    best = sum(value(k, s) for k, s in enumerate(alloc))
    return current, best


def sanity_report(out_dir: str | Path) -> str:
    """Markdown with the dataset's sanity figures.

    Args:
        out_dir: folder written by ``generate``.

    Returns:
        Markdown text: organic share of credited revenue per targeting type,
        incremental vs last-touch ROAS per channel, and the gain of a greedy
        reallocation of the plan over the response curves.
    """
    out = Path(out_dir)
    share = organic_share_by_targeting(out)
    roas = roas_by_channel(out)
    curves = pd.read_parquet(out / "truth" / "response_curves.parquet")
    current, best = greedy_reallocation(curves)
    lines = [
        "Organic share of last-touch-credited revenue, per targeting type:",
        "",
        "| targeting | credited revenue | organic share |",
        "| --- | ---: | ---: |",
    ]
    for row in share.sort_values("organic_share", ascending=False).itertuples():
        lines.append(
            f"| {row.targeting} | {row.revenue:,.0f} | {row.organic_share:.0%} |"
        )
    lines += [
        "",
        "True incremental ROAS against last-touch ROAS, per channel, over the data:",
        "",
        "| channel | spend | incremental ROAS | last-touch ROAS |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in roas.itertuples():
        lines.append(
            f"| {row.channel} | {row.spend:,.0f} | {row.incremental_roas:.2f} "
            f"| {row.last_touch_roas:.2f} |"
        )
    gain = best - current
    lines += [
        "",
        "Expected incremental revenue over the 30 days after the data end: "
        f"{current:,.0f} at the plan, {best:,.0f} after a greedy reallocation of "
        f"the same total within {LOWER}x-{UPPER}x of each campaign's plan "
        f"(+{gain:,.0f}, {gain / max(current, 1e-9):+.1%}).",
    ]
    return "\n".join(lines)
