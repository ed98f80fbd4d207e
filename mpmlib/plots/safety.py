"""Safety figures: adverse events by worst CTCAE grade, and time to onset of immune-related AEs.

Analysis results in, a matplotlib Figure out: nothing statistical is computed here, only layout,
sorting and colours (the per-term median onset in :func:`irae_onset_plot` is a sort key and a
guide mark). Every function returns the Figure (it never calls ``plt.show``), is deterministic,
and returns a figure saying "No data to plot" when its input is empty. Subject identifiers are
never printed on a figure; the y tick labels are MedDRA preferred terms.

Grades are CTCAE v5.0 grades 1-5 (5 = death related to the AE), always drawn in the fixed
colours of ``GRADE_COLOURS``: one sequential palette (ColorBrewer YlOrRd, then black) whose
lightness falls with the grade, so the order survives colour-vision deficiency and greyscale.
A subject-term with no grade recorded (``mpmlib.analysis.safety.GRADE_MISSING``, "Missing": ADAE.ATOXGRN
missing on every record of the term) is drawn too, never dropped: grey and hatched in the bars
(after grade 5), a grey diamond in the onset plot, labelled "Grade missing" in the legend.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mpmlib.errors import DataError
from mpmlib.plots.common import NO_DATA, no_data, require_columns
from mpmlib.analysis.safety import GRADE_MISSING

__all__ = ["GRADES", "GRADE_COLOURS", "GRADE_LABELS", "GRADE_MISSING", "MISSING_COLOUR", "NO_DATA", "SEVERITY_LABELS",
           "irae_onset_plot", "teae_grade_bars"]

GRADES = [1, 2, 3, 4, 5]
#: Fixed colour per CTCAE grade: light yellow, orange, red, dark red, black.
GRADE_COLOURS = {1: "#fed976", 2: "#fd8d3c", 3: "#e31a1c", 4: "#800026", 5: "#000000"}
#: No grade recorded: a neutral grey outside the palette (hatched in bars, a diamond as marker).
MISSING_COLOUR = "#bdbdbd"
MISSING_HATCH = "////"
CATEGORIES = [*GRADES, GRADE_MISSING]   # drawing and legend order: grades 1-5, then missing
GRADE_LABELS = {**{g: f"Grade {g}" for g in GRADES}, GRADE_MISSING: "Grade missing"}
#: AESEV data (no CTCAE grade): severity 1-3 = mild, moderate, severe (mpmlib.derive.adae)
SEVERITY_LABELS = {1: "Mild", 2: "Moderate", 3: "Severe", GRADE_MISSING: "Severity missing"}
_COLOURS = {**GRADE_COLOURS, GRADE_MISSING: MISSING_COLOUR}
_MARKERS = {**{g: "o" for g in GRADES}, GRADE_MISSING: "D"}
TIE_STEP = 0.12  # vertical spacing (in rows) between markers of tied onsets within a term


def _grade_handles(grades, marker=False, labels=None):
    """Legend entries for the grades present (1-5 and "Missing"), grade 1 first, missing last:
    patches (bars) or markers; ``labels`` (default GRADE_LABELS) names them."""
    labels = labels or GRADE_LABELS
    present = [g for g in CATEGORIES if g in set(grades)]
    if marker:
        return [Line2D([], [], ls="none", marker=_MARKERS[g], ms=7, mfc=_COLOURS[g], mec="#333333",
                       mew=0.6, label=labels[g]) for g in present]
    return [Patch(facecolor=_COLOURS[g], edgecolor="#444444", lw=0.5, label=labels[g],
                  hatch=MISSING_HATCH if g == GRADE_MISSING else None) for g in present]


def _pct_text(pct: float) -> str:
    """Percentage with at most one decimal: 45 -> "45%", 17.5 -> "17.5%", 3.448 -> "3.4%"."""
    text = f"{pct:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def teae_grade_bars(counts: pd.DataFrame, n_subjects: int, *, title=None,
                    xlabel="Subjects (%)", severity: bool = False):
    """Horizontal bars of the most frequent adverse events, stacked by worst CTCAE grade
    (``severity=True``: the data carry AESEV severity, columns 1-3 are mild / moderate / severe
    and the legend says "Worst severity (AESEV)", never "CTCAE grade").

    ``counts``: one row per preferred term in display order (first row drawn at the top), index =
    term, columns = grades 1..5 and optionally "Missing" (number of subjects whose worst grade
    for that term is that grade, or who have no grade recorded for it, as
    ``mpmlib.analysis.safety.top_terms_by_grade`` returns; a missing column or value is
    0). ``n_subjects``: the denominator (safety population). Segment length = 100 * count /
    n_subjects, stacked grade 1 -> 5 then "Grade missing" (grey, hatched) from left to right; the
    total "pct% (n)" is written after each bar, so every subject with the term is in it. The x
    axis runs to 1.15 * the largest total (at least 10 %); the height is 1.2 + 0.38 inches per
    term. Raises DataError for columns that are not grades 1-5 or "Missing", counts that are not
    non-negative integers, duplicated terms, a total above ``n_subjects``, or ``n_subjects <= 0``.
    """
    if counts is None or counts.empty:
        return no_data(title)
    where = "teae_grade_bars"
    bad = [c for c in counts.columns
           if c != GRADE_MISSING and (c not in GRADES or isinstance(c, (bool, str)))]
    if bad:
        raise DataError(where, "columns", f"columns must be the CTCAE grades 1, 2, 3, 4, 5 or {GRADE_MISSING!r}",
                        detail=f"found {list(counts.columns)}")
    if n_subjects is None or not n_subjects > 0:
        raise DataError(where, "n_subjects", "the denominator must be a positive number of "
                        "subjects", detail=f"got {n_subjects!r}")
    duplicated = counts.index[counts.index.duplicated()]
    if len(duplicated):
        raise DataError(where, "index", "each preferred term must appear once",
                        detail=f"duplicated {sorted(set(map(str, duplicated)))}")
    raw = counts.reindex(columns=CATEGORIES)
    data = raw.apply(pd.to_numeric, errors="coerce")
    values = data.fillna(0).to_numpy(float)
    bad = (data.isna() & raw.notna()).to_numpy() | (values < 0) | (values != np.round(values))
    if bad.any():
        raise DataError(where, "counts", "counts must be non-negative integers",
                        detail=f"found {sorted(set(map(str, raw.to_numpy()[bad])))}")
    if severity and values[:, 3:5].sum() > 0:
        raise DataError(where, "counts", "severity data have three levels: no subject can be in grade 4 or 5")
    labels = SEVERITY_LABELS if severity else GRADE_LABELS
    totals = values.sum(axis=1)
    if (totals > n_subjects).any():
        raise DataError(where, "counts", "a term counts more subjects than n_subjects",
                        detail=f"n_subjects = {n_subjects}, largest total = {totals.max():g}")
    pct = 100.0 * values / n_subjects
    n = len(data)
    y = np.arange(n)
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.38 * n), layout="constrained")
    left = np.zeros(n)
    present = [g for i, g in enumerate(CATEGORIES) if values[:, i].sum() > 0]
    for i, grade in enumerate(CATEGORIES):
        if grade in present:
            ax.barh(y, pct[:, i], left=left, height=0.7, color=_COLOURS[grade],
                    edgecolor="white", linewidth=0.5, label=labels[grade], zorder=2,
                    hatch=MISSING_HATCH if grade == GRADE_MISSING else None)
        left = left + pct[:, i]
    x_max = max(10.0, left.max() * 1.15)
    for yi, total_pct, total in zip(y, left, totals):
        ax.text(total_pct + 0.01 * x_max, yi, f"{_pct_text(total_pct)} ({int(total)})",
                ha="left", va="center", fontsize=8, gid="total")
    ax.set_xlim(0, x_max)
    ax.set_ylim(n - 0.5, -0.5)  # first (most frequent) term at the top
    ax.set_yticks(y, [str(t) for t in data.index], fontsize=9)
    ax.grid(False, axis="y")
    ax.set_xlabel(xlabel)
    if present:
        fig.legend(handles=_grade_handles(present, labels=labels), loc="outside lower center", ncol=len(present),
                   fontsize=8, title="Worst severity (AESEV)" if severity else "Worst CTCAE v5.0 grade",
                   title_fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def _tie_offsets(k: np.ndarray) -> np.ndarray:
    """0, +s, -s, +2s, -2s, ... for the 1st, 2nd, 3rd, 4th, 5th event of a tie (rank k from 0);
    s = TIE_STEP, smaller when needed to keep every marker within 0.4 of its row."""
    step = min(TIE_STEP, 0.4 / max(1, (int(k.max(initial=0)) + 1) // 2))
    return np.where(k % 2 == 1, 1, -1) * ((k + 1) // 2) * step


#: irAE onset axis: weeks, not months, and why (issue 13: one unit for time axes unless a figure says why)
IRAE_ONSET_XLABEL = "Weeks since first dose (weeks, not months: most onsets fall in the first weeks)"


def irae_onset_plot(events: pd.DataFrame, *, title=None, xlabel=IRAE_ONSET_XLABEL):
    """Time to onset of immune-related AEs: one row per preferred term, one marker per event.

    ``events``: one row per event, columns ``TERM`` (preferred term), ``ONSET_DAY`` (study day of
    onset, day 1 = first dose) and ``GRADE`` (CTCAE 1-5; missing or "Missing" = no grade recorded,
    as ``mpmlib.analysis.safety.irae_onsets`` returns). Each event is a marker at
    (ONSET_DAY - 1) / 7 weeks (day 1 = first dose = week 0) coloured by grade, a grey diamond
    "Grade missing" without one; events of one term with the same onset day are spread
    vertically (0, +0.12, -0.12, +0.24, ... rows, in grade then input order, missing last). A
    vertical tick marks each term's median onset; terms are sorted by median onset (earliest at
    the top, ties by term). Y labels read "TERM (n = k)", k = events drawn. Events without an
    onset day are not drawn and are counted in a footnote. Raises DataError for a missing
    column, a missing term or a grade that is neither 1-5 nor missing.
    """
    if events is None or events.empty:
        return no_data(title)
    where = "irae_onset_plot"
    require_columns(events, ["TERM", "ONSET_DAY", "GRADE"], where)
    subjects = events.get("USUBJID")
    if events["TERM"].isna().any():
        raise DataError(where, "TERM", "every event needs a preferred term",
                        subjects=None if subjects is None else subjects[events["TERM"].isna()])
    ungraded = events["GRADE"].isna() | events["GRADE"].astype(object).eq(GRADE_MISSING)
    grades = pd.to_numeric(events["GRADE"].where(~ungraded), errors="coerce")
    bad = ~grades.isin(GRADES) & ~ungraded
    if bad.any():
        raise DataError(where, "GRADE", f"GRADE must be a CTCAE grade 1-5 or missing ({GRADE_MISSING!r})",
                        subjects=None if subjects is None else subjects[bad],
                        detail=f"found {sorted(set(events.loc[bad, 'GRADE'].astype(str)))}")
    day = pd.to_numeric(events["ONSET_DAY"], errors="coerce")
    bad = day.isna() & events["ONSET_DAY"].notna()
    if bad.any():
        raise DataError(where, "ONSET_DAY", "ONSET_DAY must be a study day (number) or missing",
                        subjects=None if subjects is None else subjects[bad],
                        detail=f"found {sorted(set(events.loc[bad, 'ONSET_DAY'].astype(str)))}")
    missing_code = len(GRADES) + 1    # sorts after grade 5
    data = pd.DataFrame({"term": events["TERM"].astype(str), "day": day,
                         "grade": grades.fillna(missing_code).astype(int)})
    n_hidden = int(data["day"].isna().sum())
    footnote = None
    if n_hidden:
        footnote = (f"{n_hidden} event{'s' if n_hidden != 1 else ''} without an onset day "
                    f"{'are' if n_hidden != 1 else 'is'} not shown")
    data = data.dropna(subset=["day"])
    if data.empty:
        return no_data(title, footnote=footnote)
    stats = data.groupby("term")["day"].agg(["median", "size"]).reset_index()
    stats = stats.sort_values(["median", "term"], kind="stable").reset_index(drop=True)
    row = pd.Series(stats.index.to_numpy(), index=stats["term"])
    data = data.sort_values(["term", "day", "grade"], kind="stable")
    tie_rank = data.groupby(["term", "day"], sort=False).cumcount().to_numpy()
    data["y"] = row[data["term"]].to_numpy() + _tie_offsets(tie_rank)
    n = len(stats)
    fig, ax = plt.subplots(figsize=(8, 1.6 + 0.45 * n), layout="constrained")
    drawn = []
    for code, grade in enumerate(CATEGORIES, 1):  # higher grades drawn on top, then missing
        ev = data[data["grade"] == code]
        if len(ev):
            drawn.append(grade)
            ax.plot((ev["day"] - 1) / 7, ev["y"], ls="none", marker=_MARKERS[grade], ms=7, mfc=_COLOURS[grade],
                    mec="#333333", mew=0.6, label=GRADE_LABELS[grade], zorder=3 + code)
    for yi, median in zip(stats.index, stats["median"]):
        ax.plot([(median - 1) / 7] * 2, [yi - 0.38, yi + 0.38], color="#333333", lw=2, gid="median",
                zorder=2)
    x_low, x_high = float(min(0.0, (data["day"].min() - 1) / 7)), float((data["day"].max() - 1) / 7)
    pad = 0.04 * ((x_high - x_low) or 1.0)
    ax.set_xlim(x_low - pad, x_high + pad)
    ax.set_ylim(n - 0.5, -0.5)  # earliest median onset at the top
    ax.set_yticks(range(n), [f"{t} (n = {k})" for t, k in zip(stats["term"], stats["size"])],
                  fontsize=9)
    ax.grid(False, axis="y")
    ax.set_xlabel(xlabel)
    handles = _grade_handles(drawn, marker=True)
    handles.append(Line2D([], [], ls="none", marker="|", ms=11, mew=2, color="#333333",
                          label="Median onset"))
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, title="CTCAE v5.0 grade",
               title_fontsize=8)
    if title:
        ax.set_title(title)
    if footnote:  # constrained layout keeps room for a supxlabel
        fig.supxlabel(footnote, x=0.01, ha="left", fontsize=8, color="#444444")
    return fig
