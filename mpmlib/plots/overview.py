"""Figures: analysis results in, a matplotlib Figure out (nothing computed here)."""

from __future__ import annotations

import matplotlib.pyplot as plt


def consort_flow(counts: dict[str, int], reasons_treatment_ended: dict[str, int] | None = None):
    """CONSORT 2010-style flow of subjects (single-arm adaptation): screened -> enrolled ->
    treated -> efficacy population, with the exclusions at each step in side boxes.

    ``counts`` is :func:`mpmlib.tables.summary.disposition_counts`.
    """
    fig, ax = plt.subplots(figsize=(8.5, 7.2))
    ax.set_axis_off()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    box = dict(boxstyle="round,pad=0.5", facecolor="#eef3f8", edgecolor="#34495e")
    side = dict(boxstyle="round,pad=0.45", facecolor="#fbf3e6", edgecolor="#a0703a")
    main = [
        (9.2, f"Screened (in DM)\nN = {counts['screened']}"),
        (7.0, f"Enrolled\nN = {counts['enrolled']}"),
        (4.8, f"Treated: safety population\nN = {counts['treated']}"),
        (2.6, f"Efficacy population\n(measurable disease at baseline)\nN = {counts['efficacy']}"),
    ]
    for y, text in main:
        ax.text(3.2, y, text, ha="center", va="center", fontsize=10, bbox=box)
    for (y0, _), (y1, _) in zip(main, main[1:]):
        ax.annotate("", xy=(3.2, y1 + 0.55), xytext=(3.2, y0 - 0.55),
                    arrowprops=dict(arrowstyle="->", color="#34495e"))
    sides = [
        (8.1, f"Not enrolled (screen failure)\nn = {counts['not_enrolled']}"),
        (5.9, f"Enrolled, never dosed\nn = {counts['not_treated']}"),
        (3.7, f"No measurable disease\nat baseline n = {counts['no_measurable_disease']}"),
    ]
    for y, text in sides:
        ax.annotate("", xy=(6.2, y), xytext=(3.2, y), arrowprops=dict(arrowstyle="->", color="#a0703a", lw=0.8))
        ax.text(6.35, y, text, ha="left", va="center", fontsize=9, bbox=side)
    if counts["treatment_ongoing"] is None:
        lines = ["End of treatment not recorded separately in DS"]
    else:
        lines = [f"Treatment ongoing at data cut-off: n = {counts['treatment_ongoing']}",
                 f"Treatment ended: n = {counts['treatment_ended']}"]
    for reason, n in (reasons_treatment_ended or {}).items():
        lines.append(f"  - {reason.capitalize()}: {n}")
    lines.append(f"Deaths (any time): n = {counts['deaths']}")
    ax.text(3.2, 0.2, "\n".join(lines), ha="center", va="bottom", fontsize=9, bbox=box,
            multialignment="left")
    fig.tight_layout()
    return fig
