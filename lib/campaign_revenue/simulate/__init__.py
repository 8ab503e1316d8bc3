"""Built-in simulator: a realistic campaign world in the input contract, with truth.

Example:
    >>> from campaign_revenue.simulate import generate, counterfactual
    >>> summary = generate("/tmp/cr-tiny", preset="tiny", seed=7)  # doctest: +SKIP
    >>> counterfactual("/tmp/cr-tiny", {"cmp_0003": 5000.0})  # doctest: +SKIP
"""

from campaign_revenue.simulate.future import counterfactual
from campaign_revenue.simulate.generate import GenerateSummary, generate
from campaign_revenue.simulate.presets import PRESETS, Preset, get_preset
from campaign_revenue.simulate.sanity import sanity_report

__all__ = [
    "PRESETS",
    "GenerateSummary",
    "Preset",
    "counterfactual",
    "generate",
    "get_preset",
    "sanity_report",
]
