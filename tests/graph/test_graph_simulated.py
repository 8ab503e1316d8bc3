"""Overlap, saturation and reach on the simulator's tiny preset against pandas."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pandas as pd
import pytest

from campaign_revenue.graph.run import run_graph
from campaign_revenue.ingest import ingest
from campaign_revenue.simulate import generate

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2025, 4, 1)
AS_OF_TS = pd.Timestamp(AS_OF, tz="UTC")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(spark, tmp_path_factory):
    from campaign_revenue.config import load_config
    from campaign_revenue.tables import Lakehouse

    root = tmp_path_factory.mktemp("graph_tiny")
    generate(root / "data", preset="tiny", seed=0)
    cfg = load_config(ROOT / "conf" / "local.yaml", [f"lakehouse.root={root / 'lh'}"])
    lakehouse = Lakehouse(spark, cfg.lakehouse)
    ingest(spark, cfg, str(root / "data"), clock=dt.datetime(2025, 7, 2))
    run_graph(spark, cfg, lakehouse, as_of=AS_OF)
    touchpoints = pd.read_parquet(root / "data" / "touchpoints.parquet")
    campaigns = pd.read_parquet(root / "data" / "campaigns.parquet")
    return cfg, lakehouse, touchpoints, campaigns


def test_overlap_matches_pandas(world):
    cfg, lakehouse, touchpoints, _ = world
    recent = touchpoints[
        (touchpoints.ts < AS_OF_TS)
        & (touchpoints.ts >= AS_OF_TS - pd.Timedelta(days=90))
    ]
    audience = recent.groupby("campaign_id").customer_id.agg(set).to_dict()
    shared = {
        (a, b): len(audience[a] & audience[b])
        for a, b in itertools.permutations(audience, 2)
    }
    overlap = (
        lakehouse.read("graph.campaign_overlap")
        .where(f"as_of_date = '{AS_OF}'")
        .toPandas()
    )
    assert len(overlap) > 0
    for row in overlap.itertuples():
        a, b = row.campaign_id, row.other_campaign_id
        assert row.shared_customers == shared[(a, b)], (a, b)
        union = len(audience[a] | audience[b])
        assert row.jaccard == pytest.approx(shared[(a, b)] / union)
    # top-K: at most K per campaign, and no dropped pair shares more customers
    k = cfg.features.top_overlap_pairs
    for campaign, kept in overlap.groupby("campaign_id"):
        assert len(kept) <= k
        dropped = [
            n for (a, b), n in shared.items()
            if a == campaign and n > 0 and b not in set(kept.other_campaign_id)
        ]
        assert not dropped or max(dropped) <= kept.shared_customers.min()


def test_reach_and_saturation_match_pandas(world):
    _, lakehouse, touchpoints, campaigns = world
    before = touchpoints[touchpoints.ts < AS_OF_TS].merge(
        campaigns[["campaign_id", "channel"]], on="campaign_id"
    )
    last30 = before[before.ts >= AS_OF_TS - pd.Timedelta(days=30)]
    saturation = (
        last30.groupby("channel").size() / last30.groupby("channel").customer_id.nunique()
    ).to_dict()
    reached = before.groupby("campaign_id").customer_id.nunique().to_dict()

    snaps = (
        lakehouse.read("features.campaign_snapshots")
        .where(f"as_of_date = '{AS_OF}'")
        .toPandas()
    )
    assert len(snaps) > 0
    for row in snaps.itertuples():
        if row.channel in saturation:
            assert row.channel_saturation_30d == pytest.approx(saturation[row.channel])
        if row.is_launched:
            assert row.audience_reached == reached.get(row.campaign_id, 0)
