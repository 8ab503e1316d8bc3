"""MLflow: log a trained graph model, register it, move ``champion``, load it back.

A model version is a pyfunc wrapper around a bundle folder: ``model.pt``
(state dict) and ``bundle.json`` (model sizes, feature names, the feature
spec with its standardization statistics, the conformal half-widths). The
new version takes the alias ``champion`` only when its WAPE on its own
validation split beats the current champion's on the same snapshots.

Example:
    >>> champ = load_champion(cfg)  # doctest: +SKIP
    >>> pred, lower, upper = champ.predict(raw_snapshots)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from campaign_revenue.config import Config
from campaign_revenue.evaluation.metrics import wape
from campaign_revenue.model.tensors import FeatureSpec, RawSnapshots, SnapshotTensors
from campaign_revenue.model.train import GraphPredictor, build_model

log = logging.getLogger(__name__)

ALIAS = "champion"
BUNDLE = "bundle"

try:
    from mlflow.pyfunc import PythonModel as _PythonModel
except ImportError:  # pragma: no cover - mlflow is a dependency of training
    _PythonModel = object  # type: ignore[misc,assignment]


class GraphPyfunc(_PythonModel):  # type: ignore[misc]
    """pyfunc face of the bundle: standardized tensors in, revenue out.

    Inputs (a dict of arrays): ``x_campaign`` [S, F], ``x_customer`` [R, G],
    ``edge_index`` [2, R] (customer row -> snapshot position) and, for a
    model with an offset, ``baseline`` [S] (last-touch ROAS x planned spend,
    currency; without it the offset is 0) and ``launched`` [S] (bool; without
    it every snapshot is corrected as one not launched).
    """

    def load_context(self, context):  # noqa: ANN001 - mlflow reads hints
        self.predictor = read_bundle(Path(context.artifacts[BUNDLE]))

    def predict(self, context, model_input, params=None):  # noqa: ANN001
        def arr(key: str, dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(np.asarray(model_input[key]), dtype=dtype)

        x_c = arr("x_campaign", torch.float32)
        x_u = arr("x_customer", torch.float32)
        ei = arr("edge_index", torch.long)
        base = arr("baseline", torch.float32) if "baseline" in model_input else None
        launched = arr("launched", torch.bool) if "launched" in model_input else None
        with torch.no_grad():
            f = self.predictor.model(x_c, x_u, ei, base, launched)
        return np.clip(np.expm1(f.numpy()), 0.0, None)


def write_bundle(predictor: GraphPredictor, path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    torch.save(predictor.model.state_dict(), path / "model.pt")
    meta = {
        "kwargs": predictor.kwargs,
        "spec": predictor.spec.to_dict(),
        "quantiles": predictor.quantiles,
        "interval_level": predictor.interval_level,
        "feature_names": predictor.feature_names(),
    }
    (path / "bundle.json").write_text(json.dumps(meta, indent=1))
    return path


def read_bundle(path: Path) -> GraphPredictor:
    meta = json.loads((path / "bundle.json").read_text())
    model = build_model(meta["kwargs"])
    model.load_state_dict(torch.load(path / "model.pt", weights_only=True))
    model.eval()
    return GraphPredictor(
        model,
        FeatureSpec.from_dict(meta["spec"]),
        meta["kwargs"],
        meta["quantiles"],
        meta["interval_level"],
    )


@dataclass
class Champion:
    """A registered model version loaded for scoring.

    Attributes:
        name: registered model name.
        version: its version.
        run_id: the MLflow run that logged it.
        predictor: the model, feature spec and interval half-widths.
    """

    name: str
    version: str
    run_id: str
    predictor: GraphPredictor

    def predict(
        self, batch: RawSnapshots | SnapshotTensors
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prediction, lower, upper) numpy arrays, one per snapshot."""
        return self.predictor.predict(batch)

    def attribute(
        self, batch: RawSnapshots | SnapshotTensors, steps: int = 32
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Per-feature Integrated Gradients; see ``GraphPredictor.attribute``."""
        return self.predictor.attribute(batch, steps)

    def feature_names(self) -> dict[str, list[str]]:
        return self.predictor.feature_names()


def _mlflow(cfg: Config):
    import mlflow

    mlflow.set_tracking_uri(cfg.mlflow.tracking_uri)
    if cfg.mlflow.registry_uri:
        mlflow.set_registry_uri(cfg.mlflow.registry_uri)
    return mlflow


def load_version(cfg: Config, version: str | None = None) -> Champion:
    """A version of ``mlflow.registered_model`` (default: the champion).

    Raises:
        LookupError: when the model or the alias does not exist, naming
            ``campaign-revenue train`` as the step that creates it.
    """
    mlflow = _mlflow(cfg)
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    name = cfg.mlflow.registered_model
    try:
        mv = (
            client.get_model_version(name, version)
            if version is not None
            else client.get_model_version_by_alias(name, ALIAS)
        )
    except MlflowException:
        which = f"version {version}" if version else f"alias {ALIAS!r}"
        raise LookupError(
            f"registered model {name!r} has no {which} at "
            f"{cfg.mlflow.tracking_uri}; run `campaign-revenue train` first"
        ) from None
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{name}/{mv.version}"
    )
    found = next(Path(local).rglob("bundle.json"), None)
    if found is None:
        raise LookupError(f"model {name} v{mv.version} holds no graph bundle")
    return Champion(name, str(mv.version), str(mv.run_id), read_bundle(found.parent))


def load_champion(cfg: Config) -> Champion:
    """The version with alias ``champion`` of ``cfg.mlflow.registered_model``.

    Raises:
        LookupError: when none exists (run ``campaign-revenue train``).
    """
    return load_version(cfg, None)


@dataclass
class Registration:
    run_id: str
    version: str
    promoted: bool
    wape: float
    champion_wape: float | None


def _signature(predictor: GraphPredictor, val: RawSnapshots):
    from mlflow.models import infer_signature

    data = predictor.spec.transform(val)
    b = data.batch(torch.arange(min(len(data), 4)))
    example = {
        "x_campaign": b["x_campaign"].numpy(),
        "x_customer": b["x_customer"].numpy(),
        "edge_index": b["edge_index"].numpy(),
        "baseline": b["baseline"].numpy(),
        "launched": b["launched"].numpy(),
    }
    with torch.no_grad():
        out = predictor.model(
            b["x_campaign"],
            b["x_customer"],
            b["edge_index"],
            b["baseline"],
            b["launched"],
        )
    return infer_signature(example, np.expm1(out.numpy()))


def _flat_params(cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section in ("model", "training", "ray"):
        for k, v in getattr(cfg, section).model_dump().items():
            out[f"{section}.{k}"] = v
    return out


def log_and_register(
    cfg: Config,
    predictor: GraphPredictor,
    val: RawSnapshots,
    history: pd.DataFrame,
    metrics: dict[str, float],
) -> Registration:
    """One MLflow run: params, per-epoch metrics, the model; then the alias.

    The new version is scored on ``val``; the current champion (when there
    is one) is loaded and scored on the same snapshots. The alias moves only
    when the new WAPE is lower.
    """
    mlflow = _mlflow(cfg)
    mlflow.set_experiment(cfg.mlflow.experiment)
    name = cfg.mlflow.registered_model
    y = val.keys["label"].to_numpy(float)
    new_wape = wape(y, predictor.predict(val)[0])
    with mlflow.start_run(run_name="train-gnn") as run:
        mlflow.set_tags({"step": "train", "model": "campaign_gnn"})
        mlflow.log_params(_flat_params(cfg))
        for row in history.to_dict("records"):
            step = int(row["epoch"])
            mlflow.log_metrics(
                {
                    k: float(row[k])
                    for k in ("train_loss", "val_loss", "val_wape", "epoch_seconds")
                    if k in row and pd.notna(row[k])
                },
                step=step,
            )
        mlflow.log_metrics({f"final_{k}": float(v) for k, v in metrics.items()})
        with tempfile.TemporaryDirectory() as d:
            bundle = write_bundle(predictor, Path(d) / BUNDLE)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=GraphPyfunc(),
                artifacts={BUNDLE: str(bundle)},
                signature=_signature(predictor, val),
                registered_model_name=name,
            )
        run_id = run.info.run_id
    version = str(info.registered_model_version)

    champion_wape = None
    try:
        current = load_champion(cfg)
    except LookupError:
        current = None
    if current is not None:
        champion_wape = wape(y, current.predict(val)[0])
    promoted = champion_wape is None or new_wape < champion_wape
    client = mlflow.MlflowClient()
    client.set_model_version_tag(name, version, "val_wape", f"{new_wape:.6f}")
    if promoted:
        client.set_registered_model_alias(name, ALIAS, version)
    log.info(
        "registry model=%s version=%s val_wape=%.4f champion_wape=%s promoted=%s",
        name,
        version,
        new_wape,
        "none" if champion_wape is None else f"{champion_wape:.4f}",
        promoted,
    )
    return Registration(run_id, version, promoted, new_wape, champion_wape)
