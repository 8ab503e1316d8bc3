"""How wrong attribution is: each method's ROAS against the simulator's true
incremental ROAS, Spearman overall, per channel and per targeting type.

    .venv/bin/python bench/attribution.py --root LAKEHOUSE --sim SIMULATED_DIR

LAKEHOUSE holds the ingested silver tables of the simulated dataset in SIM
(``make demo`` writes both: ``lakehouse`` and ``lakehouse/_input/demo``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="lakehouse")
    parser.add_argument("--sim", default="lakehouse/_input/demo")
    parser.add_argument(
        "--every", type=int, default=4, help="use every Nth weekly as_of date"
    )
    args = parser.parse_args(argv)

    from campaign_revenue.config import load_config
    from campaign_revenue.evaluation.backtest import (
        attribution_vs_truth,
        method_context,
    )
    from campaign_revenue.spark import build_spark
    from campaign_revenue.tables import Lakehouse

    cfg = load_config(ROOT / "conf" / "local.yaml", [f"lakehouse.root={args.root}"])
    spark = build_spark(cfg.spark, app_name="bench-attribution")
    truth = pd.read_parquet(Path(args.sim) / "truth" / "campaign_windows.parquet")
    # Skip the warm-up weeks, then one as_of date in every ``every``.
    days = sorted(truth["as_of_date"].unique())[8 :: args.every]
    truth = truth[truth["as_of_date"].isin(days)]
    out = attribution_vs_truth(method_context(Lakehouse(spark, cfg.lakehouse), cfg,
                                              features=False), truth)
    table = out.pivot_table(index="group", columns="method", values="spearman")
    text = table.round(2).to_string()
    print(text)
    print("snapshots per method:", out.groupby("method")["n"].max().to_dict())
    write_result("attribution", {"rows": out.to_dict("records"), "table": text})
    return 0


if __name__ == "__main__":
    sys.exit(main())
