"""Quality-of-life figures: analysis results in, a matplotlib Figure out."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd

from .plots_efficacy import CURVE_COLOURS, NO_DATA


def mean_change_plot(summaries: dict[str, pd.DataFrame], *, threshold: float = 10.0, min_n: int = 5,
                     title: str | None = None):
    """Mean change from baseline with 95 % CI over analysis visits: one small panel per scale
    (shared axes, so scales compare at a glance).

    ``summaries``: scale label -> :func:`mpmlib.qol_analysis.by_visit` output (columns visit,
    n_change, mean_change, change_ci_low, change_ci_high). Visits with fewer than ``min_n``
    changes are not drawn (their means are too unstable). Dotted lines at +- ``threshold`` mark a
    clinically meaningful change (Osoba 1998); the number of subjects is printed under each point.
    """
    data = {label: s[s["visit"].ne("BASELINE") & (s["n_change"] >= min_n)] for label, s in summaries.items()}
    data = {label: s for label, s in data.items() if len(s)}
    if not data:
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.set_axis_off()
        ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=ax.transAxes, fontsize=12)
        return fig
    ncols = 2
    nrows = math.ceil(len(data) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(10, 2.6 * nrows + 0.6), sharex=True, sharey=True, squeeze=False)
    for i, (label, s) in enumerate(data.items()):
        ax = axes[i // ncols][i % ncols]
        weeks = s["visit"].str.split().str[1].astype(float)
        colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
        ax.errorbar(weeks, s["mean_change"], yerr=[s["mean_change"] - s["change_ci_low"], s["change_ci_high"] - s["mean_change"]],
                    color=colour, marker="o", ms=4, lw=1.4, capsize=2.5)
        ax.axhline(0, color="#333333", lw=0.8)
        for y in (threshold, -threshold):
            ax.axhline(y, color="#777777", lw=0.8, ls=":")
        for w, m, n in zip(weeks, s["change_ci_low"], s["n_change"]):
            ax.annotate(str(int(n)), (w, m), textcoords="offset points", xytext=(0, -10), ha="center", fontsize=7,
                        color="#555555")
        ax.set_title(label, fontsize=10)
    for j in range(len(data), nrows * ncols):
        axes[j // ncols][j % ncols].set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("Weeks since first dose")
    for row in axes:
        row[0].set_ylabel("Mean change (95% CI)")
    fig.text(0.01, 0.005, f"Dotted lines: +-{threshold:g} points (clinically meaningful change). Numbers: subjects "
             f"with a change at the visit; visits with fewer than {min_n} are not drawn.", fontsize=8, color="#555555")
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig
