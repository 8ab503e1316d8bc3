"""Rolling-origin backtest of every method on the same labelled snapshots.

At each origin every method is fitted only on examples whose label window closed
by the origin (as_of_date + horizon <= origin) and predicts the examples dated
at the origin. Metrics per method, origin and slice go to ``gold.backtest_metrics``
(rows with a null as_of_date pool all origins) and to one MLflow run per method.

Example:
    >>> result = run_backtest(spark, cfg, lakehouse, ["persistence"])  # doctest: +SKIP
    >>> print(result.table())  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from campaign_revenue.config import BacktestConfig, Config
from campaign_revenue.evaluation.metrics import all_metrics, spearman
from campaign_revenue.methods import ATTRIBUTION_METHODS, Method, get_method
from campaign_revenue.methods.base import MethodContext, snapshot_pairs
from campaign_revenue.methods.roas import RoasMethod
from campaign_revenue.schema import INPUT_TABLES
from campaign_revenue.tables import Lakehouse

log = logging.getLogger(__name__)

BACKTEST_METRICS = "gold.backtest_metrics"
BACKTEST_KEY = ["run_id", "query", "method", "as_of_date", "slice", "metric"]
GOLD_SCHEMA = (
    "run_id string, query string, method string, as_of_date date, slice string, "
    "metric string, value double, n long"
)
SILVER = tuple(INPUT_TABLES)
SUMMARY_METRICS = ("wape", "mae", "rmse", "r2", "spearman", "coverage")


@dataclass
class BacktestResult:
    """What a backtest measured.

    Attributes:
        run_id: the id shared by its gold rows and MLflow runs.
        origins: the origins, in order.
        metrics: long rows as written to ``gold.backtest_metrics``.
        predictions: one row per method, origin and campaign with the label.
        mlflow_runs: MLflow run id per method (empty when not logged).
    """

    run_id: str
    origins: list[dt.date]
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    mlflow_runs: dict[str, str] = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        """Pooled metrics over all origins, slice ``all``, ordered by WAPE."""
        pooled = self.metrics[
            self.metrics["as_of_date"].isna() & (self.metrics["slice"] == "all")
        ]
        table = pooled.pivot_table(
            index="method", columns="metric", values="value", aggfunc="first"
        )
        table["n"] = pooled.groupby("method")["n"].max()
        cols = [c for c in SUMMARY_METRICS if c in table.columns] + ["n"]
        return table[cols].sort_values("wape", na_position="last")

    def table(self) -> str:
        """The summary as fixed-width text."""
        return self.summary.to_string(float_format=lambda v: f"{v:.3f}")


def choose_origins(
    complete_dates: list[dt.date], cfg: BacktestConfig
) -> list[dt.date]:
    """Backtest origins: the configured dates, else ``origins`` dates.

    Without configured dates, the last complete as_of date is the last origin
    and each earlier one is the latest complete date at least ``step_days``
    before the next.

    Raises:
        ValueError: if no date is available or a configured date has no examples.
    """
    dates = sorted(set(complete_dates))
    if not dates:
        raise ValueError("no as_of date has a complete label window to backtest on")
    if cfg.as_of_dates:
        missing = [d for d in cfg.as_of_dates if d not in dates]
        if missing:
            raise ValueError(
                f"backtest.as_of_dates {missing} have no complete examples; "
                f"available from {dates[0]} to {dates[-1]}"
            )
        return sorted(cfg.as_of_dates)
    out = [dates[-1]]
    while len(out) < cfg.origins:
        limit = out[-1] - dt.timedelta(days=cfg.step_days)
        earlier = [d for d in dates if d <= limit]
        if not earlier:
            break
        out.append(earlier[-1])
    return sorted(out)


def origin_split(
    examples: DataFrame, origin: dt.date, horizon_days: int
) -> tuple[DataFrame, DataFrame]:
    """Training examples closed by ``origin`` and the examples at ``origin``."""
    labelled = examples.where(F.col("label").isNotNull())
    train = labelled.where(
        F.date_add(F.col("as_of_date"), horizon_days) <= F.lit(origin)
    )
    test = labelled.where(F.col("as_of_date") == F.lit(origin))
    return train, test


def _learns(method: Method) -> bool:
    return type(method).fit is not Method.fit


def method_settings(cfg: Config) -> dict[str, dict[str, object]]:
    """Constructor settings per method name from the run configuration.

    The graph method trains with the run's ``model`` and ``training``
    sections, as ``campaign-revenue train`` does.
    """
    return {"graph": {"model": cfg.model, "training": cfg.training}}


def backtest_predictions(
    examples: DataFrame,
    ctx: MethodContext,
    methods: list[str],
    origins: list[dt.date],
    settings: dict[str, dict[str, object]] | None = None,
) -> pd.DataFrame:
    """Fit and predict every method at every origin.

    Args:
        examples: campaign_id, as_of_date, label, is_launched.
        ctx: tables, features and settings.
        methods: method names.
        origins: the origins.
        settings: constructor keywords per method name (``method_settings``).

    Returns:
        (method, as_of_date, campaign_id, label, prediction, lower, upper,
        is_launched, channel); one row per method and test example.
    """
    channels = ctx.table("campaigns").select("campaign_id", "channel")
    frames = []
    for origin in origins:
        train, test = origin_split(examples, origin, ctx.horizon_days)
        train = train.cache()
        n_train = train.count()
        # Hand-off: the examples at one origin, O(campaigns).
        truth = (
            test.select("campaign_id", "as_of_date", "label", "is_launched")
            .join(channels, "campaign_id", "left")
            .toPandas()
        )
        for name in methods:
            method = get_method(name, **(settings or {}).get(name, {}))
            if _learns(method) and n_train == 0:
                log.warning(
                    "backtest origin=%s method=%s skipped=no_training", origin, name
                )
                continue
            started = time.perf_counter()
            method.fit(train, ctx)
            pred = method.predict(test, ctx).toPandas()
            got = truth.merge(
                pred.drop(columns="as_of_date"), on="campaign_id", how="left"
            )
            got.insert(0, "method", name)
            frames.append(got)
            log.info(
                "backtest origin=%s method=%s train=%d test=%d seconds=%.1f",
                origin,
                name,
                n_train,
                len(got),
                time.perf_counter() - started,
            )
        train.unpersist()
    if not frames:
        return pd.DataFrame(
            columns=[
                "method", "campaign_id", "as_of_date", "label", "is_launched",
                "channel", "prediction", "lower", "upper",
            ]
        )
    return pd.concat(frames, ignore_index=True)


def _slices(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    launched = frame["is_launched"].fillna(False).astype(bool)
    out = [
        ("all", frame),
        ("launched", frame[launched]),
        ("not_launched", frame[~launched]),
    ]
    for ch, g in frame.groupby(frame["channel"].fillna("unknown")):
        out.append((f"channel={ch}", g))
    return out


def slice_metrics(predictions: pd.DataFrame) -> pd.DataFrame:
    """Metrics per method, origin (and pooled: as_of_date None) and slice.

    Returns:
        (method, as_of_date, slice, metric, value, n); empty slices are skipped.
    """
    rows = []
    for method, by_method in predictions.groupby("method", sort=True):
        groups = [(d, g) for d, g in by_method.groupby("as_of_date")]
        for as_of, frame in [*groups, (None, by_method)]:
            for name, part in _slices(frame):
                if part.empty:
                    continue
                y = part["label"].to_numpy(float)
                p = part["prediction"].fillna(0.0).to_numpy(float)
                lo = part["lower"].to_numpy(float)
                hi = part["upper"].to_numpy(float)
                for metric, value in all_metrics(y, p, lo, hi).items():
                    rows.append((method, as_of, name, metric, value, len(part)))
    return pd.DataFrame(
        rows, columns=["method", "as_of_date", "slice", "metric", "value", "n"]
    )


def write_metrics(
    spark: SparkSession,
    lakehouse: Lakehouse,
    metrics: pd.DataFrame,
    run_id: str,
    query: str,
) -> None:
    """MERGE the metric rows into ``gold.backtest_metrics`` (idempotent)."""
    rows = [
        (
            run_id,
            query,
            r.method,
            None if pd.isna(r.as_of_date) else r.as_of_date,
            r.slice,
            r.metric,
            None if np.isnan(r.value) else float(r.value),
            int(r.n),
        )
        for r in metrics.itertuples(index=False)
    ]
    df = spark.createDataFrame(rows, GOLD_SCHEMA)
    lakehouse.merge(df, BACKTEST_METRICS, key=BACKTEST_KEY)


def _require_mlflow():
    try:
        import mlflow
    except ImportError:
        raise RuntimeError(
            "mlflow is not installed; install campaign-revenue[ml] or set "
            "backtest.log_mlflow=false"
        ) from None
    return mlflow


def log_runs(
    cfg: Config, metrics: pd.DataFrame, run_id: str, origins: list[dt.date]
) -> dict[str, str]:
    """One MLflow run per method: parameters and pooled metrics.

    Raises:
        RuntimeError: if mlflow is not installed.
    """
    mlflow = _require_mlflow()
    mlflow.set_tracking_uri(cfg.mlflow.tracking_uri)
    mlflow.set_experiment(cfg.mlflow.experiment)
    pooled = metrics[metrics["as_of_date"].isna()]
    runs = {}
    for method, g in pooled.groupby("method"):
        with mlflow.start_run(run_name=f"backtest-{method}") as run:
            mlflow.set_tags({"step": "backtest", "backtest_run_id": run_id})
            mlflow.log_params({
                "method": method,
                "origins": ",".join(str(o) for o in origins),
                "n_origins": len(origins),
                "query": cfg.query,
            })
            values = {
                f"{r.slice}_{r.metric}" if r.slice != "all" else r.metric: r.value
                for r in g.itertuples(index=False)
                if r.slice in ("all", "launched", "not_launched")
                and not np.isnan(r.value)
            }
            mlflow.log_metrics(values)
            runs[method] = run.info.run_id
    return runs


def method_context(
    lakehouse: Lakehouse, cfg: Config, features: bool = True
) -> MethodContext:
    """Silver tables (cached) and the snapshot features when they exist."""
    tables = {
        name: lakehouse.read(f"silver.{name}").cache()
        for name in SILVER
        if lakehouse.exists(f"silver.{name}")
    }
    feats = None
    if features and lakehouse.exists("features.campaign_snapshots"):
        feats = lakehouse.read("features.campaign_snapshots")
    return MethodContext(
        tables=tables,
        features=feats,
        horizon_days=cfg.backtest.horizon_days,
        config=cfg.backtest,
    )


def run_backtest(
    spark: SparkSession,
    cfg: Config,
    lakehouse: Lakehouse,
    methods: list[str] | None = None,
    run_id: str | None = None,
) -> BacktestResult:
    """Backtest ``methods`` (default: ``cfg.backtest.methods``) and record it.

    Args:
        spark: the session.
        cfg: run configuration (``backtest`` section, query, MLflow).
        lakehouse: where ``features.training_examples`` and ``silver.*`` live.
        methods: method names; None for the configured list.
        run_id: reuse an id to replace an earlier run's rows.

    Returns:
        The metrics, the predictions and the MLflow run ids.
    """
    started = time.perf_counter()
    names = list(methods or cfg.backtest.methods)
    for name in names:
        get_method(name)  # fail early on an unknown name
    run_id = run_id or uuid.uuid4().hex[:12]
    examples = lakehouse.read("features.training_examples")
    if "label_complete" in examples.columns:
        examples = examples.where(F.col("label_complete"))
    examples = examples.where(F.col("label").isNotNull()).cache()
    dates = [r[0] for r in examples.select("as_of_date").distinct().collect()]
    origins = choose_origins(dates, cfg.backtest)
    ctx = method_context(lakehouse, cfg)
    log.info(
        "backtest start run_id=%s methods=%s origins=%s features=%s",
        run_id,
        ",".join(names),
        ",".join(str(o) for o in origins),
        ctx.features is not None,
    )
    predictions = backtest_predictions(
        examples, ctx, names, origins, method_settings(cfg)
    )
    metrics = slice_metrics(predictions)
    write_metrics(spark, lakehouse, metrics, run_id, cfg.query)
    runs = log_runs(cfg, metrics, run_id, origins) if cfg.backtest.log_mlflow else {}
    result = BacktestResult(run_id, origins, metrics, predictions, runs)
    log.info(
        "backtest done run_id=%s rows=%d seconds=%.1f",
        run_id,
        len(metrics),
        time.perf_counter() - started,
    )
    print(result.table())
    return result


def attribution_vs_truth(
    ctx: MethodContext,
    truth_windows: pd.DataFrame,
    methods: tuple[str, ...] | list[str] = ATTRIBUTION_METHODS,
) -> pd.DataFrame:
    """Rank agreement of each attribution ROAS with the true incremental ROAS.

    The true incremental ROAS of a (campaign, as_of) is the simulator's
    ``incremental_revenue`` over [as_of, as_of + horizon) divided by the spend
    of those days. A method's ROAS is its point-in-time ROAS from the
    campaign's own history (fallbacks to channel averages are left out).

    Args:
        ctx: tables and settings.
        truth_windows: ``truth/campaign_windows`` (campaign_id, as_of_date,
            incremental_revenue).
        methods: attribution method names.

    Returns:
        (method, group, spearman, n) with group ``all``, ``channel=<x>`` and
        ``targeting=<y>``.
    """
    spark = ctx.table("campaigns").sparkSession
    truth = truth_windows[["campaign_id", "as_of_date", "incremental_revenue"]].copy()
    truth["as_of_date"] = pd.to_datetime(truth["as_of_date"]).dt.date
    pairs = spark.createDataFrame(
        truth[["campaign_id", "as_of_date"]].astype({"campaign_id": str}),
        "campaign_id string, as_of_date date",
    )
    h = ctx.horizon_days
    window_spend = (
        pairs.join(ctx.table("spend_daily"), "campaign_id")
        .where(
            (F.col("date") >= F.col("as_of_date"))
            & (F.col("date") < F.date_add("as_of_date", h))
        )
        .groupBy("campaign_id", "as_of_date")
        .agg(F.sum("spend").alias("window_spend"))
    )
    campaigns = ctx.table("campaigns")
    targeting = (
        F.col("targeting") if "targeting" in campaigns.columns else F.lit("unknown")
    )
    meta = campaigns.select("campaign_id", "channel", targeting.alias("targeting"))
    # Hand-off: O(campaigns x as_of dates) rows.
    base = (
        pairs.join(window_spend, ["campaign_id", "as_of_date"])
        .join(meta, "campaign_id", "left")
        .toPandas()
        .merge(truth, on=["campaign_id", "as_of_date"])
    )
    base = base[base["window_spend"] > 0]
    base["true_roas"] = base["incremental_revenue"] / base["window_spend"]
    rows = []
    for name in methods:
        method = get_method(name)
        if not isinstance(method, RoasMethod):
            raise ValueError(f"{name!r} is not an attribution (ROAS) method")
        roas = method.roas(snapshot_pairs(pairs), ctx).toPandas()
        roas = roas[roas["roas_source"] == "campaign"]
        both = base.merge(roas, on=["campaign_id", "as_of_date"])
        groups = [("all", both)]
        groups += [(f"channel={k}", g) for k, g in both.groupby("channel")]
        groups += [
            (f"targeting={k}", g)
            for k, g in both.groupby(both["targeting"].fillna("unknown"))
        ]
        for group, g in groups:
            value = spearman(g["true_roas"].to_numpy(), g["roas"].to_numpy())
            rows.append((name, group, value, len(g)))
    return pd.DataFrame(rows, columns=["method", "group", "spearman", "n"])
