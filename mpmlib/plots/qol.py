"""Quality-of-life figures: analysis results in, a matplotlib Figure out."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd

from mpmlib.plots.common import CURVE_COLOURS, NO_DATA
from mpmlib.analysis.qol import ci_available, ci_label


def mean_change_data(summaries: dict[str, pd.DataFrame], min_n: int = 3) -> dict[str, pd.DataFrame]:
    """The visits the mean-change figure draws: post-baseline visits that pass
    :func:`mpmlib.analysis.qol.ci_available` with ``min_n`` (``qol.min_n_ci``), the rule that
    gives the by-visit tables their CIs, so the figure shows exactly the visits with a CI in the
    tables. Summaries made with another minimum n are a ValueError. Scales with nothing to draw
    are left out."""
    out = {}
    for label, s in summaries.items():
        post = s[s["visit"].ne("BASELINE")]
        drawn = ci_available(post["n_change"], min_n)
        if not drawn.eq(post["change_ci_low"].notna()).all():
            raise ValueError(f"{label}: by-visit CIs were made with another minimum n than {min_n} (qol.min_n_ci)")
        if drawn.any():
            out[label] = post[drawn]
    return out


def mean_change_plot(summaries: dict[str, pd.DataFrame], *, threshold: float = 10.0, min_n: int = 3,
                     alpha: float = 0.05, title: str | None = None):
    """Mean change from baseline with its CI (level 1 - ``alpha``, labelled by
    :func:`mpmlib.analysis.qol.ci_label`; clipped to the range of change as in the tables) over
    analysis visits: one small panel per scale (shared axes, so scales compare at a glance).

    ``summaries``: scale label -> :func:`mpmlib.analysis.qol.by_visit` output (columns visit,
    n_change, mean_change, change_ci_low, change_ci_high), made with the same ``alpha`` and
    ``min_n``. Visits are those of :func:`mean_change_data` (no CI, not drawn). Dotted lines at
    +- ``threshold`` mark a clinically meaningful change; the number of subjects is printed under
    each point.
    """
    data = mean_change_data(summaries, min_n)
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
        weeks = s["visit"].str.split().str[1].astype(float).to_numpy()
        mean, low, high = (s[c].to_numpy(dtype=float) for c in ("mean_change", "change_ci_low", "change_ci_high"))
        colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
        ax.errorbar(weeks, mean, yerr=[mean - low, high - mean],
                    color=colour, marker="o", ms=4, lw=1.4, capsize=2.5)
        ax.axhline(0, color="#333333", lw=0.8)
        for y in (threshold, -threshold):
            ax.axhline(y, color="#777777", lw=0.8, ls=":")
        for w, m, n in zip(weeks, low, s["n_change"]):
            ax.annotate(str(int(n)), (w, m), textcoords="offset points", xytext=(0, -10), ha="center", fontsize=7,
                        color="#555555")
        ax.set_title(label, fontsize=10)
    for j in range(len(data), nrows * ncols):
        axes[j // ncols][j % ncols].set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("Analysis visit, weeks since first dose (the questionnaire schedule is set in weeks)")
    for row in axes:
        row[0].set_ylabel(f"Mean change ({ci_label(alpha)} CI)")
    clipped = any(s["change_ci_clipped"].any() for s in data.values() if "change_ci_clipped" in s)
    fig.text(0.01, 0.005, f"Dotted lines: +-{threshold:g} points (clinically meaningful change). Numbers: subjects "
             f"with a change at the visit; visits with fewer than {max(int(min_n), 2)} (no CI) are not drawn."
             + (" CIs cut to the range of change (-100 to 100)." if clipped else ""), fontsize=8, color="#555555")
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig
