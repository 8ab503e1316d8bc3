"""Loader: the weekly retail media-mix file (sibylhe ``mmm_stan``) as arrays.

The file holds 209 weeks (2014-08-03 to 2018-07-29) of total sales and spend
for 10 channels (``mdsp_*``); e-mail, SMS and affiliates have impressions but
no spend and are left out. It has no customers, campaigns or daily rows, so it
tests the spend-to-revenue part (``methods.mmm.fit_mmm``) only.

Example:
    >>> dates, spend, revenue, channels = load_mmm_weekly(path)  # doctest: +SKIP
    >>> spend.shape  # doctest: +SKIP
    (209, 10)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATE_COLUMN = "wk_strt_dt"
SALES_COLUMN = "sales"
SPEND_PREFIX = "mdsp_"


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
