"""The tiny preset end to end through spark-submit; its gold tables read as BI does.

Each step runs as its own ``deploy/spark-submit.sh STEP`` process (one JVM, one
wheel build per step) against ``local[2]`` and a temporary lakehouse. The gold
tables it leaves are then read twice: by delta-rs, with no Spark, as a BI tool
reads them, and by the suite's Spark session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from campaign_revenue.schema import GOLD_TABLES

ROOT = Path(__file__).resolve().parents[1]
SUBMIT = ROOT / "deploy" / "spark-submit.sh"

pytestmark = pytest.mark.slow

# The ingest clock the other tiny-preset tests use: the day after its last event.
CLOCK = "2025-07-02"
METHODS = ("persistence", "last_touch_roas")
# The model tests' small settings on tiny, with two epochs and one Ray worker.
TRAIN = [
    "model.hidden_channels=16",
    "model.max_customers=16",
    "training.epochs=2",
    "training.patience=2",
    "training.batch_size=32",
    "training.learning_rate=0.01",
    "ray.num_workers=1",
]
# Two backtest origins instead of four, and no MLflow run per method.
BACKTEST = ["backtest.origins=2", "backtest.log_mlflow=false"]
GOLD_KEYS = {name: spec.key for name, spec in GOLD_TABLES.items()}


@dataclass(frozen=True)
class StepRun:
    """One spark-submit process: its step, exit code, output and wall time."""

    step: str
    code: int
    stdout: str
    stderr: str
    seconds: float

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.stderr.splitlines()[-lines:])


@dataclass(frozen=True)
class Pipeline:
    lakehouse: Path
    runs: list[StepRun]

    def gold(self, table: str) -> str:
        return str(self.lakehouse / "gold" / table)


def _submit(step: str, args: list[str], env: dict[str, str]) -> StepRun:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(SUBMIT), step, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return StepRun(
        step, proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started
    )


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    """Run every step through spark-submit; fails at the first nonzero exit."""
    root = tmp_path_factory.mktemp("spark_submit")
    lakehouse, data = root / "lakehouse", root / "input"
    env = {**os.environ, "SPARK_MASTER": "local[2]", "PYTHON": sys.executable}
    common = [
        f"lakehouse.root={lakehouse}",
        f"mlflow.tracking_uri=sqlite:///{root / 'mlflow.db'}",
        "spark.conf.spark.sql.shuffle.partitions=2",
        "spark.conf.spark.default.parallelism=2",
    ]
    steps: list[tuple[str, list[str], list[str]]] = [
        ("generate", ["--preset", "tiny", "--seed", "0", "--out", str(data)], []),
        ("ingest", ["--source", str(data), "--as-of", CLOCK], []),
        ("snapshots", [], []),
        ("graph", [], []),
        ("train", [], TRAIN),
        ("score", [], []),
        ("evaluate", ["--methods", ",".join(METHODS)], BACKTEST),
        # the default MMM-shaped response curves
        ("allocate", [], []),
    ]
    runs = []
    for step, args, overrides in steps:
        sets = [arg for kv in common + overrides for arg in ("--set", kv)]
        run = _submit(step, [*args, *sets], env)
        runs.append(run)
        if run.code != 0:
            pytest.fail(
                f"spark-submit {step} exited {run.code} after {run.seconds:.0f} s; "
                f"stderr tail:\n{run.tail()}\nstdout tail:\n{run.stdout[-2000:]}"
            )
    return Pipeline(lakehouse, runs)


@pytest.fixture(scope="module")
def bi(pipeline) -> dict[str, pd.DataFrame]:
    """Every gold table as delta-rs reads it, without Spark."""
    from deltalake import DeltaTable

    return {name: DeltaTable(pipeline.gold(name)).to_pandas() for name in GOLD_KEYS}


def test_every_step_exits_zero_with_one_summary_line(pipeline):
    assert [r.step for r in pipeline.runs] == [
        "generate", "ingest", "snapshots", "graph", "train", "score", "evaluate",
        "allocate",
    ]
    for run in pipeline.runs:
        # Shown with -rP: where the module's minutes go.
        print(f"spark-submit {run.step} exit={run.code} seconds={run.seconds:.1f}")
        last = run.stdout.strip().splitlines()[-1]
        if run.step in ("generate", "train"):
            # Parquet files and an MLflow run, not tables: their own summary
            # says what they wrote
            assert last.startswith(f"{run.step} finished in "), last
            assert ("touchpoints" if run.step == "generate" else "champion") in run.stdout
        else:
            assert last.startswith(f"{run.step} finished: "), (run.step, last)
            assert "rows written to" in last


def test_the_run_wrote_every_gold_table(pipeline):
    written = {
        p.name for p in (pipeline.lakehouse / "gold").iterdir()
        if (p / "_delta_log").is_dir()
    }
    assert written == set(GOLD_KEYS)


def _comparable(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """Rows sorted by key; timestamps as naive UTC microseconds.

    delta-rs returns Delta timestamps as tz-aware UTC, Spark as naive values
    in the session time zone (UTC here): the same instants either way.
    """
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].astype("datetime64[us]")
    return out.sort_values(list(key)).reset_index(drop=True)


@pytest.mark.parametrize("table", sorted(GOLD_KEYS))
def test_delta_rs_reads_the_rows_spark_wrote(table, pipeline, bi, spark):
    key = GOLD_KEYS[table]
    # Gold tables are small (campaigns x dates); the test may collect them.
    by_spark = spark.read.format("delta").load(pipeline.gold(table)).toPandas()
    by_bi = bi[table]
    assert len(by_bi) > 0
    assert list(by_bi.columns) == list(by_spark.columns)
    assert not by_bi.duplicated(list(key)).any()
    pd.testing.assert_frame_equal(
        _comparable(by_bi, key),
        _comparable(by_spark, key),
        check_dtype=False,
        check_exact=True,
    )


@pytest.mark.parametrize("table", sorted(GOLD_KEYS))
def test_gold_table_has_a_comment_and_change_data_feed(table, pipeline):
    from deltalake import DeltaTable

    meta = DeltaTable(pipeline.gold(table)).metadata()
    assert (meta.description or "").strip(), f"gold.{table} has no table comment"
    assert meta.configuration.get("delta.enableChangeDataFeed") == "true"


def test_every_gold_column_has_a_comment(pipeline):
    from deltalake import DeltaTable

    missing = {
        table: [
            f.name
            for f in DeltaTable(pipeline.gold(table)).schema().fields
            if not (f.metadata or {}).get("comment", "").strip()
        ]
        for table in sorted(GOLD_KEYS)
    }
    assert {t: cols for t, cols in missing.items() if cols} == {}


def test_forecasts_lie_inside_their_intervals(bi):
    preds = bi["campaign_predictions"]
    assert (preds["predicted_revenue"] >= 0).all()
    assert (preds["revenue_lower"] <= preds["predicted_revenue"]).all()
    assert (preds["predicted_revenue"] <= preds["revenue_upper"]).all()
    assert preds["as_of_date"].nunique() == 1
    assert preds["interval_level"].between(0, 1, inclusive="neither").all()

    attrs = bi["prediction_attributions"]
    assert set(attrs["campaign_id"]) == set(preds["campaign_id"])
    assert attrs.groupby("campaign_id")["rank"].min().eq(1).all()
    assert attrs["share"].between(0, 1).all()
    assert set(attrs["direction"]) <= {"raises", "lowers"}


def test_allocation_moves_budget_without_changing_the_total(bi):
    alloc = bi["budget_allocations"]
    assert len(alloc) > 0
    assert alloc["recommended_spend"].sum() == pytest.approx(
        alloc["current_spend"].sum(), rel=1e-9
    )
    assert (alloc["recommended_spend"] >= 0).all()
    # The recommendation is no worse than the plan it replaces.
    assert alloc["expected_incremental_revenue_recommended"].sum() >= (
        alloc["expected_incremental_revenue_current"].sum() - 1e-6
    )

    # The daily plan spends each campaign's recommended total.
    plan = bi["recommended_spend_plan"].groupby("campaign_id")["planned_spend"].sum()
    rec = alloc.set_index("campaign_id")["recommended_spend"]
    assert plan.reindex(rec.index).fillna(0.0).to_numpy() == pytest.approx(
        rec.to_numpy()
    )

    curves = bi["response_curves"]
    assert set(curves["campaign_id"]) == set(alloc["campaign_id"])
    assert (curves["lower"] <= curves["expected_incremental_revenue"] + 1e-9).all()
    assert (curves["expected_incremental_revenue"] <= curves["upper"] + 1e-9).all()


def test_backtest_holds_the_methods_asked_for(bi):
    metrics = bi["backtest_metrics"]
    assert set(metrics["method"]) == set(METHODS)
    assert metrics["run_id"].nunique() == 1
    wape = metrics[(metrics["metric"] == "wape") & metrics["value"].notna()]
    assert len(wape) > 0
    assert (wape["value"] >= 0).all()
    assert (metrics["n"] > 0).all()
