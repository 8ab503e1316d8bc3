"""The allocate step end to end on the tiny simulator (slow)."""

from __future__ import annotations

import pandas as pd
import pytest

from campaign_revenue.incrementality import incrementality_for, run_allocate

pytestmark = pytest.mark.slow

GOLD = (
    "gold.lift_measurements",
    "gold.incrementality",
    "gold.response_curves",
    "gold.budget_allocations",
    "gold.recommended_spend_plan",
)


def test_allocate_on_tiny_is_idempotent(spark, cfg, lakehouse, tmp_path):
    from campaign_revenue.ingest import ingest
    from campaign_revenue.simulate import generate

    data = tmp_path / "input"
    generate(data, preset="tiny", seed=3)
    ingest(spark, cfg, str(data))
    cfg.allocation.mmm_curves = False

    first = run_allocate(spark, cfg, lakehouse, out=tmp_path / "out")
    counts = {t: lakehouse.read(t).count() for t in GOLD}
    second = run_allocate(spark, cfg, lakehouse, out=tmp_path / "out")
    assert {t: lakehouse.read(t).count() for t in GOLD} == counts
    assert second.gain == pytest.approx(first.gain)

    alloc = first.allocations
    assert alloc["recommended_spend"].sum() == pytest.approx(first.total_budget)
    assert first.gain >= -1e-6
    plan = pd.read_parquet(first.spend_plan_path)
    back = plan.groupby("campaign_id")["planned_spend"].sum()
    rec = alloc.set_index("campaign_id")["recommended_spend"]
    assert back.reindex(rec.index).fillna(0.0).to_numpy() == pytest.approx(rec.to_numpy())

    cols = incrementality_for(spark, cfg, lakehouse, first.as_of).columns
    assert cols == [
        "campaign_id", "as_of_date", "predicted_incremental_revenue",
        "incremental_lower", "incremental_upper", "incremental_roas",
    ]
