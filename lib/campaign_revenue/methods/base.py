"""The interface every competing method implements, and the helpers they share.

A method is fitted on labelled examples and predicts the 30-day platform-credited
revenue of (campaign_id, as_of_date) snapshots, reading the silver tables point in
time: nothing dated at or after an as_of date enters its prediction.

Example:
    >>> m = get_method("persistence").fit(train, ctx)  # doctest: +SKIP
    >>> m.predict(snapshots, ctx).show()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from campaign_revenue import planning
from campaign_revenue.config import BacktestConfig

PREDICTION_COLUMNS = ("campaign_id", "as_of_date", "prediction", "lower", "upper")
REQUIRED_TABLES = ("campaigns", "conversions", "spend_daily")


@dataclass
class MethodContext:
    """What a method may read besides its examples.

    Attributes:
        tables: silver tables by name without layer (``conversions``); the
            optional ones (``spend_plan``, ``touchpoints``) may be missing.
        features: ``features.campaign_snapshots`` or None when not built.
        horizon_days: the label window length in days.
        config: method settings (lookbacks, half-life, seeds).
    """

    tables: dict[str, DataFrame]
    features: DataFrame | None = None
    horizon_days: int = 30
    config: BacktestConfig = field(default_factory=BacktestConfig)

    def __post_init__(self) -> None:
        missing = [t for t in REQUIRED_TABLES if t not in self.tables]
        if missing:
            raise ValueError(
                f"MethodContext.tables lacks {', '.join(missing)}; "
                f"required: {', '.join(REQUIRED_TABLES)}"
            )

    def table(self, name: str) -> DataFrame:
        """The silver table ``name``.

        Raises:
            ValueError: if the context does not hold it.
        """
        if name not in self.tables:
            raise ValueError(
                f"method needs silver table {name!r}; context holds "
                f"{', '.join(sorted(self.tables))}"
            )
        return self.tables[name]


class Method:
    """Base class: ``fit`` on labelled examples, ``predict`` snapshots.

    Subclasses set ``name`` and ``gives_intervals`` and override ``predict``
    (and ``fit`` when they learn from labels).
    """

    name: str = "method"
    gives_intervals: bool = False

    def fit(self, train: DataFrame, ctx: MethodContext) -> Method:
        """Learn from ``train`` (campaign_id, as_of_date, label, is_launched).

        Args:
            train: labelled examples whose label windows closed before the
                origin being predicted.
            ctx: tables, features and settings.

        Returns:
            self, fitted.
        """
        return self

    def predict(self, snapshots: DataFrame, ctx: MethodContext) -> DataFrame:
        """Predict (campaign_id, as_of_date, prediction, lower, upper).

        Args:
            snapshots: (campaign_id, as_of_date[, is_launched]) to predict.
            ctx: tables, features and settings.

        Returns:
            One row per snapshot; lower and upper are null without an interval.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def snapshot_pairs(snapshots: DataFrame) -> DataFrame:
    """The distinct (campaign_id, as_of_date) pairs of ``snapshots``."""
    return snapshots.select(
        "campaign_id", F.col("as_of_date").cast("date").alias("as_of_date")
    ).distinct()


def as_predictions(df: DataFrame, value: str = "prediction") -> DataFrame:
    """Shape ``df`` to the prediction columns, intervals null unless present."""
    lower = F.col("lower") if "lower" in df.columns else F.lit(None)
    upper = F.col("upper") if "upper" in df.columns else F.lit(None)
    return df.select(
        "campaign_id",
        "as_of_date",
        F.coalesce(F.col(value).cast("double"), F.lit(0.0)).alias("prediction"),
        lower.cast("double").alias("lower"),
        upper.cast("double").alias("upper"),
    )


def window_planned_spend(pairs: DataFrame, ctx: MethodContext) -> DataFrame:
    """Planned spend of each pair over [as_of, as_of + horizon).

    Every method calls this, and this calls ``planning.planned_spend``: the
    one definition of planned spend.
    """
    return planning.planned_spend(
        ctx.table("campaigns"),
        ctx.table("spend_daily"),
        ctx.tables.get("spend_plan"),
        pairs,
        horizon_days=ctx.horizon_days,
    ).select("campaign_id", "as_of_date", "planned_spend")


def in_lookback(date_col: str, as_of_col: str, days: int):
    """``date`` in [as_of - days, as_of): the point-in-time history window."""
    return (F.col(date_col) < F.col(as_of_col)) & (
        F.col(date_col) >= F.date_sub(F.col(as_of_col), days)
    )


def daily_attributed_revenue(conversions: DataFrame) -> DataFrame:
    """Platform-credited revenue per (campaign_id, date); ts read in UTC."""
    return (
        conversions.where(F.col("campaign_id").isNotNull())
        .groupBy("campaign_id", F.to_date("ts").alias("date"))
        .agg(F.sum("revenue").alias("revenue"))
    )
