"""Loader: the weekly retail media-mix file (sibylhe ``mmm_stan``) as arrays.

The file holds 209 weeks (2014-08-03 to 2018-07-29) of total sales and spend
for 10 channels (``mdsp_*``); e-mail, SMS and affiliates have impressions but
no spend and are left out. It has no customers, campaigns or daily rows, so it
tests the spend-to-revenue part (``methods.mmm.fit_mmm``) only.
``load_mmm_weekly_with_controls`` also returns the control columns (holidays,
season dummies, markdowns, store count, macro economy, the undocumented
``va_pub_*`` flags) for ``fit_mmm(..., controls=...)``.

Example:
    >>> dates, spend, revenue, channels = load_mmm_weekly(path)  # doctest: +SKIP
    >>> spend.shape  # doctest: +SKIP
    (209, 10)
    >>> data = load_mmm_weekly_with_controls(path)  # doctest: +SKIP
    >>> data.controls.shape, data.control_names[:2]  # doctest: +SKIP
    ((209, 50), ['hldy_Black Friday', 'hldy_Christmas Day'])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DATE_COLUMN = "wk_strt_dt"
SALES_COLUMN = "sales"
SPEND_PREFIX = "mdsp_"
# Control columns, by group, in this order: holiday and season one-hots,
# markdowns, store count, macro economy, undocumented va_pub_* flags.
CONTROL_PREFIXES = ("hldy_", "seas_", "mrkdn_", "st_ct", "me_", "va_pub_")


@dataclass(frozen=True)
class MmmWeekly:
    """The weekly media-mix file as arrays, with its control columns.

    Attributes:
        dates: week starts (datetime64[D]), ascending, shape [T].
        spend: spend per week and channel, shape [T, C].
        revenue: sales per week, shape [T].
        channels: channel codes in the order of the spend columns.
        controls: control values per week, shape [T, K], float.
        control_names: the csv column of each control, grouped in the order
            of ``CONTROL_PREFIXES`` and in file order within a group.
    """

    dates: np.ndarray
    spend: np.ndarray
    revenue: np.ndarray
    channels: list[str]
    controls: np.ndarray
    control_names: list[str]

    def select(self, prefixes: tuple[str, ...] | list[str]) -> np.ndarray:
        """The control columns whose names start with any of ``prefixes``."""
        idx = [
            i
            for i, name in enumerate(self.control_names)
            if name.startswith(tuple(prefixes))
        ]
        return self.controls[:, idx]


def load_mmm_weekly(
    path: str | Path,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Weekly dates, spend per channel and revenue of the media-mix csv.

    Args:
        path: ``case_study_data.csv``.

    Returns:
        ``dates`` (datetime64[D], week starts, ascending), ``spend`` [T, C],
        ``revenue`` [T] and the channel codes (``dm``, ``inst``, ...) in the
        order of the spend columns.

    Raises:
        ValueError: if the file lacks the date, sales or any spend column, or
            has missing values in them.
    """
    frame = pd.read_csv(path)
    spend_cols = [c for c in frame.columns if c.startswith(SPEND_PREFIX)]
    missing = [c for c in (DATE_COLUMN, SALES_COLUMN) if c not in frame.columns]
    if missing or not spend_cols:
        wanted = missing + ([] if spend_cols else [f"{SPEND_PREFIX}*"])
        raise ValueError(f"{path} lacks column(s) {', '.join(wanted)}")
    used = frame[[DATE_COLUMN, SALES_COLUMN, *spend_cols]]
    if used.isna().any().any():
        bad = used.columns[used.isna().any()].tolist()
        raise ValueError(f"{path} has missing values in {', '.join(bad)}")
    frame = frame.sort_values(DATE_COLUMN, kind="stable")
    dates = pd.to_datetime(frame[DATE_COLUMN]).to_numpy().astype("datetime64[D]")
    spend = frame[spend_cols].to_numpy(dtype=float)
    revenue = frame[SALES_COLUMN].to_numpy(dtype=float)
    channels = [c[len(SPEND_PREFIX):] for c in spend_cols]
    return dates, spend, revenue, channels


def load_mmm_weekly_with_controls(path: str | Path) -> MmmWeekly:
    """``load_mmm_weekly`` plus the control columns of the csv.

    Args:
        path: ``case_study_data.csv``.

    Returns:
        The weeks' dates, spend, revenue, channels, controls and control names.

    Raises:
        ValueError: as ``load_mmm_weekly``, or if the file has no control
            column or missing values in one.
    """
    dates, spend, revenue, channels = load_mmm_weekly(path)
    frame = pd.read_csv(path).sort_values(DATE_COLUMN, kind="stable")
    names = [
        col
        for prefix in CONTROL_PREFIXES
        for col in frame.columns
        if col.startswith(prefix)
    ]
    if not names:
        raise ValueError(
            f"{path} has no control column ({', '.join(CONTROL_PREFIXES)}*)"
        )
    if frame[names].isna().any().any():
        bad = frame[names].columns[frame[names].isna().any()].tolist()
        raise ValueError(f"{path} has missing values in {', '.join(bad)}")
    controls = frame[names].to_numpy(dtype=float)
    return MmmWeekly(dates, spend, revenue, channels, controls, names)
