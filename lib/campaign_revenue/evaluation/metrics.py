"""Accuracy metrics as pure numpy functions; each returns nan when undefined."""

from __future__ import annotations

import numpy as np

NAN = float("nan")


def _pair(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"y and p differ in shape: {y.shape} vs {p.shape}")
    return y, p


def wape(y: np.ndarray, p: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |y - p| / sum |y|."""
    y, p = _pair(y, p)
    denom = np.abs(y).sum()
    return float(np.abs(y - p).sum() / denom) if denom > 0 else NAN


def mae(y: np.ndarray, p: np.ndarray) -> float:
    """Mean absolute error."""
    y, p = _pair(y, p)
    return float(np.abs(y - p).mean()) if y.size else NAN


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    """Root mean squared error."""
    y, p = _pair(y, p)
    return float(np.sqrt(((y - p) ** 2).mean())) if y.size else NAN


def r2(y: np.ndarray, p: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot (nan for constant y)."""
    y, p = _pair(y, p)
    if y.size < 2:
        return NAN
    ss_tot = ((y - y.mean()) ** 2).sum()
    return float(1.0 - ((y - p) ** 2).sum() / ss_tot) if ss_tot > 0 else NAN


def rank_average(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(x.size)
    ranks[order] = np.arange(1, x.size + 1, dtype=float)
    # Average the ranks within each run of equal values.
    _, start, counts = np.unique(sorted_x, return_index=True, return_counts=True)
    for s, c in zip(start, counts):
        if c > 1:
            ranks[order[s : s + c]] = s + (c + 1) / 2.0
    return ranks


def spearman(y: np.ndarray, p: np.ndarray) -> float:
    """Spearman rank correlation (nan when either side is constant)."""
    y, p = _pair(y, p)
    if y.size < 2:
        return NAN
    ry, rp = rank_average(y), rank_average(p)
    ry, rp = ry - ry.mean(), rp - rp.mean()
    denom = np.sqrt((ry**2).sum() * (rp**2).sum())
    return float((ry * rp).sum() / denom) if denom > 0 else NAN


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of y inside [lower, upper]; nan without intervals."""
    y = np.asarray(y, dtype=float)
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    ok = ~(np.isnan(lower) | np.isnan(upper))
    if not ok.any():
        return NAN
    y, lower, upper = y[ok], lower[ok], upper[ok]
    return float(((y >= lower) & (y <= upper)).mean())


POINT_METRICS = {
    "wape": wape,
    "mae": mae,
    "rmse": rmse,
    "r2": r2,
    "spearman": spearman,
}


def all_metrics(
    y: np.ndarray,
    p: np.ndarray,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> dict[str, float]:
    """Every point metric, plus coverage when an interval is given."""
    out = {name: fn(y, p) for name, fn in POINT_METRICS.items()}
    if lower is not None and upper is not None:
        cov = coverage(y, lower, upper)
        if not np.isnan(cov):
            out["coverage"] = cov
    return out
