"""Run configuration: one validated object loaded from a YAML file per environment.

Example:
    >>> cfg = load_config("conf/local.yaml", ["lakehouse.root=/tmp/lh"])
    >>> cfg.lakehouse.root
    '/tmp/lh'
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_QUERY = (
    "PREDICT SUM(CONVERSIONS.REVENUE, 0, 30, days) FOR EACH CAMPAIGNS.CAMPAIGN_ID"
)


class ConfigError(ValueError):
    """A configuration file or override that cannot be used."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SparkConfig(_Section):
    """Spark session settings; ``conf`` is passed through to the builder."""

    master: str | None = "local[*]"
    app_name: str = "campaign-revenue"
    conf: dict[str, str] = Field(default_factory=dict)
    # JVM packages resolved by Ivy on first use (spark.jars.packages). Left empty
    # on Databricks, where the jars are attached as cluster libraries.
    packages: list[str] = Field(default_factory=list)
    # Packages used when the repository serves them (GraphFrames: the graph step
    # falls back to DataFrame joins without it, see graph/algorithms.py).
    optional_packages: list[str] = Field(default_factory=list)
    repository: str = "https://repo1.maven.org/maven2"
    # Resolve packages through spark.jars.packages (false: the runtime has them).
    resolve_packages: bool = True
    ivy_dir: str = "~/.cache/campaign-revenue/ivy"
    checkpoint_dir: str | None = None
    log_level: str = "WARN"

    @field_validator("conf", mode="before")
    @classmethod
    def _conf_as_strings(cls, value: Any) -> Any:
        # Spark settings are strings; YAML reads 8 or true as other types.
        if isinstance(value, dict):
            return {
                str(k): str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in value.items()
            }
        return value


class LakehouseConfig(_Section):
    """Where tables live: Delta folders under ``root`` or catalog tables."""

    root: str = "./lakehouse"
    # When set, a logical name ``layer.table`` maps to ``catalog.<schema>.table``
    # with the layer's schema from ``schemas`` (default: the layer's name).
    catalog: str | None = None
    schemas: dict[str, str] = Field(default_factory=dict)
    # Explicit overrides: logical name -> catalog table or path.
    tables: dict[str, str] = Field(default_factory=dict)


class MlflowConfig(_Section):
    tracking_uri: str = "sqlite:///./lakehouse/mlflow.db"
    registry_uri: str | None = None
    experiment: str = "campaign-revenue"
    registered_model: str = "campaign-revenue-gnn"


class RayConfig(_Section):
    address: str | None = None
    mode: Literal["local", "cluster", "spark"] = "local"
    num_workers: int = Field(2, ge=1)
    use_gpu: bool = False
    cpus_per_worker: float = Field(1.0, gt=0)
    # CPUs of the local cluster started when address is None.
    local_num_cpus: int = Field(2, ge=1)


class QualityConfig(_Section):
    max_bad_fraction: float = Field(0.05, ge=0.0, le=1.0)


class IngestConfig(_Section):
    # Tables read when --source is a directory: file stem or folder name per table.
    formats: list[Literal["delta", "parquet", "csv", "json"]] = Field(
        default_factory=lambda: ["delta", "parquet", "csv", "json"]
    )


class SnapshotsConfig(_Section):
    """The as_of grid and the time split of the labelled examples."""

    step_days: int = Field(7, ge=1)
    first_as_of: dt.date | None = None
    last_as_of: dt.date | None = None
    # History needed before the first as_of date when it is not given.
    warmup_days: int = Field(56, ge=0)
    validation_fraction: float = Field(0.15, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.15, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _fractions(self) -> SnapshotsConfig:
        if self.validation_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                "validation_fraction + test_fraction must be below 1, got "
                f"{self.validation_fraction} + {self.test_fraction}"
            )
        return self


