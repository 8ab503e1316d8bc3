"""Benchmark of the graph step: seconds and peak memory, with a DuckDB baseline.

Generates a preset into a temporary folder, ingests it, runs ``run_graph`` for
one as_of date (or the weekly grid with ``--weekly``), then computes four core
features (audience size, high-LTV share, trailing 30-day attributed revenue,
channel saturation) with DuckDB SQL on the same Parquet files, and prints
both timings, their ratio and the largest difference between the two results.

Usage:
    .venv/bin/python bench/graph.py --preset demo
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import tempfile
import time
from pathlib import Path


log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "graph.json"

sys.path.insert(0, str(ROOT / "bench"))
from _common import peak_memory  # noqa: E402


def _parquet(data: Path, table: str) -> str:
    file = data / f"{table}.parquet"
    return str(file) if file.exists() else str(data / table / "*.parquet")


def duckdb_features(data: Path, as_of: dt.date, high_tiers: list[str]):
    """The four core features per campaign at ``as_of`` in DuckDB SQL."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    tiers = ", ".join(f"'{t}'" for t in high_tiers)
    sql = f"""
    WITH t AS (SELECT TIMESTAMPTZ '{as_of} 00:00:00+00' AS as_of),
    tp AS (SELECT p.*, c.channel FROM read_parquet('{_parquet(data, "touchpoints")}') p
           JOIN read_parquet('{_parquet(data, "campaigns")}') c USING (campaign_id)
           WHERE p.ts < (SELECT as_of FROM t)),
    reach AS (SELECT campaign_id, count(DISTINCT customer_id) AS audience_reached
              FROM tp GROUP BY campaign_id),
    active AS (SELECT DISTINCT campaign_id, customer_id FROM tp
               WHERE ts >= (SELECT as_of FROM t) - INTERVAL 90 DAY),
    high AS (SELECT a.campaign_id,
                    avg(CASE WHEN c.ltv_tier IN ({tiers}) THEN 1.0 ELSE 0.0 END)
                      AS high_ltv_share_reached
             FROM active a
             JOIN read_parquet('{_parquet(data, "customers")}') c USING (customer_id)
             GROUP BY a.campaign_id),
    rev AS (SELECT campaign_id, sum(revenue) AS revenue_30d
            FROM read_parquet('{_parquet(data, "conversions")}')
            WHERE campaign_id IS NOT NULL AND ts < (SELECT as_of FROM t)
              AND ts >= (SELECT as_of FROM t) - INTERVAL 30 DAY
            GROUP BY campaign_id),
    sat AS (SELECT channel, count(*) / count(DISTINCT customer_id)
                     AS channel_saturation_30d
            FROM tp WHERE ts >= (SELECT as_of FROM t) - INTERVAL 30 DAY
            GROUP BY channel)
    SELECT c.campaign_id, coalesce(r.audience_reached, 0) AS audience_reached,
           h.high_ltv_share_reached, coalesce(v.revenue_30d, 0) AS revenue_30d,
           s.channel_saturation_30d
    FROM read_parquet('{_parquet(data, "campaigns")}') c
    LEFT JOIN reach r USING (campaign_id) LEFT JOIN high h USING (campaign_id)
    LEFT JOIN rev v USING (campaign_id) LEFT JOIN sat s USING (channel)
    WHERE c.start_date < DATE '{as_of}'
    """
    return con.execute(sql).df()


CORE = (
    "audience_reached",
    "high_ltv_share_reached",
    "revenue_30d",
    "channel_saturation_30d",
)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write ``bench/results/graph.json``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--preset", default="demo", choices=["tiny", "demo", "large"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weekly", action="store_true", help="the weekly as_of grid")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)

    from campaign_revenue.config import load_config
    from campaign_revenue.graph.run import run_graph
    from campaign_revenue.ingest import ingest
    from campaign_revenue.logs import setup_logging
    from campaign_revenue.simulate import generate
    from campaign_revenue.spark import build_spark
    from campaign_revenue.tables import Lakehouse

    setup_logging()
    tmp = Path(tempfile.mkdtemp(prefix="bench-graph-"))
    data = tmp / "data"
    started = time.perf_counter()
    summary = generate(data, preset=args.preset, seed=args.seed)
    generate_s = time.perf_counter() - started
    cfg = load_config(ROOT / "conf" / "local.yaml", [f"lakehouse.root={tmp / 'lh'}"])
    spark = build_spark(cfg.spark, app_name="bench-graph")
    lakehouse = Lakehouse(spark, cfg.lakehouse)

    started = time.perf_counter()
    ingest(spark, cfg, str(data), clock=dt.datetime(2100, 1, 1))
    ingest_s = time.perf_counter() - started
    last = lakehouse.read("silver.touchpoints").agg({"ts": "max"}).first()[0]
    as_of = last.date() + dt.timedelta(days=1)

    with peak_memory() as spark_mem:
        started = time.perf_counter()
        graph = run_graph(spark, cfg, lakehouse, as_of=None if args.weekly else as_of)
        spark_s = time.perf_counter() - started
    spark_rows = (
        lakehouse.read("features.campaign_snapshots")
        .where(f"as_of_date = '{as_of}' AND is_launched")
        .select("campaign_id", *CORE)
        .toPandas()
    )

    # DuckDB runs in this process; the idle JVM is left out of its figure.
    with peak_memory(children=False) as duck_mem:
        started = time.perf_counter()
        duck_rows = duckdb_features(data, as_of, cfg.features.high_ltv_tiers)
        duck_s = time.perf_counter() - started
    both = spark_rows.merge(duck_rows, on="campaign_id", suffixes=("_spark", "_duck"))
    max_diff = {
        c: float((both[f"{c}_spark"] - both[f"{c}_duck"]).abs().max()) for c in CORE
    }

    result = {
        "preset": args.preset,
        "as_of": str(as_of),
        "weekly": args.weekly,
        "input_rows": getattr(summary, "rows", None),
        "generate_seconds": round(generate_s, 1),
        "ingest_seconds": round(ingest_s, 1),
        "graph_seconds": round(spark_s, 1),
        "graph_rows": graph.rows,
        "graph_pairs": graph.pairs,
        "graph_peak_rss_mb": round(spark_mem["peak"] / 2**20),
        "duckdb_core_seconds": round(duck_s, 2),
        "duckdb_peak_rss_mb": round(duck_mem["peak"] / 2**20),
        "spark_over_duckdb": round(spark_s / duck_s, 1) if duck_s else None,
        "campaigns_compared": len(both),
        "max_abs_diff": max_diff,
    }
    print(graph)
    print(f"{'engine':<26}{'seconds':>10}{'peak RSS MB':>14}")
    spark_mb, duck_mb = result["graph_peak_rss_mb"], result["duckdb_peak_rss_mb"]
    print(f"{'spark run_graph (all)':<26}{spark_s:>10.1f}{spark_mb:>14}")
    print(f"{'duckdb core features':<26}{duck_s:>10.2f}{duck_mb:>14}")
    print(f"ratio spark/duckdb: {result['spark_over_duckdb']}x; "
          f"max abs diff on {len(both)} campaigns: {max_diff}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
