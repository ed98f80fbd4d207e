"""Forest plots for the influencing-factor analysis: results in, a matplotlib Figure out."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .plots_efficacy import NO_DATA


def forest_plot(rows: pd.DataFrame, *, xlabel: str, reference: float | None = 1.0, log_scale: bool = True,
                percent: bool = False, title: str | None = None, label_right: str = ""):
    """One row per estimate, top to bottom in the given order: point estimate with its CI.

    ``rows`` columns: ``label`` (left text), ``estimate``, ``ci_low``, ``ci_high`` and optional
    ``right`` (text printed at the right, e.g. "6/12" or "0.45 (0.12-1.6)") and ``header``
    (True for a factor title row without an estimate). Ratios are drawn on a log axis with a
    line at 1; rates (``percent=True``) on 0-100 % with a line at the overall rate
    (``reference``). CI ends beyond the axis are clipped and marked with an arrow.
    """
    if rows.empty or rows["estimate"].notna().sum() == 0:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.set_axis_off()
        ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=ax.transAxes)
        return fig
    n = len(rows)
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.3 * n))
    y = np.arange(n)[::-1]
    scale = 100 if percent else 1
    est, low, high = (rows[c].to_numpy(float) * scale for c in ("estimate", "ci_low", "ci_high"))
    if log_scale:
        finite = np.concatenate([est[np.isfinite(est) & (est > 0)], low[np.isfinite(low) & (low > 0)],
                                 high[np.isfinite(high) & (high > 0)]])
        lo, hi = max(finite.min() / 1.5, 1e-2), min(finite.max() * 1.5, 1e2)
        lo, hi = min(lo, 0.5), max(hi, 2)
        ax.set_xscale("log")
    else:
        lo, hi = 0, 100
    for yi, e, a, b in zip(y, est, low, high):
        if np.isnan(e):
            continue
        a_c, b_c = max(a, lo) if not np.isnan(a) else lo, min(b, hi) if not np.isnan(b) else hi
        ax.plot([a_c, b_c], [yi, yi], color="#34495e", lw=1.3)
        ax.plot(e, yi, marker="s", color="#1f4e79", ms=6)
        if np.isnan(a) or a < lo:
            ax.annotate("", xy=(lo, yi), xytext=(lo * 1.3 if log_scale else lo + 4, yi),
                        arrowprops=dict(arrowstyle="->", color="#34495e", lw=1))
        if np.isnan(b) or b > hi:
            ax.annotate("", xy=(hi, yi), xytext=(hi / 1.3 if log_scale else hi - 4, yi),
                        arrowprops=dict(arrowstyle="->", color="#34495e", lw=1))
    if reference is not None:
        ax.axvline(reference * scale, color="#999999", lw=1, ls="--")
    ax.set_xlim(lo, hi)
    if log_scale:                                   # plain numbers, not powers of ten
        ticks = [t for t in (0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100) if lo <= t <= hi]   # evenly spaced
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.minorticks_off()
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_yticks(y)
    headers = rows["header"].fillna(False).to_numpy(bool) if "header" in rows else np.zeros(n, bool)
    ax.set_yticklabels(rows["label"].tolist(), fontsize=9)
    for tick, is_header in zip(ax.get_yticklabels(), headers):
        tick.set_fontweight("bold" if is_header else "normal")
    if "right" in rows:
        for yi, text in zip(y, rows["right"].fillna("")):
            ax.text(1.02, yi, text, transform=ax.get_yaxis_transform(), va="center", fontsize=8.5)
        if label_right:
            ax.text(1.02, n - 0.35, label_right, transform=ax.get_yaxis_transform(), va="bottom", fontsize=8.5,
                    fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
