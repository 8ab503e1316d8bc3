"""The ``campaign-revenue`` command: one subcommand per pipeline step.

The spark-submit entry points in ``jobs/`` call :func:`main` with their step
name, so both paths run the same code.

Example:
    $ campaign-revenue ingest --conf conf/local.yaml --source data/demo
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from campaign_revenue.config import Config, ConfigError, load_config
from campaign_revenue.logs import setup_logging

log = logging.getLogger(__name__)

DEFAULT_CONF = "conf/local.yaml"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; use YYYY-MM-DD"
        ) from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--conf", default=DEFAULT_CONF, help="YAML config file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. lakehouse.root=/tmp/lh (repeatable)",
    )


def _load(args: argparse.Namespace) -> Config:
    return load_config(args.conf, args.overrides)


def _spark(cfg: Config, step: str):
    from campaign_revenue.spark import build_spark

    return build_spark(cfg.spark, app_name=f"campaign-revenue-{step}")


# -- steps ------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> int:
    from campaign_revenue.simulate import generate

    summary = generate(
        out=args.out, preset=args.preset, seed=args.seed, bad_rows=args.bad_rows
    )
    print(summary)
    return 0


def cmd_adapt(args: argparse.Namespace) -> int:
    from campaign_revenue.adapters import adapt

    print(adapt(args.dataset, Path(args.source), Path(args.out)))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from campaign_revenue.ingest import ingest

    cfg = _load(args)
    spark = _spark(cfg, "ingest")
    clock = None
    if args.as_of is not None:
        clock = dt.datetime.combine(args.as_of, dt.time())
    summary = ingest(spark, cfg, args.source, clock=clock)
    print(summary)
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from pyspark.sql import functions as F

    from campaign_revenue.tables import Lakehouse

    cfg = _load(args)
    lh = Lakehouse(_spark(cfg, "quarantine"), cfg.lakehouse)
    if not lh.exists("quarantine"):
        print(f"no quarantine table at {lh.location('quarantine')}: nothing rejected")
        return 0
    q = lh.read("quarantine")
    if args.table:
        q = q.where(F.col("table_name") == args.table)
    counts = q.groupBy("table_name", "reason").count().orderBy("table_name", "reason")
    print(f"quarantine at {lh.location('quarantine')}")
    counts.show(truncate=False)
    q.select("table_name", "reason", "record", "source").show(
        args.limit, truncate=False
    )
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from campaign_revenue.query import describe_query, parse_query, sample_labels
    from campaign_revenue.query.snapshots import read_silver_tables
    from campaign_revenue.tables import Lakehouse

    cfg = _load(args)
    query = parse_query(args.query or cfg.query)
    print(describe_query(query))
    if not args.no_sample:
        spark = _spark(cfg, "query")
        tables = read_silver_tables(
            Lakehouse(spark, cfg.lakehouse), [query.entity_table, query.fact_table]
        )
        print(sample_labels(spark, query, tables, n=args.limit).to_string(index=False))
    return 0


def cmd_snapshots(args: argparse.Namespace) -> int:
    from campaign_revenue.query.snapshots import run_snapshots
    from campaign_revenue.tables import Lakehouse

    cfg = _load(args)
    spark = _spark(cfg, "snapshots")
    summary = run_snapshots(spark, cfg, Lakehouse(spark, cfg.lakehouse), args.query)
    print(summary)
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from campaign_revenue.graph.run import run_graph
    from campaign_revenue.tables import Lakehouse

    cfg = _load(args)
    spark = _spark(cfg, "graph")
    print(run_graph(spark, cfg, Lakehouse(spark, cfg.lakehouse), as_of=args.as_of))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from campaign_revenue.model.train import run_train
    from campaign_revenue.tables import Lakehouse

    cfg = _load(args)
    spark = _spark(cfg, "train")
    print(run_train(spark, cfg, Lakehouse(spark, cfg.lakehouse)))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from campaign_revenue.scoring import run_score
    from campaign_revenue.tables import Lakehouse

    cfg = _load(args)
    spark = _spark(cfg, "score")
    print(run_score(spark, cfg, Lakehouse(spark, cfg.lakehouse), as_of=args.as_of))
    return 0


def cmd_allocate(args: argparse.Namespace) -> int:
    from campaign_revenue.incrementality import run_allocate
    from campaign_revenue.tables import Lakehouse

    cfg = _load(args)
    spark = _spark(cfg, "allocate")
    summary = run_allocate(
        spark,
        cfg,
        Lakehouse(spark, cfg.lakehouse),
        as_of=args.as_of,
        total_budget=args.total_budget,
    )
    print(summary)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from campaign_revenue.evaluation.backtest import run_backtest
    from campaign_revenue.tables import Lakehouse

    cfg = _load(args)
    spark = _spark(cfg, "evaluate")
    lakehouse = Lakehouse(spark, cfg.lakehouse)
    if args.truth:
        # incrementality and the allocation against the simulator's truth:
        # reads what `allocate` wrote, re-simulates the plans
        from campaign_revenue.incrementality.evaluate import incrementality_vs_truth

        print(incrementality_vs_truth(spark, cfg, lakehouse, args.truth).table())
        if not args.methods:
            return 0
    methods = args.methods.split(",") if args.methods else None
    result = run_backtest(spark, cfg, lakehouse, methods)
    print(result.table())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from campaign_revenue.report import run_report
    from campaign_revenue.tables import Lakehouse

    cfg = _load(args)
    spark = _spark(cfg, "report")
    summary = run_report(
        spark,
        cfg,
        Lakehouse(spark, cfg.lakehouse),
        as_of=args.as_of,
        out=args.out,
        top=args.top,
    )
    print(summary)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The pipeline end to end on the simulator's data, each step timed.

    generate, ingest, snapshots, graph, train, score: the same functions the
    single-step commands call, in one Spark session, ending with where the
    gold tables a BI tool reads are.
    """
    from campaign_revenue.graph.run import run_graph
    from campaign_revenue.ingest import ingest
    from campaign_revenue.model.train import run_train
    from campaign_revenue.query.snapshots import run_snapshots
    from campaign_revenue.scoring import run_score
    from campaign_revenue.simulate import generate
    from campaign_revenue.tables import Lakehouse

    started = time.perf_counter()
    cfg = _load(args)
    data = Path(args.out or Path(cfg.lakehouse.root) / "_input" / args.preset)
    steps = ["generate", "ingest", "snapshots", "graph", "train", "score"]
    timings: list[tuple[str, float]] = []

    def step(i: int, detail: str, run: Callable[[], object]) -> object:
        _progress(i, steps, detail)
        t0 = time.perf_counter()
        result = run()
        print(result, flush=True)
        timings.append((steps[i - 1], time.perf_counter() - t0))
        return result

    step(
        1,
        f"preset={args.preset} out={data}",
        lambda: generate(out=data, preset=args.preset, seed=args.seed),
    )
    spark = _spark(cfg, "demo")
    lh = Lakehouse(spark, cfg.lakehouse)
    # The simulator's data ends in the past: the clock is today.
    step(2, f"source={data}", lambda: ingest(spark, cfg, str(data)))
    step(3, cfg.query, lambda: run_snapshots(spark, cfg, lh))
    step(4, "edge lists and campaign features", lambda: run_graph(spark, cfg, lh))
    workers = f"graph model with Ray Train, {cfg.ray.num_workers} workers"
    step(5, workers, lambda: run_train(spark, cfg, lh))
    scored = step(6, "champion forecasts, reasons", lambda: run_score(spark, cfg, lh))
    print("seconds per step: " + ", ".join(f"{n} {s:.0f}" for n, s in timings))
    print(
        f"demo done in {time.perf_counter() - started:.0f} s. Gold tables for BI "
        f"(as of {scored.as_of}):"
    )
    for name in ("gold.campaign_predictions", "gold.prediction_attributions"):
        print(f"  {name}: {lh.location(name)}")
    print(f"  MLflow runs and registry: {cfg.mlflow.tracking_uri}")
    return 0


