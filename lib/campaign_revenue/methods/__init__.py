"""The competing methods, by name: every one predicts the same target.

Example:
    >>> get_method("mta_time_decay", half_life_days=3.0).name
    'mta_time_decay'
"""

from __future__ import annotations

from campaign_revenue.methods.base import Method, MethodContext
from campaign_revenue.methods.gbm import LightGbm
from campaign_revenue.methods.graph import GraphMethod
from campaign_revenue.methods.mmm import Mmm
from campaign_revenue.methods.mta import MtaLinear, MtaMarkov, MtaPosition, MtaTimeDecay
from campaign_revenue.methods.persistence import Persistence
from campaign_revenue.methods.roas import LastTouchRoas, RoasMethod

METHODS: dict[str, type[Method]] = {
    m.name: m
    for m in (
        Persistence,
        LastTouchRoas,
        MtaLinear,
        MtaTimeDecay,
        MtaPosition,
        MtaMarkov,
        Mmm,
        LightGbm,
        GraphMethod,
    )
}

ATTRIBUTION_METHODS = (
    "last_touch_roas",
    "mta_linear",
    "mta_time_decay",
    "mta_position",
    "mta_markov",
)


def get_method(name: str, **kw: object) -> Method:
    """A new, unfitted method by name.

    Args:
        name: a key of ``METHODS``.
        **kw: the method's own settings (``half_life_days``, ``lookback_days``).

    Raises:
        ValueError: if ``name`` is not a known method.
    """
    try:
        cls = METHODS[name]
    except KeyError:
        raise ValueError(
            f"unknown method {name!r}; valid methods: {', '.join(METHODS)}"
        ) from None
    return cls(**kw)  # type: ignore[call-arg]


__all__ = [
    "ATTRIBUTION_METHODS",
    "METHODS",
    "Method",
    "MethodContext",
    "RoasMethod",
    "get_method",
]
