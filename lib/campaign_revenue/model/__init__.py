"""The graph model: tensors from Spark, the GNN, Ray training, the MLflow registry.

Example:
    >>> from campaign_revenue.model import run_train, load_champion  # doctest: +SKIP
    >>> summary = run_train(spark, cfg, lakehouse)  # doctest: +SKIP
    >>> pred, lower, upper = load_champion(cfg).predict(raw)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_champion", "run_train"]


def __getattr__(name: str) -> Any:
    # torch, Ray and MLflow load only when the model is used
    if name == "run_train":
        from campaign_revenue.model.train import run_train

        return run_train
    if name == "load_champion":
        from campaign_revenue.model.registry import load_champion

        return load_champion
    raise AttributeError(name)