def _progress(i: int, steps: list[str], detail: str) -> None:
    print(f"[{i}/{len(steps)}] {steps[i - 1]}: {detail}", flush=True)


# -- parser -------------------------------------------------------------------------

STEPS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "generate": (cmd_generate, "write a simulated dataset with ground truth"),
    "adapt": (cmd_adapt, "map a public dataset onto the input contract"),
    "ingest": (cmd_ingest, "validate input files into silver tables"),
    "quarantine": (cmd_quarantine, "show rejected rows and their reasons"),
    "query": (cmd_query, "parse a predictive query and show sample labels"),
    "snapshots": (cmd_snapshots, "build labelled, time-split training examples"),
    "graph": (cmd_graph, "edge lists and point-in-time campaign features"),
    "train": (cmd_train, "train the graph model with Ray Train; register in MLflow"),
    "score": (cmd_score, "forecasts, intervals and reasons for BI, as of a date"),
    "allocate": (cmd_allocate, "split the same budget for more incremental revenue"),
    "evaluate": (cmd_evaluate, "rolling-origin backtest of every method"),
    "report": (cmd_report, "one self-contained HTML page of charts for people"),
    "demo": (cmd_demo, "run the pipeline end to end on simulated data"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="campaign-revenue",
        description="30-day campaign revenue, incrementality and budget moves.",
    )
    sub = parser.add_subparsers(dest="step", required=True, metavar="STEP")
    for name, (func, help_text) in STEPS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p)
        p.set_defaults(func=func)
        if name in ("generate", "demo"):
            p.add_argument(
                "--preset", default="tiny" if name == "generate" else "demo"
            )
            p.add_argument("--seed", type=int, default=0)
            p.add_argument("--out", required=name == "generate", default=None)
        if name == "generate":
            p.add_argument(
                "--bad-rows",
                type=float,
                default=0.0,
                help="share of rows per leaf table to corrupt (listed in truth)",
            )
        if name == "adapt":
            p.add_argument("dataset", help="completejourney")
            p.add_argument("--source", required=True, help="the dataset's folder")
            p.add_argument("--out", required=True, help="where the input files go")
        if name == "ingest":
            p.add_argument(
                "--source",
                required=True,
                help="directory of input files/Delta folders, or a catalog prefix",
            )
            p.add_argument(
                "--as-of",
                type=_date,
                default=None,
                help="the run's clock (default: now); later event times are rejected",
            )
        if name == "score":
            p.add_argument(
                "--as-of",
                type=_date,
                default=None,
                help="default: the day after the latest input timestamp",
            )
        if name == "allocate":
            p.add_argument("--as-of", type=_date, default=None)
            p.add_argument(
                "--total-budget",
                type=float,
                default=None,
                help="30-day total to split (default: the current plan's total)",
            )
        if name == "graph":
            p.add_argument(
                "--as-of",
                type=_date,
                default=None,
                help="build features for campaigns eligible at this date only",
            )
        if name == "quarantine":
            p.add_argument("--table", default=None)
            p.add_argument("--limit", type=int, default=20)
        if name == "query":
            p.add_argument("query", nargs="?", default=None)
            p.add_argument("--limit", type=int, default=10)
            p.add_argument("--no-sample", action="store_true")
        if name == "snapshots":
            p.add_argument("--query", default=None)
        if name == "report":
            p.add_argument(
                "--as-of",
                type=_date,
                default=None,
                help="default: the latest as_of_date in gold.campaign_predictions",
            )
            p.add_argument(
                "--out",
                default=None,
                help="the HTML file, or a folder for report_<as_of>.html; default "
                "<lakehouse.root>/reports/report_<as_of>.html",
            )
            p.add_argument(
                "--top",
                type=int,
                default=None,
                help="campaigns per list and chart (default 15): largest spend, "
                "budget change, forecast",
            )
        if name == "evaluate":
            p.add_argument(
                "--truth",
                default=None,
                help="a folder `generate` wrote: score gold.incrementality and "
                "gold.budget_allocations against its truth instead of the "
                "backtest (add --methods to run both)",
            )
            p.add_argument(
                "--methods",
                default=None,
                help="comma-separated method names (default: backtest.methods)",
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one step; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging()
    from campaign_revenue.spark import JavaMissingError

    from campaign_revenue.tables import write_count, writes_since

    mark, started = write_count(), time.perf_counter()
    try:
        code = args.func(args)
        writes = writes_since(mark)
        rows = sum(w.inserted + w.updated for w in writes)
        tables = len({w.table for w in writes})
        seconds = time.perf_counter() - started
        # steps that write files, not tables (generate, adapt, report) say so
        # in their own summary; this line counts lakehouse writes only
        wrote = f": {rows:,} rows written to {tables} tables" if writes else ""
        print(f"{args.step} finished{wrote} in {seconds:.0f} s", flush=True)
        return code
    except JavaMissingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, LookupError) as err:
        # Input errors (IngestError, QueryError, ...) carry a message to act on.
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
