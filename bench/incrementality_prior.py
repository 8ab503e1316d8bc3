"""Which own-history estimate ranks campaigns by their true incremental ROAS.

Computes ``campaign_signals`` (last-touch ROAS, organic share, audience value,
exposure excess) at several as_of dates of a simulated world and compares
candidate estimates of each campaign's incremental ROAS, before calibration,
with the simulator's true incremental ROAS of the 30 days after each date:
Spearman per date (mean) and pooled, the WAPE of the estimate times planned
spend against the true incremental revenue, and that WAPE after the one scale
factor that minimizes it (what a perfect lift calibration could reach: it
measures the estimate's shape across campaigns, not its level). The figures
behind the exposure excess in ``incrementality/excess.py``.

Usage (after ``campaign-revenue generate --preset demo --out SIM`` and
``campaign-revenue ingest --source SIM`` into the lakehouse ROOT):
    .venv/bin/python bench/incrementality_prior.py --sim SIM --root ROOT
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _common import print_table, write_result  # noqa: E402


def candidates(d: pd.DataFrame) -> dict[str, pd.Series]:
    lt = d["last_touch_roas"]
    v = d["audience_value"]
    ref = v.groupby(d["as_of_date"]).transform("median")
    return {
        "last_touch": lt,
        "last_touch x (1 - organic share)": lt * (1 - d["organic_share"]),
        "last_touch x median audience value / audience value": lt * ref / v,
        "exposure excess / spend": (
            d["excess_revenue"].clip(lower=0) / d["lookback_spend"]
        ),
    }


def best_scale(estimate: pd.Series, truth: pd.Series) -> float:
    """The factor k minimizing sum |k * estimate - truth|: a weighted median."""
    ok = (estimate > 0) & truth.notna()
    ratio = (truth[ok] / estimate[ok]).to_numpy()
    weight = estimate[ok].to_numpy()
    order = np.argsort(ratio)
    cum = np.cumsum(weight[order])
    return float(ratio[order][np.searchsorted(cum, cum[-1] / 2)]) if len(cum) else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", required=True, help="folder `generate` wrote")
    parser.add_argument("--root", required=True, help="lakehouse root (ingested)")
    parser.add_argument("--dates", type=int, default=13, help="as_of dates")
    parser.add_argument("--step-days", type=int, default=21)
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        help="config override, e.g. allocation.exposure_window_days=2")
    parser.add_argument("--name", default="incrementality_prior",
                        help="result name under bench/results")
    args = parser.parse_args()

    from scipy.stats import spearmanr

    from campaign_revenue.config import load_config
    from campaign_revenue.incrementality.model import signals_for, silver_tables
    from campaign_revenue.spark import build_spark
    from campaign_revenue.tables import Lakehouse

    sim = Path(args.sim)
    truth = pd.read_parquet(sim / "truth" / "campaign_windows.parquet")
    truth["as_of_date"] = pd.to_datetime(truth["as_of_date"]).dt.date
    last = max(truth["as_of_date"])
    weekly = sorted(d for d in truth["as_of_date"].unique() if d < last)
    dates = [last] + [
        weekly[-1] - dt.timedelta(days=args.step_days * k)
        for k in range(1, args.dates)
    ]
    cfg = load_config(
        ROOT / "conf" / "local.yaml", [f"lakehouse.root={args.root}", *args.overrides]
    )
    spark = build_spark(cfg.spark, app_name="bench-incrementality-prior")
    tables = silver_tables(Lakehouse(spark, cfg.lakehouse))
    frames = []
    for as_of in dates:
        # Hand-off: one row per campaign in the window.
        frame = signals_for(tables, cfg, as_of).toPandas()
        frame["as_of_date"] = as_of
        frames.append(frame)
        print(f"as_of {as_of}: {len(frame)} campaigns", flush=True)
    spark.stop()
    d = pd.concat(frames, ignore_index=True).merge(
        truth, on=["campaign_id", "as_of_date"], how="inner"
    )
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    d.to_parquet(out_dir / f"{args.name}.parquet", index=False)  # per campaign-date
    d = d[(d["planned_spend"] > 0) & d["last_touch_roas"].notna()].copy()
    d["true_roas"] = d["incremental_revenue"] / d["planned_spend"]
    rows = []
    for name, value in candidates(d).items():
        per_date = [
            spearmanr(value[g.index], g["true_roas"]).statistic
            for _, g in d.groupby("as_of_date")
            if len(g) > 2
        ]
        ok = value.notna()
        revenue = value[ok] * d.loc[ok, "planned_spend"]
        truth_rev = d.loc[ok, "incremental_revenue"]
        k = best_scale(revenue, truth_rev)
        rows.append({
            "estimate": name,
            "spearman_mean_per_date": round(float(np.nanmean(per_date)), 2),
            "spearman_pooled": round(float(spearmanr(value, d["true_roas"]).statistic), 2),
            "wape_pooled": round(float((revenue - truth_rev).abs().sum() / truth_rev.sum()), 2),
            "wape_one_scale": round(
                float((k * revenue - truth_rev).abs().sum() / truth_rev.sum()), 2
            ),
            "scale": round(k, 2),
            "campaign_dates": int(ok.sum()),
        })
    table = print_table(
        rows,
        ["estimate", "spearman_mean_per_date", "spearman_pooled", "wape_pooled",
         "wape_one_scale", "scale", "campaign_dates"],
    )
    write_result(
        args.name,
        {"sim": str(sim), "dates": [str(x) for x in dates], "overrides": args.overrides,
         "rows": rows, "table": table},
    )


if __name__ == "__main__":
    main()
