"""Adapters: public datasets into the input contract, one module per dataset.

Example:
    >>> adapt("completejourney", "data/cj", "/tmp/cj")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from campaign_revenue.adapters.completejourney import (
    AdaptSummary,
    adapt_completejourney,
)
from campaign_revenue.adapters.mmm_weekly import load_mmm_weekly

ADAPTERS: dict[str, Callable[[Path, Path], AdaptSummary]] = {
    "completejourney": adapt_completejourney,
}


def adapt(dataset: str, source: str | Path, out: str | Path) -> AdaptSummary:
    """Run the adapter of ``dataset`` from ``source`` into ``out``.

    Raises:
        ValueError: if ``dataset`` has no adapter, listing those that do.
    """
    try:
        fn = ADAPTERS[dataset]
    except KeyError:
        raise ValueError(
            f"unknown dataset {dataset!r}; valid datasets: {', '.join(ADAPTERS)}"
        ) from None
    return fn(Path(source), Path(out))


__all__ = [
    "ADAPTERS",
    "AdaptSummary",
    "adapt",
    "adapt_completejourney",
    "load_mmm_weekly",
]
