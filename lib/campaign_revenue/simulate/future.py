"""The 30 days after the data end: saved state, re-simulation and counterfactuals."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from campaign_revenue.simulate.engine import (
    Chunk,
    Curves,
    Events,
    Mechanics,
    simulate_days,
)

log = logging.getLogger(__name__)

STATE_DIR = Path("truth") / "state"
_MECH_ARRAYS = (
    "channel", "beta", "exposure_rate", "initial_budget", "ctr", "decay", "kappa",
    "start_day", "last_day", "unlisted",
)


@dataclass
class FutureWorld:
    """What the future re-simulation needs besides the chunks' state.

    Attributes:
        campaign_ids: campaign id per campaign index.
        mechanics: per-campaign mechanics.
        plan: planned spend per campaign and window day.
        season: organic rate multiplier per day index.
        n_days: days of input data (the window's first day index).
        seed: world seed.
        sigma_value: log-scale spread of one order's value.
        click_window_days: attribution window after a click.
        view_window_days: attribution window after a view.
        n_chunks: customer chunks.
    """

    campaign_ids: np.ndarray
    mechanics: Mechanics
    plan: np.ndarray
    season: np.ndarray
    n_days: int
    seed: int
    sigma_value: float
    click_window_days: int
    view_window_days: int
    n_chunks: int

    def save(self, out: Path) -> None:
        """Write the world to ``out/truth/state/world.npz``."""
        folder = out / STATE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        mech = {f"mech_{k}": getattr(self.mechanics, k) for k in _MECH_ARRAYS}
        np.savez(
            folder / "world.npz",
            campaign_ids=self.campaign_ids.astype(str),
            plan=self.plan,
            season=self.season,
            scalars=np.array([
                self.n_days, self.seed, self.click_window_days,
                self.view_window_days, self.n_chunks,
            ]),
            floats=np.array([self.sigma_value, self.mechanics.fatigue_days]),
            **mech,
        )

    @classmethod
    def load(cls, out: Path) -> FutureWorld:
        """Read the world saved by :meth:`save` under ``out``."""
        path = out / STATE_DIR / "world.npz"
        if not path.exists():
            raise FileNotFoundError(
                f"no simulator state at {path}; run generate into {out} first"
            )
        z = np.load(path)
        n_days, seed, click, view, n_chunks = (int(v) for v in z["scalars"])
        sigma_value, fatigue_days = (float(v) for v in z["floats"])
        mech = Mechanics(
            fatigue_days=fatigue_days,
            **{k: z[f"mech_{k}"] for k in _MECH_ARRAYS},
        )
        return cls(
            campaign_ids=z["campaign_ids"],
            mechanics=mech,
            plan=z["plan"],
            season=z["season"],
            n_days=n_days,
            seed=seed,
            sigma_value=sigma_value,
            click_window_days=click,
            view_window_days=view,
            n_chunks=n_chunks,
        )


def chunk_path(out: Path, index: int) -> Path:
    """Where the state of chunk ``index`` at the data end is kept."""
    return out / STATE_DIR / f"chunk-{index:05d}.npz"


def save_chunk(out: Path, chunk: Chunk) -> None:
    """Write a chunk's state at the data end."""
    path = chunk_path(out, chunk.index)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **chunk.arrays())


def load_chunk(out: Path, index: int) -> Chunk:
    """Read a chunk's state at the data end (a fresh copy each call)."""
    with np.load(chunk_path(out, index)) as z:
        return Chunk.from_arrays(index, {k: z[k] for k in z.files})


def simulate_range(
    world: FutureWorld,
    chunk: Chunk,
    spend: np.ndarray,
    first_day: int,
    curves: Curves | None = None,
) -> Events:
    """Simulate ``spend.shape[1]`` days of one chunk from ``first_day`` on."""
    return simulate_days(
        chunk,
        world.mechanics,
        spend,
        first_day,
        world.season,
        world.seed,
        world.sigma_value,
        world.click_window_days,
        world.view_window_days,
        curves=curves,
    )


def simulate_future(
    world: FutureWorld, chunk: Chunk, spend: np.ndarray, curves: Curves | None = None
) -> Events:
    """Simulate the window after the data end for one chunk under ``spend``."""
    return simulate_range(world, chunk, spend, world.n_days, curves)


def counterfactual(
    out_dir: str | Path, spend_by_campaign: dict[str, float]
) -> pd.DataFrame:
    """Re-simulate the 30 days after the data end with other spend.

    Campaigns named in ``spend_by_campaign`` get that total spend over the window,
    spread over their planned days in the plan's proportions; the others keep the
    plan. Random numbers are common with the generated future, so the unchanged
    plan reproduces ``truth/campaign_windows`` for the window exactly.

    Args:
        out_dir: folder written by ``generate``.
        spend_by_campaign: total window spend per campaign id.

    Returns:
        One row per campaign with planned or simulated activity: campaign_id,
        spend, incremental_revenue and attributed_revenue (the realized draw) and
        expected_incremental_revenue (its expectation over purchase draws).

    Raises:
        ValueError: for an unknown campaign, a negative spend, or a campaign with
            spend but no planned day in the window.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    world = FutureWorld.load(out)
    spend = scaled_plan(world, spend_by_campaign)
    n = len(world.campaign_ids)
    incremental = np.zeros(n)
    attributed = np.zeros(n)
    expected = np.zeros(n)
    for index in range(world.n_chunks):
        events = simulate_future(world, load_chunk(out, index), spend)
        caused = events.cv_cause >= 0
        incremental += np.bincount(
            events.cv_cause[caused], weights=events.cv_revenue[caused], minlength=n
        )
        credited = events.cv_attributed >= 0
        attributed += np.bincount(
            events.cv_attributed[credited],
            weights=events.cv_revenue[credited],
            minlength=n,
        )
        expected += events.expected_incremental

    frame = pd.DataFrame({
        "campaign_id": world.campaign_ids,
        "spend": np.round(spend.sum(axis=1), 2),
        "incremental_revenue": np.round(incremental, 2),
        "attributed_revenue": np.round(attributed, 2),
        "expected_incremental_revenue": expected,
    })
    keep = (frame["spend"] > 0) | (frame["attributed_revenue"] > 0)
    keep |= frame["incremental_revenue"] > 0
    frame = frame[keep].reset_index(drop=True)
    log.info(
        "counterfactual campaigns=%d seconds=%.2f",
        len(frame), time.perf_counter() - started,
    )
    return frame


def scaled_plan(world: FutureWorld, spend_by_campaign: dict[str, float]) -> np.ndarray:
    """The plan with the named campaigns' window totals replaced."""
    spend = world.plan.copy()
    index = {cid: k for k, cid in enumerate(world.campaign_ids)}
    for cid, total in spend_by_campaign.items():
        if cid not in index:
            raise ValueError(
                f"spend_by_campaign names unknown campaign {cid!r}; "
                f"e.g. {', '.join(world.campaign_ids[:3])}"
            )
        if total < 0:
            raise ValueError(f"spend for {cid!r} is negative: {total}")
        row = spend[index[cid]]
        planned = row.sum()
        if planned > 0:
            spend[index[cid]] = row * (total / planned)
        elif total > 0:
            raise ValueError(
                f"campaign {cid!r} has no planned day in the window; "
                "only planned campaigns can be given spend"
            )
    return spend
