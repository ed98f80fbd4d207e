"""What every figure module shares: the empty-figure convention, input checks, curve colours.

Figures take analysis results and return a matplotlib Figure; nothing statistical is computed in
:mod:`mpmlib.plots`. An empty input gives a figure saying :data:`NO_DATA` (never an empty axis
that could be read as "no events"); a missing input column is a :class:`~mpmlib.errors.DataError`
naming the figure and the column.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from mpmlib.errors import DataError

#: Curve colours for Kaplan-Meier plots, in the order of the ``curves`` dict (Okabe-Ito).
CURVE_COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"]
#: The text of a figure whose input has no rows.
NO_DATA = "No data to plot"


def no_data(title=None, figsize=(8, 5), footnote=None):
    """A figure of ``figsize`` saying :data:`NO_DATA`, with the optional title and footnote."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_axis_off()
    ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", fontsize=13, color="#555555",
            transform=ax.transAxes)
    if title:
        ax.set_title(title)
    if footnote:
        fig.text(0.01, 0.01, footnote, fontsize=8, color="#444444")
    return fig


def require_columns(df: pd.DataFrame, columns, where: str) -> None:
    """Raise a DataError naming ``where`` and the ``columns`` missing from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(where, ", ".join(missing), "required column missing",
                        detail=f"columns present: {list(df.columns)}")
