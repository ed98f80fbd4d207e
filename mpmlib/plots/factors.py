"""Forest plots for the influencing-factor analysis: results in, a matplotlib Figure out.

The confidence level in every label comes from the results drawn (their ``ci_label``, set from
``alpha`` where the CIs were computed, :func:`mpmlib.analysis.factors.shown_ci_label`), and every ratio
row is labelled with what it compares (:func:`mpmlib.analysis.factors.comparisons`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mpmlib.analysis import factors
from mpmlib.plots.common import CURVE_COLOURS, NO_DATA


def forest_plot(rows: pd.DataFrame, *, xlabel: str, reference: float | None = 1.0, log_scale: bool = True,
                percent: bool = False, title: str | None = None, label_right: str = "",
                footnote: str | None = None):
    """One row per estimate, top to bottom in the given order: point estimate with its CI.

    ``rows`` columns: ``label`` (left text), ``estimate``, ``ci_low``, ``ci_high`` and optional
    ``right`` (text printed at the right, e.g. "6/12" or "0.45 (0.12-1.6)") and ``header``
    (True for a factor title row without an estimate). Ratios are drawn on a log axis with a
    line at 1; rates (``percent=True``) on 0-100 % with a line at the overall rate
    (``reference``). CI ends beyond the axis are clipped and marked with an arrow. ``footnote``
    is printed under the plot (e.g. what a mark in the right-hand text means).
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
    if footnote:
        fig.subplots_adjust(bottom=fig.subplotpars.bottom + 0.35 / fig.get_figheight())
        fig.text(0.01, 0.01, footnote, fontsize=8, color="#444444", gid="footnote")
    return fig


def rate_forest(rates: pd.DataFrame, name: str):
    """Forest plot of subgroup rates (:func:`mpmlib.analysis.factors.subgroup_rates`) on 0-100 %, the
    dashed line at the rate of all subjects, "events/n" at the right; the x label names the
    confidence level of the rates."""
    overall = rates["rate"].iloc[0] if len(rates) else None
    label = f"{name}: rate (%) with {factors.shown_ci_label(rates)}" if len(rates) else name
    return forest_plot(factors.rate_forest_rows(rates), xlabel=label, reference=overall, log_scale=False,
                       percent=True, label_right="Events/n")


def ratio_forest(results: pd.DataFrame, ratio: str, what: str):
    """Forest plot of odds or hazard ratios (``ratio`` "OR" or "HR") from univariable result rows,
    each row labelled "level vs reference" or "per unit", the estimate and its CI at the right
    under "OR (90% CI)" etc. (the level the CIs were computed at); Firth estimates marked "F"."""
    if results.empty:
        return forest_plot(factors.ratio_forest_rows(results), xlabel=what)
    return forest_plot(factors.ratio_forest_rows(results), xlabel=f"{what} (log scale)",
                       label_right=f"{ratio} ({factors.shown_ci_label(results)})",
                       footnote=factors.firth_footnote(results))


def km_grid(curves_by_factor: dict[str, dict[str, pd.DataFrame]], *, ylabel: str = "Probability",
            title: str | None = None, time_divisor: float = 30.4375, ncols: int = 3,
            xlabel: str = "Months since first dose"):
    """Small Kaplan-Meier panels, one per factor, a curve per level (shared axes).

    ``curves_by_factor``: factor label -> {level label -> KM table with ``time`` (days),
    ``survival`` and ``n_censor``}, e.g. :func:`mpmlib.analysis.factors.km_by_factor`. Drawn with the
    conventions of :func:`mpmlib.plots.efficacy.km_plot` (right-continuous steps from (0, 1),
    '+' at censoring times, its Okabe-Ito colours in level order); confidence bands are left out
    so the small panels stay readable. Times are shown as days / ``time_divisor`` (months);
    ``xlabel`` names the time origin of the run (``Run.time_origin``: first dose or randomisation).
    """
    panels = {k: {lv: km for lv, km in v.items() if km is not None and len(km)} for k, v in curves_by_factor.items()}
    panels = {k: v for k, v in panels.items() if v}
    if not panels:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.set_axis_off()
        ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=ax.transAxes)
        return fig
    ncols = min(ncols, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.9 * nrows), sharex=True, sharey=True,
                             squeeze=False, layout="constrained")
    for ax, (factor, curves) in zip(axes.flat, panels.items()):
        for i, (level, km) in enumerate(curves.items()):
            km = km.sort_values("time")
            colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
            x = np.r_[0.0, km["time"].to_numpy(float) / time_divisor]
            ax.step(x, np.r_[1.0, km["survival"].to_numpy(float)], where="post", color=colour, lw=1.4, label=level)
            censored = km[km["n_censor"] > 0]
            ax.plot(censored["time"] / time_divisor, censored["survival"], ls="none", marker="+", ms=6, mew=1,
                    color=colour, gid="censor")
        ax.set_title(factor, fontsize=9)
        ax.legend(fontsize=7, loc="upper right", frameon=False)
        ax.set_ylim(0, 1.02)
        ax.tick_params(labelsize=8)
    for ax in axes.flat[len(panels):]:
        ax.set_axis_off()
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel, fontsize=8)
    for i, ax in enumerate(axes.flat[:len(panels)]):
        if i + ncols >= len(panels):              # lowest panel of its column: x axis labelled
            ax.tick_params(axis="x", labelbottom=True)
            ax.set_xlabel(xlabel, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
