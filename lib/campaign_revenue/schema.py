"""Table contracts: every table's columns, key, foreign keys and time column.

Each table is declared once here; ingestion, validation, the query parser and the
writers read these declarations instead of repeating column lists.

Example:
    >>> from campaign_revenue.schema import INPUT_TABLES
    >>> INPUT_TABLES["conversions"].key
    ('conversion_id',)
"""

from __future__ import annotations

from dataclasses import dataclass

# Spark simple type strings used in the declarations below.
SPARK_TYPES = ("string", "double", "long", "date", "timestamp", "boolean")


@dataclass(frozen=True)
class Column:
    """One declared column.

    Attributes:
        name: lower snake case column name.
        dtype: Spark simple type string (one of ``SPARK_TYPES``).
        required: whether an input file must carry the column.
        nullable: whether a null value is accepted.
        description: one line for table comments and docs.
    """

    name: str
    dtype: str
    required: bool = True
    nullable: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        assert self.dtype in SPARK_TYPES, self.dtype


@dataclass(frozen=True)
class ForeignKey:
    """``column`` must exist as ``ref_table.ref_column`` (nulls pass)."""

    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class TableSpec:
    """A table's declaration.

    Attributes:
        name: logical name without layer (``campaigns``).
        columns: declared columns in order.
        key: primary key columns.
        foreign_keys: references to other tables.
        time_column: the column that places a row in time, if any.
        optional: whether an input dataset may omit the table.
        non_negative: numeric columns that must be >= 0.
        description: table comment.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    time_column: str | None = None
    optional: bool = False
    non_negative: tuple[str, ...] = ()
    # Columns that record events, so no value may lie after the run's clock
    # (planned dates such as spend_plan.date or campaigns.end_date may).
    not_after_clock: tuple[str, ...] = ()
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    def ddl(self) -> str:
        """Spark DDL string of the declared columns."""
        return ", ".join(f"{c.name} {c.dtype}" for c in self.columns)


def _c(name: str, dtype: str, **kw: object) -> Column:
    return Column(name, dtype, **kw)  # type: ignore[arg-type]


CAMPAIGNS = TableSpec(
    name="campaigns",
    columns=(
        _c("campaign_id", "string", description="campaign key"),
        _c("campaign_name", "string", nullable=True),
        _c("channel", "string", description="display, paid_search, social, ..."),
        _c(
            "budget",
            "double",
            description="flight total when end_date is set, else per month",
        ),
        _c("start_date", "date"),
        _c("end_date", "date", nullable=True, description="null: ongoing"),
        _c(
            "targeting",
            "string",
            required=False,
            nullable=True,
            description="retargeting, prospecting, lookalike, brand, crm, ...",
        ),
    ),
    key=("campaign_id",),
    time_column="start_date",
    non_negative=("budget",),
    description="Campaigns with channel, budget, flight dates and targeting.",
)

CUSTOMERS = TableSpec(
    name="customers",
    columns=(
        _c("customer_id", "string"),
        _c("segment", "string", nullable=True),
        _c("ltv_tier", "string", nullable=True),
        _c("signup_date", "date"),
    ),
    key=("customer_id",),
    time_column="signup_date",
    not_after_clock=("signup_date",),
    description="Customers with segment, lifetime-value tier and signup date.",
)

TOUCHPOINTS = TableSpec(
    name="touchpoints",
    columns=(
        _c("touchpoint_id", "string"),
        _c("customer_id", "string"),
        _c("campaign_id", "string"),
        _c("event_type", "string", description="impression, click, open, ..."),
        _c("ts", "timestamp"),
    ),
    key=("touchpoint_id",),
    foreign_keys=(
        ForeignKey("customer_id", "customers", "customer_id"),
        ForeignKey("campaign_id", "campaigns", "campaign_id"),
    ),
    time_column="ts",
    not_after_clock=("ts",),
    description="One row per ad event a customer had with a campaign.",
)

CONVERSIONS = TableSpec(
    name="conversions",
    columns=(
        _c("conversion_id", "string"),
        _c("customer_id", "string"),
        _c(
            "campaign_id",
            "string",
            nullable=True,
            description="platform's last-touch credit; null: not attributed",
        ),
        _c("revenue", "double"),
        _c("ts", "timestamp"),
    ),
    key=("conversion_id",),
    foreign_keys=(
        ForeignKey("customer_id", "customers", "customer_id"),
        ForeignKey("campaign_id", "campaigns", "campaign_id"),
    ),
    time_column="ts",
    not_after_clock=("ts",),
    non_negative=("revenue",),
    description="Purchases with revenue and the platform's last-touch credit.",
)

SPEND_DAILY = TableSpec(
    name="spend_daily",
    columns=(
        _c("campaign_id", "string"),
        _c("date", "date"),
        _c("spend", "double"),
        _c("impressions", "long", required=False, nullable=True),
        _c("clicks", "long", required=False, nullable=True),
    ),
    key=("campaign_id", "date"),
    foreign_keys=(ForeignKey("campaign_id", "campaigns", "campaign_id"),),
    time_column="date",
    not_after_clock=("date",),
    non_negative=("spend", "impressions", "clicks"),
    description="Daily spend, impressions and clicks per campaign.",
)

CAMPAIGN_AUDIENCES = TableSpec(
    name="campaign_audiences",
    columns=(
        _c("campaign_id", "string"),
        _c("customer_id", "string"),
        _c("assigned_date", "date"),
        _c("is_holdout", "boolean"),
    ),
    key=("campaign_id", "customer_id"),
    foreign_keys=(
        ForeignKey("campaign_id", "campaigns", "campaign_id"),
        ForeignKey("customer_id", "customers", "customer_id"),
    ),
    time_column="assigned_date",
    not_after_clock=("assigned_date",),
    optional=True,
    description="Who each campaign targeted, with the randomized holdout.",
)

SPEND_PLAN = TableSpec(
    name="spend_plan",
    columns=(
        _c("campaign_id", "string"),
        _c("date", "date"),
        _c("planned_spend", "double"),
    ),
    key=("campaign_id", "date"),
    foreign_keys=(ForeignKey("campaign_id", "campaigns", "campaign_id"),),
    time_column="date",
    optional=True,
    non_negative=("planned_spend",),
    description="Planned spend per campaign and day.",
)

# Order matters: parents before the tables whose foreign keys point at them.
INPUT_TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        CAMPAIGNS,
        CUSTOMERS,
        TOUCHPOINTS,
        CONVERSIONS,
        SPEND_DAILY,
        CAMPAIGN_AUDIENCES,
        SPEND_PLAN,
    )
}

# Reasons a row goes to quarantine, in the order they are checked: a row is
# quarantined once, for the first reason that applies.
REJECT_REASONS = (
    "unparseable_value",
    "null_key",
    "null_required",
    "negative_value",
    "future_timestamp",
    "unknown_foreign_key",
    "conflicting_duplicate_key",
)

QUARANTINE = TableSpec(
    name="quarantine",
    columns=(
        _c("table_name", "string"),
        _c("record_hash", "string"),
        _c("reason", "string"),
        _c("detail", "string", nullable=True),
        _c("record", "string", description="the original row as JSON"),
        _c("source", "string"),
        _c("run_id", "string"),
        _c("quarantined_at", "timestamp"),
    ),
    key=("table_name", "record_hash", "reason"),
    description="Rejected input rows with the table, the reason and the record.",
)


def input_table(name: str) -> TableSpec:
    """The input-contract declaration of ``name``.

    Raises:
        ValueError: if ``name`` is not an input table.
    """
    try:
        return INPUT_TABLES[name]
    except KeyError:
        valid = ", ".join(INPUT_TABLES)
        raise ValueError(
            f"unknown input table {name!r}; valid tables: {valid}"
        ) from None


# -- gold: what BI tools read ---------------------------------------------------------

CAMPAIGN_PREDICTIONS = TableSpec(
    name="campaign_predictions",
    columns=(
        _c("campaign_id", "string", description="campaign key"),
        _c("as_of_date", "date", description="prediction date; window starts here"),
        _c("is_launched", "boolean", description="campaign had started by as_of"),
        _c(
            "predicted_revenue",
            "double",
            description="platform-credited revenue expected in [as_of, as_of+30d)",
        ),
        _c("revenue_lower", "double", description="interval lower bound"),
        _c("revenue_upper", "double", description="interval upper bound"),
        _c("interval_level", "double", description="interval coverage, e.g. 0.8"),
        _c(
            "predicted_incremental_revenue",
            "double",
            nullable=True,
            description="revenue that would not happen without the campaign",
        ),
        _c(
            "incremental_lower",
            "double",
            nullable=True,
            description="interval lower bound of the incremental revenue",
        ),
        _c(
            "incremental_upper",
            "double",
            nullable=True,
            description="interval upper bound of the incremental revenue",
        ),
        _c(
            "incremental_roas",
            "double",
            nullable=True,
            description="incremental revenue per unit of planned spend",
        ),
        _c(
            "last_touch_roas",
            "double",
            nullable=True,
            description="platform-credited revenue per spend, last 90 days",
        ),
        _c("planned_spend", "double", description="planned spend in the window"),
        _c("model_name", "string", description="registered model that scored"),
        _c("model_version", "string", description="its registry version"),
        _c("mlflow_run_id", "string", description="the MLflow run that trained it"),
        _c("scored_at", "timestamp", description="when the row was written (UTC)"),
    ),
    key=("campaign_id", "as_of_date"),
    description="Per campaign and day: 30-day revenue forecast with its interval, "
    "incremental revenue and both ROAS views.",
)

PREDICTION_ATTRIBUTIONS = TableSpec(
    name="prediction_attributions",
    columns=(
        _c("campaign_id", "string", description="campaign key"),
        _c("as_of_date", "date", description="date of the forecast explained"),
        _c("rank", "long", description="1 is the largest absolute attribution"),
        _c("feature", "string", description="feature name"),
        _c("description", "string", description="what the feature means"),
        _c(
            "feature_value",
            "double",
            nullable=True,
            description="the feature's value for this campaign and date",
        ),
        _c("display_value", "string", description="the value in plain words"),
        _c("direction", "string", description="raises or lowers the forecast"),
        _c("share", "double", description="|attribution| / sum of |attributions|"),
    ),
    key=("campaign_id", "as_of_date", "rank"),
    description="Top reasons behind each forecast, in plain words.",
)

BUDGET_ALLOCATIONS = TableSpec(
    name="budget_allocations",
    columns=(
        _c("campaign_id", "string", description="campaign key"),
        _c("as_of_date", "date", description="the 30-day window starts here"),
        _c("current_spend", "double", description="planned spend in the window"),
        _c(
            "recommended_spend",
            "double",
            description="spend in the window under the re-split of the same total",
        ),
        _c(
            "expected_incremental_revenue_current",
            "double",
            description="incremental revenue expected at the current spend",
        ),
        _c(
            "expected_incremental_revenue_recommended",
            "double",
            description="incremental revenue expected at the recommended spend",
        ),
    ),
    key=("campaign_id", "as_of_date"),
    description="Recommended 30-day spend per campaign under the same total.",
)

LIFT_MEASUREMENTS = TableSpec(
    name="lift_measurements",
    columns=(
        _c("campaign_id", "string", description="campaign key"),
        _c("window_start", "date", description="first day of the 30-day window"),
        _c("exposed_members", "long", description="audience members not held out"),
        _c("holdout_members", "long", description="randomly held-out members"),
        _c(
            "revenue_per_exposed",
            "double",
            description="revenue in the window per exposed member",
        ),
        _c(
            "revenue_per_holdout",
            "double",
            description="revenue in the window per holdout member",
        ),
        _c(
            "incremental_revenue",
            "double",
            description="(per exposed - per holdout) x exposed members",
        ),
        _c("se", "double", description="standard error of incremental_revenue"),
        _c("ci_lower", "double", description="95% confidence interval, lower"),
        _c("ci_upper", "double", description="95% confidence interval, upper"),
    ),
    key=("campaign_id", "window_start"),
    description="Incremental revenue measured on randomized holdouts.",
)

BACKTEST_METRICS = TableSpec(
    name="backtest_metrics",
    columns=(
        _c("run_id", "string", description="one backtest run"),
        _c("query", "string", description="the predictive query backtested"),
        _c("method", "string", description="forecasting method"),
        _c("as_of_date", "date", nullable=True, description="null: all origins"),
        _c("slice", "string", description="all, launched, not_launched, channel=x"),
        _c("metric", "string", description="wape, mae, rmse, r2, spearman, coverage"),
        _c("value", "double", nullable=True, description="the metric's value"),
        _c("n", "long", description="snapshots behind the value"),
    ),
    key=("run_id", "query", "method", "as_of_date", "slice", "metric"),
    description="Rolling-origin backtest of every method, side by side.",
)

INCREMENTALITY = TableSpec(
    name="incrementality",
    columns=(
        _c("campaign_id", "string", description="campaign key"),
        _c("as_of_date", "date", description="the 30-day window starts here"),
        _c(
            "predicted_incremental_revenue",
            "double",
            description="revenue in the window that would not happen without it",
        ),
        _c("incremental_lower", "double", description="interval lower bound"),
        _c("incremental_upper", "double", description="interval upper bound"),
        _c(
            "incremental_roas",
            "double",
            description="incremental revenue per unit of planned spend",
        ),
        _c("channel", "string", description="the campaign's channel"),
        _c("targeting", "string", description="the campaign's targeting type"),
        _c("planned_spend", "double", description="planned spend in the window"),
        _c(
            "prior_roas",
            "double",
            description="model estimate of incremental ROAS before calibration",
        ),
        _c(
            "measured_roas",
            "double",
            description="incremental ROAS measured on holdouts, if any",
        ),
        _c("measured_se", "double", description="standard error of the measurement"),
        _c(
            "roas_source",
            "string",
            description="where the prior ROAS came from: the campaign's own "
            "history, else pooled by targeting, channel or all",
        ),
    ),
    key=("campaign_id", "as_of_date"),
    description="Incremental revenue per campaign and date, calibrated on "
    "holdout lift where measured.",
)

RESPONSE_CURVES = TableSpec(
    name="response_curves",
    columns=(
        _c("campaign_id", "string", description="campaign key"),
        _c("as_of_date", "date", description="the 30-day window starts here"),
        _c(
            "spend_multiplier",
            "double",
            description="spend as a multiple of the current plan",
        ),
        _c("spend", "double", description="spend in the window at that multiple"),
        _c(
            "expected_incremental_revenue",
            "double",
            description="incremental revenue expected at that spend",
        ),
        _c("lower", "double", description="interval lower bound"),
        _c("upper", "double", description="interval upper bound"),
    ),
    key=("campaign_id", "as_of_date", "spend_multiplier"),
    description="Incremental revenue as a function of spend, per campaign: "
    "monotone and concave.",
)

RECOMMENDED_SPEND_PLAN = TableSpec(
    name="recommended_spend_plan",
    columns=(
        _c("campaign_id", "string", description="campaign key"),
        _c("date", "date", description="day of spend"),
        _c("planned_spend", "double", description="recommended spend that day"),
        _c("as_of_date", "date", description="allocation run that recommended it"),
    ),
    key=("campaign_id", "date"),
    description="The recommended allocation as a daily spend plan, in the "
    "spend_plan input's shape, for what-if scoring.",
)

GOLD_TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        CAMPAIGN_PREDICTIONS,
        PREDICTION_ATTRIBUTIONS,
        BUDGET_ALLOCATIONS,
        LIFT_MEASUREMENTS,
        BACKTEST_METRICS,
        INCREMENTALITY,
        RESPONSE_CURVES,
        RECOMMENDED_SPEND_PLAN,
    )
}