class FeaturesConfig(_Section):
    high_ltv_tiers: list[str] = Field(default_factory=lambda: ["high"])
    top_overlap_pairs: int = Field(10, ge=1)
    roas_lookback_days: int = Field(90, ge=1)
    # Campaigns per customer kept when building overlap pairs (k^2 pairs each).
    max_campaigns_per_customer: int = Field(50, ge=2)
    # Overlap edges at or above this Jaccard join campaigns into communities.
    community_jaccard_threshold: float = Field(0.05, ge=0.0, le=1.0)
    # Bound on the label-propagation rounds of connected components.
    max_component_iterations: int = Field(30, ge=1)


class ModelConfig(_Section):
    hidden_channels: int = Field(64, ge=1)
    num_layers: int = Field(2, ge=1)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    interval_level: float = Field(0.8, gt=0.0, lt=1.0)
    fanout: list[int] = Field(default_factory=lambda: [20, 10])
    # Customers sampled per snapshot (the first fanout is the default).
    max_customers: int | None = Field(None, ge=1)
    # Customer touch history read before each as_of date.
    customer_lookback_days: int = Field(90, ge=1)
    huber_delta: float = Field(1.0, gt=0.0)
    # False: a launched campaign's forecast is the offset (its own last-touch
    # ROAS x planned spend) and the network corrects campaigns not launched
    # yet, which have no history of their own (see model/gnn.py for why).
    correct_launched: bool = False


class TrainingConfig(_Section):
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(128, ge=1)
    learning_rate: float = Field(3e-3, gt=0)
    patience: int = Field(5, ge=1)
    seed: int = 0
    max_failures: int = Field(1, ge=0)
    weight_decay: float = Field(1e-4, ge=0.0)
    # l1: absolute error in currency over the train mean (what WAPE scores);
    # huber_log: Huber loss on log1p(revenue) with model.huber_delta.
    loss: Literal["l1", "huber_log"] = "l1"
    # Testing aid: raise in this epoch of the first attempt (None: never).
    fail_at_epoch: int | None = Field(None, ge=0)


class BacktestConfig(_Section):
    as_of_dates: list[dt.date] = Field(default_factory=list)
    # When as_of_dates is empty: this many origins, step_days apart, ending at
    # the last as_of whose label window closed.
    origins: int = Field(4, ge=1)
    step_days: int = Field(28, ge=1)
    methods: list[str] = Field(
        default_factory=lambda: [
            "persistence",
            "last_touch_roas",
            "mta_linear",
            "mta_time_decay",
            "mta_position",
            "mta_markov",
            "mmm",
            "lightgbm",
        ]
    )
    # Method settings shared by the backtest and scoring.
    horizon_days: int = Field(30, ge=1)
    roas_lookback_days: int = Field(90, ge=1)
    journey_lookback_days: int = Field(30, ge=1)
    half_life_days: float = Field(7.0, gt=0.0)
    mmm_min_history_days: int = Field(28, ge=7)
    gbm_estimators: int = Field(200, ge=1)
    gbm_min_child_samples: int = Field(20, ge=1)
    seed: int = 0
    num_threads: int = Field(1, ge=1)
    log_mlflow: bool = True


