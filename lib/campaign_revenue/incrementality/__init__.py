"""Incrementality: measured lift, estimated lift for every campaign, and allocation.

Example:
    >>> from campaign_revenue.incrementality import run_allocate
    >>> print(run_allocate(spark, cfg, lakehouse))  # doctest: +SKIP
"""

from campaign_revenue.incrementality.allocate import (
    AllocationSummary,
    Bounds,
    allocation_bounds,
    optimize,
    run_allocate,
)
from campaign_revenue.incrementality.curves import response_curves
from campaign_revenue.incrementality.lift import measure_lift, write_lift
from campaign_revenue.incrementality.model import (
    calibrate,
    estimate_incrementality,
    incrementality_for,
    run_incrementality,
)

__all__ = [
    "AllocationSummary",
    "Bounds",
    "allocation_bounds",
    "calibrate",
    "estimate_incrementality",
    "incrementality_for",
    "measure_lift",
    "optimize",
    "response_curves",
    "run_allocate",
    "run_incrementality",
    "write_lift",
]
