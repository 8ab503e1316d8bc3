"""Training: one epoch loop run in-process or as a Ray Train worker, and ``run_train``.

``run_epochs`` is the loop; ``train_in_process`` runs it with one worker and
no Ray (the backtest's ``graph`` method), ``train_loop_per_worker`` runs it
inside a ``TorchTrainer`` (DDP, a checkpoint every epoch, resume from the
latest checkpoint after a failure). ``run_train`` builds the tensors from the
lakehouse, trains through Ray, calibrates the interval on the validation
split and hands the model to the registry.

Example:
    >>> lakehouse = Lakehouse(spark, cfg.lakehouse)  # doctest: +SKIP
    >>> print(run_train(spark, cfg, lakehouse))  # doctest: +SKIP
    >>> print(summary)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from campaign_revenue.config import Config, ModelConfig, TrainingConfig
from campaign_revenue.evaluation.metrics import coverage, wape
from campaign_revenue.features.dictionary import OFFSET_FEATURE
from campaign_revenue.logs import Progress
from campaign_revenue.model.gnn import CampaignGNN, integrated_gradients, log_offset
from campaign_revenue.model.tensors import (
    FeatureSpec,
    RawSnapshots,
    SnapshotTensors,
    build_snapshots,
)
from campaign_revenue.tables import Lakehouse

log = logging.getLogger(__name__)

TRAINING_EXAMPLES = "features.training_examples"
STATE_FILE = "state.pt"


# -- the loop -----------------------------------------------------------------


def build_model(kwargs: dict[str, Any]) -> CampaignGNN:
    return CampaignGNN(**kwargs)


def model_kwargs(
    spec: FeatureSpec,
    cfg: ModelConfig,
    train: SnapshotTensors | None = None,
    offset: bool = True,
) -> dict[str, Any]:
    """``CampaignGNN`` arguments; the output starts at ``train``'s target mean.

    Args:
        spec: the feature spec (input sizes).
        cfg: model settings.
        train: the train split; its mean target (less the offset) is the
            output's starting value.
        offset: predict log1p(revenue) as log1p(baseline) plus the output.
    """
    init, reference = 0.0, 0.0
    if train is not None and len(train):
        if offset:
            # start exactly at the baseline: a mean log ratio as the starting
            # bias scaled every forecast down (validation WAPE 0.41 -> 0.49
            # on the demo world)
            reference = float(log_offset(train.baseline).mean())
        else:
            init = float(_target(train.y).mean())
    return {
        "init_bias": init,
        "offset_reference": reference,
        "correct_launched": cfg.correct_launched,
        "campaign_in": len(spec.campaign_names()),
        "customer_in": len(spec.customer_names()),
        "hidden": cfg.hidden_channels,
        "num_layers": cfg.num_layers,
        "dropout": cfg.dropout,
        "offset": offset,
    }


def _target(y: torch.Tensor) -> torch.Tensor:
    return torch.log1p(torch.clamp(y, min=0.0))


def predict_log(
    model: torch.nn.Module, data: SnapshotTensors, batch_size: int = 512
) -> torch.Tensor:
    """log1p(revenue) predictions for every snapshot of ``data``.

    The model's offset, when it has one, is already in: these are the
    predictions that WAPE, the conformal residuals and scoring read.
    """
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            b = data.batch(torch.arange(start, min(start + batch_size, len(data))))
            out.append(
                model(
                    b["x_campaign"],
                    b["x_customer"],
                    b["edge_index"],
                    b["baseline"],
                    b["launched"],
                )
            )
    return torch.cat(out) if out else torch.zeros(0)


def training_loss(
    pred: torch.Tensor, y: torch.Tensor, loss: str, delta: float, scale: float
) -> torch.Tensor:
    """The loss of log1p predictions ``pred`` against revenue ``y``.

    Args:
        loss: ``l1`` (absolute error in currency over ``scale``, the train
            mean revenue: the quantity WAPE sums) or ``huber_log`` (Huber on
            log1p(revenue)).
        delta: the Huber threshold.
        scale: the currency scale of ``l1``.
    """
    if loss == "l1":
        return (torch.expm1(pred).clamp(min=0.0) - y).abs().mean() / scale
    return torch.nn.functional.huber_loss(pred, _target(y), delta=delta)


def evaluate(
    model: torch.nn.Module,
    data: SnapshotTensors,
    delta: float,
    loss: str = "huber_log",
    scale: float = 1.0,
) -> tuple[float, float]:
    """(the training loss, WAPE in currency) over ``data``."""
    pred = predict_log(model, data)
    value = training_loss(pred, data.y, loss, delta, scale)
    p = torch.expm1(pred).clamp(min=0.0).numpy()
    return float(value), wape(data.y.numpy(), p)


@dataclass
class Hooks:
    """What differs between the in-process loop and a Ray worker."""

    rank: int = 0
    world_size: int = 1
    restore: Callable[[], dict[str, Any] | None] = lambda: None
    prepare: Callable[[torch.nn.Module], torch.nn.Module] = lambda m: m
    report: Callable[[dict[str, float], dict[str, Any]], None] = lambda m, s: None


def run_epochs(config: dict[str, Any], hooks: Hooks) -> dict[str, Any]:
    """Train with early stopping; returns the last loop state.

    Args:
        config: ``train`` and ``val`` (``SnapshotTensors.to_state()``),
            ``model`` (``CampaignGNN`` kwargs), ``training`` (TrainingConfig
            as a dict), ``huber_delta``.
        hooks: checkpoint restore, model preparation and reporting.

    Returns:
        epoch, best_epoch, best_val_loss, best_model (state dict), history.

    Raises:
        RuntimeError: in ``training.fail_at_epoch`` of a first attempt.
    """
    tc = TrainingConfig(**config["training"])
    delta = float(config.get("huber_delta", 1.0))
    train = SnapshotTensors.from_state(config["train"])
    val = SnapshotTensors.from_state(config["val"])
    torch.manual_seed(tc.seed)
    model = build_model(config["model"])
    opt_state = None
    state = hooks.restore()
    start_epoch, best_loss, best_epoch, bad = 0, float("inf"), -1, 0
    best_model = copy.deepcopy(model.state_dict())
    history: list[dict[str, float]] = []
    if state is not None:
        model.load_state_dict(state["model"])
        opt_state = state["optimizer"]
        start_epoch = state["epoch"] + 1
        best_loss, best_epoch = state["best_val_loss"], state["best_epoch"]
        bad, best_model = state["bad_epochs"], state["best_model"]
        history = state["history"]
    resumed = state is not None
    # l1's currency scale: the train mean revenue
    scale = max(float(torch.nan_to_num(train.y).mean()), 1e-6)
    if state is None and config["model"].get("offset", False):
        # the untrained model predicts the baseline: training must beat it
        # on validation to replace it (best_epoch -1)
        best_loss = evaluate(model, val, delta, tc.loss, scale)[0]

    net = hooks.prepare(model)
    opt = torch.optim.AdamW(
        net.parameters(), lr=tc.learning_rate, weight_decay=tc.weight_decay
    )
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    bar = None
    if hooks.rank == 0:
        bar = Progress(label="epochs", total=tc.epochs, logger=log)
        # a resumed attempt counts the epochs its checkpoint already ran
        bar.done_steps = min(start_epoch, tc.epochs)

    epoch = start_epoch - 1
    for epoch in range(start_epoch, tc.epochs):
        if tc.fail_at_epoch == epoch and not resumed:
            raise RuntimeError(f"injected failure at epoch {epoch}")
        started = time.perf_counter()
        net.train()
        # equal shards per worker so DDP's all-reduce calls line up
        g = torch.Generator().manual_seed(tc.seed * 1000 + epoch)
        perm = torch.randperm(len(train), generator=g)
        per = len(train) // hooks.world_size
        shard = perm[hooks.rank * per : (hooks.rank + 1) * per]
        total, n = 0.0, 0
        for start in range(0, len(shard), tc.batch_size):
            idx = shard[start : start + tc.batch_size]
            b = train.batch(idx)
            pred = net(
                b["x_campaign"],
                b["x_customer"],
                b["edge_index"],
                b["baseline"],
                b["launched"],
            )
            loss = training_loss(pred, b["y"], tc.loss, delta, scale)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            n += len(idx)
        inner = getattr(net, "module", net)
        val_loss, val_wape = evaluate(inner, val, delta, tc.loss, scale)
        if val_loss < best_loss - 1e-6:
            best_loss, best_epoch, bad = val_loss, epoch, 0
            best_model = copy.deepcopy(inner.state_dict())
        else:
            bad += 1
        metrics = {
            "epoch": epoch,
            "start_epoch": start_epoch,
            "train_loss": total / max(n, 1),
            "val_loss": val_loss,
            "val_wape": val_wape,
            "best_val_loss": best_loss,
            "epoch_seconds": time.perf_counter() - started,
        }
        history.append(metrics)
        if bar is not None:
            bar.advance(
                f"train_loss={metrics['train_loss']:.4f} val_loss={val_loss:.4f} "
                f"val_wape={val_wape:.3f}"
            )
        state = {
            "epoch": epoch,
            "model": inner.state_dict(),
            "optimizer": opt.state_dict(),
            "best_val_loss": best_loss,
            "best_epoch": best_epoch,
            "bad_epochs": bad,
            "best_model": best_model,
            "history": history,
        }
        hooks.report(metrics, state)
        if bad >= tc.patience:
            if bar is not None and epoch + 1 < tc.epochs:
                # close the bar: the epochs left are skipped, not run
                bar.advance(
                    f"early_stop epoch={epoch} best_epoch={best_epoch}",
                    steps=tc.epochs - epoch - 1,
                )
            break
    return {
        "epoch": epoch,
        "best_epoch": best_epoch,
        "best_val_loss": best_loss,
        "best_model": best_model,
        "history": history,
    }


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """The Ray Train worker: DDP, a checkpoint every epoch, resume on restart."""
    import ray.train
    import ray.train.torch

    ctx = ray.train.get_context()

    def restore() -> dict[str, Any] | None:
        ckpt = ray.train.get_checkpoint()
        if ckpt is None:
            return None
        with ckpt.as_directory() as d:
            return torch.load(Path(d) / STATE_FILE, weights_only=False)

    def prepare(model: torch.nn.Module) -> torch.nn.Module:
        # no lazy layers here, so no warm-up forward is needed before DDP
        return ray.train.torch.prepare_model(model)

    def report(metrics: dict[str, float], state: dict[str, Any]) -> None:
        if ctx.get_world_rank() != 0:
            ray.train.report(metrics)
            return
        with tempfile.TemporaryDirectory() as d:
            torch.save(state, Path(d) / STATE_FILE)
            ray.train.report(
                metrics, checkpoint=ray.train.Checkpoint.from_directory(d)
            )

    run_epochs(
        config,
        Hooks(
            rank=ctx.get_world_rank(),
            world_size=ctx.get_world_size(),
            restore=restore,
            prepare=prepare,
            report=report,
        ),
    )


def loop_config(
    train: SnapshotTensors,
    val: SnapshotTensors,
    kwargs: dict[str, Any],
    model_cfg: ModelConfig,
    train_cfg: TrainingConfig,
) -> dict[str, Any]:
    return {
        "train": train.to_state(),
        "val": val.to_state(),
        "model": kwargs,
        "training": train_cfg.model_dump(),
        "huber_delta": model_cfg.huber_delta,
    }


@dataclass
class FitResult:
    model: CampaignGNN
    history: pd.DataFrame
    best_epoch: int
    resumed_from: int | None = None


def train_in_process(
    train: SnapshotTensors,
    val: SnapshotTensors,
    kwargs: dict[str, Any],
    model_cfg: ModelConfig,
    train_cfg: TrainingConfig,
) -> FitResult:
    """The same loop on one process, no Ray; returns the best model."""
    out = run_epochs(loop_config(train, val, kwargs, model_cfg, train_cfg), Hooks())
    model = build_model(kwargs)
    model.load_state_dict(out["best_model"])
    model.eval()
    return FitResult(model, pd.DataFrame(out["history"]), out["best_epoch"])


def init_ray(cfg: Config) -> None:
    """Connect to ``ray.address``, or start a local Ray without a dashboard.

    Ray 2.60 turns token auth on for local clusters and makes the token
    itself; a remote cluster's token comes from RAY_AUTH_TOKEN (or
    RAY_AUTH_TOKEN_PATH) in the environment, never from the config.
    """
    import ray

    if ray.is_initialized():
        return
    if cfg.ray.address is None:
        ray.init(
            num_cpus=cfg.ray.local_num_cpus,
            include_dashboard=False,
            log_to_driver=False,
        )
    else:
        ray.init(address=cfg.ray.address)


def train_with_ray(
    cfg: Config,
    train: SnapshotTensors,
    val: SnapshotTensors,
    kwargs: dict[str, Any],
    name: str | None = None,
) -> FitResult:
    """``train_loop_per_worker`` in a TorchTrainer; the best model back.

    Raises:
        RuntimeError: when training failed beyond ``training.max_failures``.
    """
    from ray.train import (
        CheckpointConfig,
        FailureConfig,
        RunConfig,
        ScalingConfig,
    )
    from ray.train.torch import TorchTrainer

    init_ray(cfg)
    storage = Path(cfg.lakehouse.root).expanduser().resolve() / "_ray"
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config=loop_config(train, val, kwargs, cfg.model, cfg.training),
        scaling_config=ScalingConfig(
            num_workers=cfg.ray.num_workers,
            use_gpu=cfg.ray.use_gpu,
            resources_per_worker={"CPU": cfg.ray.cpus_per_worker},
        ),
        run_config=RunConfig(
            name=name or f"train-{uuid.uuid4().hex[:8]}",
            storage_path=str(storage),
            failure_config=FailureConfig(max_failures=cfg.training.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
        ),
    )
    result = trainer.fit()
    if result.error is not None:
        raise RuntimeError(f"ray training failed: {result.error}") from result.error
    with result.checkpoint.as_directory() as d:
        state = torch.load(Path(d) / STATE_FILE, weights_only=False)
    model = build_model(kwargs)
    model.load_state_dict(state["best_model"])
    model.eval()
    # Ray keeps metrics only for retained checkpoints: the checkpoint's own
    # history has every epoch of every attempt
    history = pd.DataFrame(state["history"])
    starts = sorted(set(int(s) for s in history["start_epoch"]))
    resumed = starts[-1] if len(starts) > 1 else None
    return FitResult(model, history, int(state["best_epoch"]), resumed)


# -- intervals and prediction ---------------------------------------------------


def conformal_quantiles(
    pred_log: np.ndarray, y: np.ndarray, launched: np.ndarray, level: float
) -> dict[str, float]:
    """Split-conformal half-widths on log1p, for launched and not launched.

    A group with fewer than 5 validation examples borrows the pooled value.
    A campaign not launched yet has less to go on than a launched one, so its
    half-width is never narrower than the launched one's.
    """

    def q(r: np.ndarray) -> float:
        if r.size == 0:
            return float("nan")
        rank = min(1.0, np.ceil((r.size + 1) * level) / r.size)
        return float(np.quantile(r, rank, method="higher"))

    r = np.abs(np.log1p(np.clip(y, 0.0, None)) - pred_log)
    pooled = q(r)
    out = {"all": pooled}
    for name, mask in (("launched", launched), ("not_launched", ~launched)):
        out[name] = q(r[mask]) if mask.sum() >= 5 else pooled
    out["not_launched"] = max(out["not_launched"], out["launched"])
    return out


@dataclass
class GraphPredictor:
    """A trained model with its feature spec and interval half-widths."""

    model: CampaignGNN
    spec: FeatureSpec
    kwargs: dict[str, Any]
    quantiles: dict[str, float] = field(default_factory=dict)
    interval_level: float = 0.8

    def tensors(self, batch: RawSnapshots | SnapshotTensors) -> SnapshotTensors:
        if isinstance(batch, SnapshotTensors):
            return batch
        return self.spec.transform(batch)

    def predict(
        self, batch: RawSnapshots | SnapshotTensors
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prediction, lower, upper) in currency per snapshot of ``batch``.

        ``RawSnapshots`` are standardized with this model's own spec;
        ``SnapshotTensors`` must come from that spec already.
        """
        data = self.tensors(batch)
        f = predict_log(self.model, data).numpy().astype(float)
        launched = data.launched.numpy().astype(bool)
        q = np.where(
            launched,
            self.quantiles.get("launched", np.inf),
            self.quantiles.get("not_launched", np.inf),
        )
        pred = np.clip(np.expm1(f), 0.0, None)
        lower = np.clip(np.expm1(f - q), 0.0, None)
        upper = np.clip(np.expm1(f + q), 0.0, None)
        return pred, lower, upper

    def attribute(
        self, batch: RawSnapshots | SnapshotTensors, steps: int = 32
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Integrated Gradients of log1p(revenue), one row per snapshot.

        A model with an offset gets one more campaign column,
        ``OFFSET_FEATURE``: log1p(baseline) less its train mean, how far the
        snapshot's last-touch ROAS x planned spend moves the forecast from
        an average one. The offset is exactly additive, so this is its exact
        share, on the same log scale as the gradients'.

        Returns:
            (campaign attributions with ``spec.campaign_names()`` columns,
            customer attributions summed over each snapshot's customers with
            ``spec.customer_names()`` columns).
        """
        data = self.tensors(batch)
        b = data.batch(torch.arange(len(data)))
        ac, au = integrated_gradients(
            self.model,
            b["x_campaign"],
            b["x_customer"],
            b["edge_index"],
            steps,
            launched=b["launched"],
        )
        campaign = pd.DataFrame(ac.numpy(), columns=self.spec.campaign_names())
        if getattr(self.model, "offset", False):
            reference = getattr(self.model, "offset_reference", 0.0)
            campaign[OFFSET_FEATURE] = (
                log_offset(b["baseline"]).numpy() - reference
            )
        return (
            campaign,
            pd.DataFrame(au.numpy(), columns=self.spec.customer_names()),
        )

    def feature_names(self) -> dict[str, list[str]]:
        """Input names per side, as ``attribute`` names its columns."""
        campaign = self.spec.campaign_names()
        if getattr(self.model, "offset", False):
            campaign = [*campaign, OFFSET_FEATURE]
        return {"campaign": campaign, "customer": self.spec.customer_names()}


def fit_predictor(
    fit: FitResult,
    spec: FeatureSpec,
    kwargs: dict[str, Any],
    val: SnapshotTensors,
    level: float,
) -> GraphPredictor:
    """The fitted model with conformal half-widths from ``val``."""
    f = predict_log(fit.model, val).numpy()
    q = conformal_quantiles(
        f, val.y.numpy(), val.launched.numpy().astype(bool), level
    )
    return GraphPredictor(fit.model, spec, kwargs, q, level)


def interval_metrics(
    predictor: GraphPredictor, raw: RawSnapshots, prefix: str
) -> dict[str, float]:
    """WAPE, persistence WAPE and coverage per launch state on ``raw``."""
    if len(raw) == 0:
        return {}
    y = raw.keys["label"].to_numpy(float)
    p, lo, hi = predictor.predict(raw)
    launched = raw.keys["is_launched"].to_numpy(bool)
    persistence = raw.campaign["revenue_30d"].fillna(0.0).to_numpy(float)
    out = {
        f"{prefix}_wape": wape(y, p),
        f"{prefix}_persistence_wape": wape(y, persistence),
        f"{prefix}_coverage": coverage(y, lo, hi),
    }
    for name, m in (("launched", launched), ("not_launched", ~launched)):
        if m.any():
            out[f"{prefix}_coverage_{name}"] = coverage(y[m], lo[m], hi[m])
            out[f"{prefix}_wape_{name}"] = wape(y[m], p[m])
    return {k: v for k, v in out.items() if not np.isnan(v)}


# -- the train step ----------------------------------------------------------------


@dataclass
class TrainSummary:
    """What one ``run_train`` did."""

    run_id: str
    model_name: str
    version: str
    promoted: bool
    metrics: dict[str, float]
    champion_val_wape: float | None
    epochs_run: int
    best_epoch: int
    resumed_from_epoch: int | None
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    predictor: GraphPredictor | None = field(default=None, repr=False)
    validation: RawSnapshots | None = field(default=None, repr=False)

    def __str__(self) -> str:
        m = self.metrics
        state = "took alias champion" if self.promoted else "did not take champion"
        return (
            f"train: {self.model_name} v{self.version} (run {self.run_id}) {state}; "
            f"val WAPE {m.get('val_wape', float('nan')):.3f} (persistence "
            f"{m.get('val_persistence_wape', float('nan')):.3f}), test WAPE "
            f"{m.get('test_wape', float('nan')):.3f}; {self.epochs_run} epochs, "
            f"best {self.best_epoch}; {self.seconds:.0f}s"
        )


def split_snapshots(raw: RawSnapshots, splits: pd.DataFrame) -> dict[str, RawSnapshots]:
    """``raw`` per split, by joining (campaign_id, as_of_date) to ``splits``."""
    keyed = raw.keys[["campaign_id", "as_of_date"]].merge(
        splits, on=["campaign_id", "as_of_date"], how="left"
    )
    return {
        s: raw.subset((keyed["split"] == s).to_numpy())
        for s in ("train", "validation", "test")
    }


def load_training_data(
    spark: SparkSession, cfg: Config, lakehouse: Lakehouse, handoff: Path
) -> dict[str, RawSnapshots]:
    """Labelled, complete examples of train/validation/test as RawSnapshots."""
    from campaign_revenue.graph.run import read_silver

    examples = lakehouse.read(TRAINING_EXAMPLES).where(
        F.col("label").isNotNull()
        & F.col("split").isin("train", "validation", "test")
    )
    if "label_complete" in examples.columns:
        examples = examples.where(F.col("label_complete"))
    # hand-off of the split per snapshot: O(snapshots)
    splits = examples.select(
        "campaign_id", F.col("as_of_date").cast("date"), "split"
    ).toPandas()
    splits["as_of_date"] = pd.to_datetime(splits["as_of_date"]).dt.date
    raw = build_snapshots(
        read_silver(lakehouse),
        lakehouse.read("features.campaign_snapshots"),
        examples,
        handoff,
        k=cfg.model.max_customers or cfg.model.fanout[0],
        seed=cfg.training.seed,
        lookback_days=cfg.model.customer_lookback_days,
        horizon_days=cfg.backtest.horizon_days,
        roas_lookback_days=cfg.backtest.roas_lookback_days,
    )
    return split_snapshots(raw, splits)


def run_train(
    spark: SparkSession, cfg: Config, lakehouse: Lakehouse
) -> TrainSummary:
    """Build tensors, train with Ray Train, log and register in MLflow.

    Args:
        spark: the session.
        cfg: run configuration (model, training, ray, mlflow).
        lakehouse: where features.* and silver.* are read; the hand-off goes
            to ``<root>/_handoff/train`` and Ray's results to ``<root>/_ray``.

    Returns:
        The registered version, whether it took the champion alias, metrics.

    Raises:
        ValueError: if the train or validation split is empty.
    """
    from campaign_revenue.model import registry

    started = time.perf_counter()
    handoff = Path(cfg.lakehouse.root).expanduser() / "_handoff" / "train"
    parts = load_training_data(spark, cfg, lakehouse, handoff)
    for split in ("train", "validation"):
        if len(parts[split]) == 0:
            raise ValueError(
                f"split {split!r} of {TRAINING_EXAMPLES} is empty; run "
                "`campaign-revenue snapshots` over more data"
            )
    spec = FeatureSpec.fit(parts["train"])
    train_t, val_t = (spec.transform(parts[s]) for s in ("train", "validation"))
    kwargs = model_kwargs(spec, cfg.model, train_t)
    log.info(
        "train_data train=%d validation=%d test=%d customer_rows=%d",
        len(parts["train"]),
        len(parts["validation"]),
        len(parts["test"]),
        int(train_t.x_customer.shape[0]),
    )
    fit = train_with_ray(cfg, train_t, val_t, kwargs)
    predictor = fit_predictor(fit, spec, kwargs, val_t, cfg.model.interval_level)
    metrics = interval_metrics(predictor, parts["validation"], "val")
    metrics.update(interval_metrics(predictor, parts["test"], "test"))
    reg = registry.log_and_register(
        cfg, predictor, parts["validation"], fit.history, metrics
    )
    summary = TrainSummary(
        run_id=reg.run_id,
        model_name=cfg.mlflow.registered_model,
        version=reg.version,
        promoted=reg.promoted,
        metrics=metrics,
        champion_val_wape=reg.champion_wape,
        epochs_run=int(fit.history["epoch"].max()) + 1,
        best_epoch=fit.best_epoch,
        resumed_from_epoch=fit.resumed_from,
        seconds=time.perf_counter() - started,
        rows={s: len(p) for s, p in parts.items()},
        predictor=predictor,
        validation=parts["validation"],
    )
    log.info(
        "train done version=%s promoted=%s val_wape=%.3f seconds=%.1f",
        reg.version,
        reg.promoted,
        metrics.get("val_wape", float("nan")),
        summary.seconds,
    )
    return summary
