"""The graph model as a backtest method: trained in-process on the examples given.

The backtest hands ``fit`` the examples whose windows closed by the origin;
the latest 15% of their as_of dates (at least one) serve as the validation
split for early stopping and the conformal interval. Training runs the same
loop as ``campaign-revenue train`` with one worker and no Ray.

Example:
    >>> m = get_method("graph").fit(train, ctx)  # doctest: +SKIP
    >>> m.predict(test, ctx).show()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from campaign_revenue.config import ModelConfig, TrainingConfig
from campaign_revenue.methods.base import Method, MethodContext

log = logging.getLogger(__name__)

NEEDED = ("campaigns", "customers", "touchpoints", "conversions", "spend_daily")
# Read when the context holds them: the audience lists give a campaign that has
# not launched a neighbourhood, the spend plan feeds the baseline's planned spend.
OPTIONAL = ("campaign_audiences", "spend_plan")
VALIDATION_SHARE = 0.15


class GraphMethod(Method):
    """Campaign GNN on features.campaign_snapshots and customer neighbourhoods.

    Args:
        model: model settings; defaults from ``ModelConfig``.
        training: training settings; defaults from ``TrainingConfig``.
    """

    name = "graph"
    gives_intervals = True

    def __init__(
        self,
        model: ModelConfig | None = None,
        training: TrainingConfig | None = None,
    ) -> None:
        self.model_cfg = model or ModelConfig()
        self.training_cfg = training or TrainingConfig()
        self.predictor = None

    def _tables(self, ctx: MethodContext) -> dict[str, DataFrame]:
        if ctx.features is None:
            raise ValueError(
                "method 'graph' needs features.campaign_snapshots; run "
                "`campaign-revenue graph` first"
            )
        tables = {name: ctx.table(name) for name in NEEDED}
        tables.update({n: ctx.tables[n] for n in OPTIONAL if n in ctx.tables})
        return tables

    def _raw(self, examples: DataFrame, ctx: MethodContext):
        from campaign_revenue.model.tensors import build_snapshots

        out = Path(tempfile.mkdtemp(prefix="graph-method-"))
        try:
            return build_snapshots(
                self._tables(ctx),
                ctx.features,
                examples,
                out,
                k=self.model_cfg.max_customers or self.model_cfg.fanout[0],
                seed=ctx.config.seed,
                lookback_days=self.model_cfg.customer_lookback_days,
                horizon_days=ctx.horizon_days,
                roas_lookback_days=ctx.config.roas_lookback_days,
            )
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def fit(self, train: DataFrame, ctx: MethodContext) -> GraphMethod:
        from campaign_revenue.model.tensors import FeatureSpec
        from campaign_revenue.model.train import (
            fit_predictor,
            model_kwargs,
            train_in_process,
        )

        labelled = train.where(F.col("label").isNotNull()).select(
            "campaign_id", F.col("as_of_date").cast("date"), "label"
        )
        raw = self._raw(labelled, ctx)
        if len(raw) == 0:
            raise ValueError("graph got no labelled training examples")
        dates = sorted(raw.keys["as_of_date"].unique())
        n_val = max(1, int(round(len(dates) * VALIDATION_SHARE)))
        if len(dates) > 1:
            is_val = raw.keys["as_of_date"].isin(dates[-n_val:]).to_numpy()
        else:
            # one date only: validate on the training snapshots themselves
            is_val = pd.Series(True, index=raw.keys.index).to_numpy()
        fit_raw = raw.subset(~is_val) if (~is_val).any() else raw
        val_raw = raw.subset(is_val)
        spec = FeatureSpec.fit(fit_raw)
        fit_t, val_t = spec.transform(fit_raw), spec.transform(val_raw)
        kwargs = model_kwargs(spec, self.model_cfg, fit_t)
        training = self.training_cfg.model_copy(update={"seed": ctx.config.seed})
        fit = train_in_process(fit_t, val_t, kwargs, self.model_cfg, training)
        self.predictor = fit_predictor(
            fit, spec, kwargs, val_t, self.model_cfg.interval_level
        )
        log.info(
            "graph fit rows=%d validation=%d best_epoch=%d",
            len(fit_raw),
            len(val_raw),
            fit.best_epoch,
        )
        return self

    def predict(self, snapshots: DataFrame, ctx: MethodContext) -> DataFrame:
        if self.predictor is None:
            raise ValueError("graph is not fitted; call fit first")
        pairs = snapshots.select(
            "campaign_id", F.col("as_of_date").cast("date")
        ).distinct()
        raw = self._raw(pairs, ctx)
        pred, lower, upper = self.predictor.predict(raw)
        out = raw.keys[["campaign_id", "as_of_date"]].assign(
            prediction=pred, lower=lower, upper=upper
        )
        return snapshots.sparkSession.createDataFrame(
            out,
            "campaign_id string, as_of_date date, prediction double, "
            "lower double, upper double",
        )
