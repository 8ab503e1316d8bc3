"""Ingest throughput at 1M and 10M touchpoints: Spark + Delta vs DuckDB, same files.

Both engines run the same validation of the touchpoints table (typed casts,
null keys, unknown foreign keys, future timestamps, exact and conflicting
duplicates) on the same Parquet files in the same run, and write the accepted
and rejected rows (Delta MERGE for Spark, Parquet for DuckDB).

    .venv/bin/python bench/ingest.py --rows 1000000 10000000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_memory, print_table, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 1_000_000
BAD_SHARE = 0.005


def make_touchpoints(src: Path, rows: int, seed: int = 0) -> None:
    """Touchpoints over the tiny preset's customers and campaigns, 0.5% bad."""
    import pandas as pd

    customers = pd.read_parquet(src / "customers.parquet")["customer_id"].to_numpy()
    campaigns = pd.read_parquet(src / "campaigns.parquet")["campaign_id"].to_numpy()
    out = src / "touchpoints"
    shutil.rmtree(out, ignore_errors=True)
    (src / "touchpoints.parquet").unlink(missing_ok=True)
    out.mkdir()
    rng = np.random.default_rng(seed)
    start = np.datetime64("2025-01-01T00:00:00", "us")
    for part, lo in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - lo)
        ids = np.char.add("tp_", np.arange(lo, lo + n).astype(str)).astype(object)
        cust = customers[rng.integers(0, len(customers), n)].astype(object)
        camp = campaigns[rng.integers(0, len(campaigns), n)].astype(object)
        ts = start + rng.integers(0, 150 * 86_400, n).astype("timedelta64[s]")
        bad = rng.random(n) < BAD_SHARE
        kind = rng.integers(0, 3, n)
        ids[bad & (kind == 0)] = None
        cust[bad & (kind == 1)] = "cus_missing"
        ts[bad & (kind == 2)] = np.datetime64("2099-01-01T00:00:00", "us")
        table = pa.table(
            {
                "touchpoint_id": pa.array(ids, pa.string()),
                "customer_id": pa.array(cust, pa.string()),
                "campaign_id": pa.array(camp, pa.string()),
                "event_type": pa.array(
                    np.where(rng.random(n) < 0.05, "click", "impression"), pa.string()
                ),
                "ts": pa.array(ts, pa.timestamp("us")),
            }
        )
        pq.write_table(table, out / f"part-{part:04d}.parquet")


def run_spark(src: Path, lakehouse: Path) -> dict[str, float]:
    from campaign_revenue.config import load_config
    from campaign_revenue.ingest import ingest
    from campaign_revenue.spark import build_spark

    cfg = load_config(
        ROOT / "conf" / "local.yaml",
        ["spark.master=local[2]", f"lakehouse.root={lakehouse}"],
    )
    spark = build_spark(cfg.spark, app_name="bench-ingest")
    shutil.rmtree(lakehouse, ignore_errors=True)
    with peak_memory() as mem:
        started = time.perf_counter()
        summary = ingest(
            spark, cfg, str(src), tables=["campaigns", "customers", "touchpoints"]
        )
        seconds = time.perf_counter() - started
    tp = summary.table("touchpoints")
    return {
        "seconds": seconds,
        "peak_gib": mem["peak"] / 2**30,
        "accepted": tp.accepted,
        "quarantined": tp.quarantined,
    }


DUCKDB_SQL = """
CREATE OR REPLACE TABLE cust AS SELECT DISTINCT customer_id FROM read_parquet('{c}');
CREATE OR REPLACE TABLE camp AS SELECT DISTINCT campaign_id FROM read_parquet('{m}');
CREATE OR REPLACE TABLE v AS
WITH raw AS (SELECT DISTINCT * FROM read_parquet('{t}/*.parquet')),
typed AS (
  SELECT *, TRY_CAST(ts AS TIMESTAMP) AS ts_t,
         md5(CAST(raw AS VARCHAR)) AS record_hash
  FROM raw
),
reasons AS (
  SELECT t.*,
    CASE
      WHEN t.ts IS NOT NULL AND t.ts_t IS NULL THEN 'unparseable_value'
      WHEN t.touchpoint_id IS NULL THEN 'null_key'
      WHEN t.customer_id IS NULL OR t.campaign_id IS NULL OR t.ts_t IS NULL
        THEN 'null_required'
      WHEN t.ts_t > now()::TIMESTAMP THEN 'future_timestamp'
      WHEN c.customer_id IS NULL OR m.campaign_id IS NULL
        THEN 'unknown_foreign_key'
    END AS reason
  FROM typed t
  LEFT JOIN cust c USING (customer_id)
  LEFT JOIN camp m USING (campaign_id)
)
SELECT *,
  CASE WHEN reason IS NULL AND count(DISTINCT record_hash) FILTER (
         WHERE reason IS NULL) OVER (PARTITION BY touchpoint_id) > 1
       THEN 'conflicting_duplicate_key' ELSE reason END AS final_reason
FROM reasons;
COPY (SELECT touchpoint_id, customer_id, campaign_id, event_type, ts_t AS ts
      FROM v WHERE final_reason IS NULL) TO '{out}/accepted.parquet';
COPY (SELECT 'touchpoints' AS table_name, record_hash, final_reason AS reason
      FROM v WHERE final_reason IS NOT NULL) TO '{out}/quarantine.parquet';
"""


def run_duckdb(src: Path, out: Path) -> dict[str, float]:
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    sql = DUCKDB_SQL.format(
        c=src / "customers.parquet",
        m=src / "campaigns.parquet",
        t=src / "touchpoints",
        out=out,
    )
    with peak_memory(children=False) as mem:
        started = time.perf_counter()
        con.execute(sql)
        seconds = time.perf_counter() - started
    accepted = con.execute(
        f"SELECT count(*) FROM read_parquet('{out}/accepted.parquet')"
    ).fetchone()[0]
    quarantined = con.execute(
        f"SELECT count(*) FROM read_parquet('{out}/quarantine.parquet')"
    ).fetchone()[0]
    return {
        "seconds": seconds,
        "peak_gib": mem["peak"] / 2**30,
        "accepted": accepted,
        "quarantined": quarantined,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)

    from campaign_revenue.simulate import generate

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-ingest-"))
    src = work / "src"
    generate(out=src, preset="tiny", seed=0)
    for name in ("conversions", "spend_daily", "campaign_audiences", "spend_plan"):
        (src / f"{name}.parquet").unlink(missing_ok=True)

    rows = []
    for n in args.rows:
        make_touchpoints(src, n)
        spark = run_spark(src, work / f"lakehouse-{n}")
        duck = run_duckdb(src, work / f"duckdb-{n}")
        if spark["accepted"] != duck["accepted"]:
            print(
                f"warning: accepted rows differ: spark {spark['accepted']} "
                f"duckdb {duck['accepted']}"
            )
        rows.append(
            {
                "touchpoints": n,
                "spark_s": spark["seconds"],
                "spark_rows_per_s": n / spark["seconds"],
                "spark_peak_gib": spark["peak_gib"],
                "duckdb_s": duck["seconds"],
                "duckdb_rows_per_s": n / duck["seconds"],
                "duckdb_peak_gib": duck["peak_gib"],
                "spark_over_duckdb": spark["seconds"] / duck["seconds"],
                "accepted": spark["accepted"],
                "quarantined": spark["quarantined"],
            }
        )
    table = print_table(rows, list(rows[0]))
    write_result("ingest", {"rows": rows, "table": table})
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