class AllocationConfig(_Section):
    min_ratio: float = Field(0.5, ge=0.0)
    max_ratio: float = Field(2.0, gt=0.0)
    floors: dict[str, float] = Field(default_factory=dict)
    channel_caps: dict[str, float] = Field(default_factory=dict)
    # Response curves: points from 0 to curve_max_multiplier x the plan, shaped
    # by the MMM's channel saturation (false: a fixed exponential shape).
    curve_max_multiplier: float = Field(3.0, gt=1.0)
    curve_points: int = Field(31, ge=3)
    mmm_curves: bool = True
    # Greedy optimizer: the budget above the lower bounds in this many steps.
    steps: int = Field(4000, ge=10)
    # Incrementality estimate: lift windows per holdout campaign, their level,
    # prior spread (share of the prior ROAS), calibration factor's prior spread.
    lift_windows: int = Field(3, ge=1)
    lift_level: float = Field(0.95, gt=0.0, lt=1.0)
    prior_cv: float = Field(0.5, gt=0.0)
    scale_sd: float = Field(0.5, gt=0.0)
    interval_level: float = Field(0.9, gt=0.0, lt=1.0)
    # Each campaign's own incremental ROAS before calibration: what its exposed
    # customers bought above their organic rate. An exposure lasts this many
    # days (the touch day included); organic rates and the season are learnt
    # on baseline_days; a customer's rate borrows rate_prior_days clean days
    # of its segment and tier. The excess is scaled up by its channel's
    # carry-over beyond the window: a geometric decay (at most max_decay a
    # day) fitted to the excess by days since the latest touch, read out to
    # carryover_days (at most exposure_window_days turns it off).
    exposure_window_days: int = Field(3, ge=1, le=30)
    baseline_days: int = Field(365, ge=30)
    rate_prior_days: float = Field(5.0, ge=0.0)
    carryover_days: int = Field(21, ge=0, le=90)
    max_decay: float = Field(0.85, ge=0.0, lt=1.0)
    # Never recommend a split whose expected gain's lower bound is below 0:
    # moves are scaled back toward the current plan until it is not.
    guard_current: bool = True
    top_movers: int = Field(5, ge=1)


class Config(_Section):
    """The whole run configuration."""

    env: str = "local"
    spark: SparkConfig = Field(default_factory=SparkConfig)
    lakehouse: LakehouseConfig = Field(default_factory=LakehouseConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    ray: RayConfig = Field(default_factory=RayConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    query: str = DEFAULT_QUERY
    snapshots: SnapshotsConfig = Field(default_factory=SnapshotsConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    allocation: AllocationConfig = Field(default_factory=AllocationConfig)


# Sections whose keys are free-form and may themselves hold dots.
FREEFORM_SECTIONS = (
    "spark.conf",
    "lakehouse.tables",
    "lakehouse.schemas",
    "allocation.floors",
    "allocation.channel_caps",
)


def _split_key(path: str) -> list[str]:
    for section in FREEFORM_SECTIONS:
        if path.startswith(section + "."):
            return [*section.split("."), path[len(section) + 1 :]]
    return path.split(".")


def _parse_scalar(text: str) -> Any:
    """A ``--set`` value read as YAML, so numbers, booleans and lists work."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides to a nested dict in place.

    Raises:
        ConfigError: if an override has no ``=`` or walks through a non-mapping.
    """
    for item in overrides:
        if "=" not in item:
            raise ConfigError(
                f"override {item!r} must look like dotted.key=value, "
                "for example lakehouse.root=/tmp/lh"
            )
        path, raw = item.split("=", 1)
        keys = _split_key(path.strip())
        node = data
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                where = ".".join(keys[: depth + 1])
                raise ConfigError(
                    f"override {item!r}: {where} is a value, not a section"
                )
            node = child
        node[keys[-1]] = _parse_scalar(raw)
    return data


def _format_errors(source: str, err: ValidationError) -> str:
    lines = [f"invalid configuration in {source}:"]
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            lines.append(f"  {where}: unknown key; remove it or check its spelling")
        else:
            value = e.get("input")
            lines.append(f"  {where}: {e['msg']} (got {value!r})")
    return "\n".join(lines)


def config_from_dict(data: dict[str, Any], source: str = "<dict>") -> Config:
    """Validate a nested dict into a ``Config``.

    Raises:
        ConfigError: naming each bad key path, the value and what is allowed.
    """
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_errors(source, err)) from None


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> Config:
    """Load ``path`` (YAML), apply ``--set`` overrides and validate.

    Args:
        path: the YAML file; None gives the built-in local defaults.
        overrides: ``dotted.key=value`` strings applied after the file.

    Returns:
        The validated configuration.

    Raises:
        ConfigError: if the file is missing, is not a mapping, or does not validate.
    """
    data: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        source = str(path)
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {source} does not exist")
        loaded = yaml.safe_load(p.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {source} must hold a mapping at top level")
        data = loaded
    apply_overrides(data, list(overrides or []))
    return config_from_dict(data, source)
