"""The feature dictionary covers every snapshot column and formats values."""

from __future__ import annotations

import pytest

from campaign_revenue.features import FEATURE_COLUMNS, FEATURES, display
from campaign_revenue.features.dictionary import FORMATS


def test_every_feature_column_has_an_entry():
    # Campaign snapshot columns, plus the graph model's customer-side inputs that
    # attributions name ``audience_<column>`` and its offset; nothing else.
    from campaign_revenue.model.tensors import CUSTOMER_NUMERIC
    from campaign_revenue.features.dictionary import OFFSET_FEATURE

    audience = [f"audience_{c}" for c in (*CUSTOMER_NUMERIC, "ltv_tier", "segment")]
    assert sorted(FEATURES) == sorted([*FEATURE_COLUMNS, *audience, OFFSET_FEATURE])
    for info in FEATURES.values():
        assert info.format in FORMATS
        assert info.description and "\n" not in info.description


@pytest.mark.parametrize(
    "name, value, shown",
    [
        ("high_ltv_share_reached", 0.123, "12%"),
        ("spend_to_date", 1234.4, "$1,234"),
        ("days_since_last_touch", 14, "14 days"),
        ("campaign_age_days", 1, "1 day"),
        ("audience_reached", 12000, "12,000"),
        ("roas_30d", 2.5, "2.50x"),
        ("has_holdout", True, "yes"),
        ("channel", "social", "social"),
        ("roas_30d", None, "n/a"),
        ("pacing", float("nan"), "n/a"),
    ],
)
def test_display(name, value, shown):
    assert display(name, value) == shown


def test_unknown_feature_is_named():
    with pytest.raises(KeyError, match="'reach' is not in the feature dictionary"):
        display("reach", 1)
