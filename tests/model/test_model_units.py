"""Model pieces on tiny inline tensors: batching, HeteroData, gradients, intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from campaign_revenue.config import ModelConfig, TrainingConfig
from campaign_revenue.model.gnn import CampaignGNN, integrated_gradients
from campaign_revenue.model.tensors import (
    REV_TOUCHED,
    TOUCHED,
    FeatureSpec,
    RawSnapshots,
    _rows_of,
)
from campaign_revenue.model.train import (
    conformal_quantiles,
    model_kwargs,
    train_in_process,
)


def raw_snapshots(n: int = 12, seed: int = 0) -> RawSnapshots:
    """``n`` snapshots with 0..3 customers each; revenue follows the customers."""
    rng = np.random.default_rng(seed)
    counts = np.arange(n) % 4
    ptr = np.concatenate([[0], np.cumsum(counts)])
    customer = rng.gamma(2.0, 10.0, size=(int(ptr[-1]), 2))
    revenue = np.array([customer[ptr[i] : ptr[i + 1], 0].sum() for i in range(n)])
    keys = pd.DataFrame({
        "campaign_id": [f"c{i}" for i in range(n)],
        "as_of_date": pd.Timestamp("2025-01-06").date(),
        "label": revenue,
        "is_launched": counts > 0,
    })
    campaign = pd.DataFrame({
        "channel": ["email", "social"] * (n // 2),
        "targeting": None,
        "is_launched": (counts > 0).astype(float),
        "revenue_30d": revenue * 0.5,
    })
    return RawSnapshots(
        keys, campaign, customer, ["organic_revenue_30d", "touches_30d"], ptr,
        np.arange(int(ptr[-1])),
    )


def test_rows_of_gathers_ranges():
    ptr = np.array([0, 2, 2, 5])
    assert _rows_of(ptr, np.array([2, 0])).tolist() == [2, 3, 4, 0, 1]
    assert _rows_of(ptr, np.array([1])).tolist() == []


def test_batch_reindexes_customers_and_hetero_has_both_directions():
    raw = raw_snapshots()
    data = FeatureSpec.fit(raw).transform(raw)
    b = data.batch(torch.tensor([3, 1]))
    # snapshot 3 owns 3 customers, snapshot 1 owns 1
    assert b["edge_index"].tolist() == [[0, 1, 2, 3], [0, 0, 0, 1]]
    assert torch.equal(b["x_customer"][3], data.x_customer[data.ptr[1]])
    h = data.hetero(torch.tensor([3, 1]))
    assert h["campaign"].num_nodes == 2 and h["customer"].num_nodes == 4
    assert torch.equal(h[REV_TOUCHED].edge_index, h[TOUCHED].edge_index.flip(0))
    assert h[TOUCHED].time.shape == (4,)


def test_spec_aligns_columns_by_name_and_one_hots_categories():
    raw = raw_snapshots()
    spec = FeatureSpec.fit(raw)
    assert "channel=email" in spec.campaign_names()
    other = raw_snapshots()
    other.customer = other.customer[:, ::-1].copy()
    other.customer_columns = other.customer_columns[::-1]
    a, b = spec.transform(raw), spec.transform(other)
    assert torch.allclose(a.x_customer, b.x_customer)


def test_gradients_reach_campaign_and_customer_features():
    raw = raw_snapshots()
    spec = FeatureSpec.fit(raw)
    data = spec.transform(raw)
    model = CampaignGNN(len(spec.campaign_names()), 2, hidden=8)
    b = data.batch(torch.arange(len(data)))
    ac, au = integrated_gradients(
        model, b["x_campaign"], b["x_customer"], b["edge_index"], steps=8
    )
    assert ac.shape == (12, len(spec.campaign_names()))
    assert au.shape == (12, 2)
    # snapshots without customers get no customer attribution
    assert torch.all(au[torch.arange(12) % 4 == 0] == 0)
    assert au.abs().sum() > 0


def test_in_process_training_lowers_validation_loss():
    raw = raw_snapshots(n=40)
    spec = FeatureSpec.fit(raw)
    data = spec.transform(raw)
    # the loop itself: every snapshot corrected (no baseline in these)
    mc = ModelConfig(hidden_channels=8, correct_launched=True)
    for loss in ("l1", "huber_log"):
        tc = TrainingConfig(
            epochs=15, batch_size=8, learning_rate=0.02, patience=15, loss=loss
        )
        fit = train_in_process(data, data, model_kwargs(spec, mc), mc, tc)
        losses = fit.history["val_loss"].to_numpy()
        assert losses.min() < losses[0], loss
        assert fit.history["epoch"].tolist() == list(range(len(losses)))


def test_launched_forecast_is_the_offset_alone():
    raw = raw_snapshots()
    spec = FeatureSpec.fit(raw)
    data = spec.transform(raw)
    b = data.batch(torch.arange(len(data)))
    baseline = torch.linspace(0.0, 1000.0, len(data))
    launched = torch.arange(len(data)) % 2 == 0
    model = CampaignGNN(
        len(spec.campaign_names()), 2, hidden=8, offset=True, correct_launched=False
    )
    torch.nn.init.normal_(model.head[-1].weight)
    with torch.no_grad():
        out = model(b["x_campaign"], b["x_customer"], b["edge_index"], baseline, launched)
    # launched: exactly log1p(baseline); the others move off it
    assert torch.allclose(out[launched], torch.log1p(baseline[launched]))
    assert not torch.allclose(out[~launched], torch.log1p(baseline[~launched]))
    # and their features take no attribution
    ac, au = integrated_gradients(
        model, b["x_campaign"], b["x_customer"], b["edge_index"], steps=4,
        launched=launched,
    )
    assert torch.all(ac[launched] == 0) and torch.all(au[launched] == 0)
    assert ac[~launched].abs().sum() > 0


def test_conformal_is_separate_per_launch_state():
    y = np.array([10.0] * 10 + [0.0] * 10)
    f = np.log1p(y) + np.r_[np.full(10, 0.1), np.full(10, 2.0)]
    launched = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    q = conformal_quantiles(f, y, launched, 0.8)
    assert q["launched"] == pytest.approx(0.1)
    assert q["not_launched"] == pytest.approx(2.0)
