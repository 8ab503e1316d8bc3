"""Point-in-time campaign snapshot features and their dictionary."""

from campaign_revenue.features.campaign import (
    FEATURE_COLUMNS,
    KEY,
    campaign_snapshot_features,
    overlap_table,
)
from campaign_revenue.features.dictionary import FEATURES, display, feature_info

__all__ = [
    "FEATURES",
    "FEATURE_COLUMNS",
    "KEY",
    "campaign_snapshot_features",
    "display",
    "feature_info",
    "overlap_table",
]
