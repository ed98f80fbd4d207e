"""Efficacy figures: Kaplan-Meier, waterfall, spider and swimmer plots.

Analysis results in, a matplotlib Figure out: nothing statistical is computed here, only layout,
sorting and colours. Every function returns the Figure (it never calls ``plt.show``), is
deterministic, and returns a figure saying "No data to plot" when its input is empty. Subject
identifiers are printed only when the caller passes ``labels`` (USUBJID -> text, e.g. from
``Run.subject_ids``, which masks them when ``report.mask_subject_ids`` is set), so a data manager
can find a bar's subject.

Conventions: times are in days in the inputs and shown in months (days / ``DAYS_PER_MONTH`` =
30.4375, the one constant of :mod:`mpmlib.analysis.efficacy`) on every time axis, whose label names the
origin (e.g. "Months since first dose", :func:`mpmlib.analysis.efficacy.time_label`); percentage change
is relative to the baseline sum of diameters of target lesions (RECIST 1.1, section 4.4.1: PR is
a decrease of at least 30 %, PD an increase of at least 20 %).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from mpmlib.analysis.efficacy import DAYS_PER_MONTH
from mpmlib.derive.recist import PD_MIN_INCREASE_PCT, PR_MIN_DECREASE_PCT
from mpmlib.errors import DataError
from mpmlib.plots.common import CURVE_COLOURS, no_data, require_columns

#: RECIST 1.1 best overall response categories, best first; legends follow this order.
BOR_ORDER = ["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING"]
#: Fixed, colour-blind-friendly colours (ColorBrewer PRGn / RdBu / greys): light and dark differ
#: in lightness, so CR, PD and SD stay distinct under deuteranopia and in greyscale.
BOR_COLOURS = {
    "CR": "#1b7837", "PR": "#7fbf7b", "SD": "#4878a8", "NON-CR/NON-PD": "#9ecae1",
    "PD": "#d6604d", "NE": "#808080", "MISSING": "#d0d0d0",
}
#: Swimmer-plot event markers (shape, face colour), black edges so they show on any bar.
EVENT_MARKERS = {
    "Response start": ("^", "#f0e442"),
    "Progression": ("X", "#ffffff"),
    "Death": ("D", "#000000"),
    "End of treatment": ("|", "#000000"),
}
PD_THRESHOLD, PR_THRESHOLD = PD_MIN_INCREASE_PCT, -PR_MIN_DECREASE_PCT  # RECIST 1.1 §4.3.1




def _bor(values: pd.Series, where: str, subjects=None) -> pd.Series:
    """Normalise BOR codes (strip, upper case; missing -> "MISSING"); unknown codes are an error."""
    bor = values.astype("string").str.strip().str.upper().fillna("MISSING")
    bad = ~bor.isin(BOR_ORDER)
    if bad.any():
        raise DataError(where, values.name, f"BOR must be one of {BOR_ORDER}",
                        subjects=None if subjects is None else subjects[bad],
                        detail=f"found {sorted(set(bor[bad]))}")
    return bor


def _bor_legend(ax, present, **kwargs):
    handles = [Patch(facecolor=BOR_COLOURS[c], label=c) for c in BOR_ORDER if c in set(present)]
    return ax.legend(handles=handles, title="Best overall response", fontsize=8,
                     title_fontsize=8, **kwargs)


def _threshold_lines(ax):
    """Dashed RECIST 1.1 thresholds (+20 % PD, -30 % PR), labelled just outside the right edge."""
    ax.axhline(0, color="#333333", lw=0.8)
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    for y, text in ((PD_THRESHOLD, "+20 % (PD)"), (PR_THRESHOLD, "\u221230 % (PR)")):
        ax.axhline(y, color="#555555", lw=1, ls="--", zorder=1)
        ax.text(1.01, y, text, transform=trans, ha="left", va="center", fontsize=8,
                color="#555555")


def km_plot(curves: dict[str, pd.DataFrame], at_risk: pd.DataFrame | None = None, *,
            xlabel="Months since first dose", ylabel="Probability", title=None,
            time_divisor=DAYS_PER_MONTH, show_ci=True, show_censor=True, median_lines=None,
            ci_label=None):
    """Kaplan-Meier curves with an optional "Number at risk" table under the x axis.

    ``curves``: label -> Kaplan-Meier table, one row per distinct time, columns ``time`` (days),
    ``n_risk``, ``n_event``, ``n_censor``, ``survival``, ``ci_low``, ``ci_high``. Each curve is
    drawn from (0, 1) as a right-continuous step function (``where="post"``) with its pointwise
    CI band (also a step) and '+' marks at times with ``n_censor > 0``, at the survival there.
    ``at_risk``: index = curve labels, columns = times in days, values = numbers at risk; the x
    ticks are placed at these times / ``time_divisor`` and the table is drawn aligned under them,
    one row per curve in the curve's colour. ``median_lines``: label -> median (days); dotted
    guides are drawn at probability 0.5 (missing/NaN medians, i.e. not reached, are skipped).
    Times are shown as days / ``time_divisor`` (default: months, 365.25 / 12 days).
    ``ci_label`` (e.g. "90% CI (log-log)", from the run's alpha): a legend entry for the bands.
    """
    curves = {k: v for k, v in (curves or {}).items() if v is not None and len(v)}
    if not curves:
        return no_data(title, (8, 5.5))
    for label, km in curves.items():
        require_columns(km, ["time", "n_censor", "survival", "ci_low", "ci_high"], f"km_plot[{label}]")
    colours = {label: CURVE_COLOURS[i % len(CURVE_COLOURS)] for i, label in enumerate(curves)}
    at_risk = at_risk if at_risk is not None and at_risk.shape[1] else None
    if at_risk is None:
        fig, ax = plt.subplots(figsize=(8, 5.5))
    else:
        fig, (ax, tab) = plt.subplots(
            2, 1, figsize=(8, 5.5), sharex=True, layout="constrained",
            gridspec_kw={"height_ratios": [5, 0.6 + 0.3 * len(at_risk)]})
    x_max = 0.0
    for label, km in curves.items():
        km = km.sort_values("time")
        x = np.r_[0.0, km["time"].to_numpy(float) / time_divisor]
        x_max = max(x_max, x[-1])
        colour = colours[label]
        ax.step(x, np.r_[1.0, km["survival"].to_numpy(float)], where="post", color=colour,
                lw=1.8, label=label)
        if show_ci:
            ax.fill_between(x, np.r_[1.0, km["ci_low"].to_numpy(float)],
                            np.r_[1.0, km["ci_high"].to_numpy(float)], step="post",
                            color=colour, alpha=0.15, lw=0)
        censored = km[km["n_censor"] > 0]
        if show_censor and len(censored):
            ax.plot(censored["time"] / time_divisor, censored["survival"], ls="none",
                    marker="+", ms=9, mew=1.5, color=colour, gid="censor")
    for label, median in (median_lines or {}).items():
        if median is None or pd.isna(median):
            continue
        m = median / time_divisor
        ax.plot([0, m], [0.5, 0.5], ls=":", color="#555555", lw=1, gid="median")
        ax.plot([m, m], [0, 0.5], ls=":", color=colours.get(label, "#555555"), lw=1.2, gid="median")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    handles, _ = ax.get_legend_handles_labels()
    if show_censor and any((km["n_censor"] > 0).any() for km in curves.values()):
        handles.append(Line2D([], [], ls="none", marker="+", ms=9, mew=1.5, color="#333333",
                              label="Censored"))
    if show_ci and ci_label:
        handles.append(Patch(facecolor="#333333", alpha=0.15, label=ci_label))
    ax.legend(handles=handles, loc="upper right", fontsize=9)
    if title:
        ax.set_title(title)
    if at_risk is None:
        ax.set_xlim(0, x_max * 1.03 or 1)
        fig.tight_layout()
        return fig
    ticks = np.asarray(at_risk.columns, dtype=float) / time_divisor
    ax.set_xticks(ticks, [f"{round(t, 1):g}" for t in ticks])
    ax.tick_params(axis="x", labelbottom=True)
    ax.set_xlim(0, max(x_max, ticks.max()) * 1.03 or 1)
    n_rows = len(at_risk)
    for i, (label, row) in enumerate(at_risk.iterrows()):
        for t, value in zip(ticks, row):
            text = "" if pd.isna(value) else str(int(value))
            tab.text(t, n_rows - 1 - i, text, ha="center", va="center", fontsize=9,
                     color=colours.get(label, "#333333"))
    tab.set_ylim(-0.5, n_rows - 0.5)
    tab.set_yticks(range(n_rows), list(at_risk.index)[::-1], fontsize=9)
    for tick_label in tab.get_yticklabels():
        tick_label.set_color(colours.get(tick_label.get_text(), "#333333"))
    tab.set_title("Number at risk", loc="left", fontsize=9)
    tab.grid(False)
    tab.tick_params(axis="both", length=0, labelbottom=False)
    tab.tick_params(axis="y", pad=22)  # keep row labels clear of the numbers at time 0
    tab.spines[:].set_visible(False)
    tab.set_label("at_risk")
    return fig


def waterfall_plot(best: pd.DataFrame, *, pchg="PCHG", bor="BOR", title=None, labels=None,
                   max_labels=100):
    """Waterfall of the best percentage change in the sum of diameters of target lesions.

    ``best``: one row per subject, columns ``pchg`` (best % change from baseline) and ``bor``
    (RECIST 1.1 best overall response, coded as in ``BOR_ORDER``; missing -> "MISSING"). Bars are
    sorted descending (largest growth at left; ties keep input order), coloured by BOR; bars are
    clipped at +100 % and marked with a triangle and the actual value. Subjects with missing
    ``pchg`` are not drawn; their number is given in a footnote. ``labels`` (USUBJID -> text;
    needs a ``USUBJID`` column): each bar's subject under it, rotated, when at most
    ``max_labels`` bars are drawn (more would not be legible; the footnote says so); None shows
    no ids.
    """
    if best is None or best.empty:
        return no_data(title)
    require_columns(best, [pchg, bor], "waterfall_plot")
    data = pd.DataFrame({"pchg": pd.to_numeric(best[pchg]),
                         "bor": _bor(best[bor], "waterfall_plot", best.get("USUBJID"))})
    if labels is not None:
        require_columns(best, ["USUBJID"], "waterfall_plot")
        data["label"] = best["USUBJID"].map(labels).fillna("").astype(str)
    n_hidden = int(data["pchg"].isna().sum())
    footnote = None
    if n_hidden:
        footnote = (f"{n_hidden} subject{'s' if n_hidden != 1 else ''} without a post-baseline "
                    f"measurement {'are' if n_hidden != 1 else 'is'} not shown")
    data = data.dropna(subset=["pchg"]).sort_values("pchg", ascending=False, kind="stable")
    if data.empty:
        return no_data(title, footnote=footnote)
    n = len(data)
    if labels is not None and n > max_labels:
        labels = None
        footnote = "; ".join([*([footnote] if footnote else []),
                              f"subject labels left out (more than {max_labels} bars)"])
    x = np.arange(n)
    fig, ax = plt.subplots(figsize=(8, 6 if labels is not None else 5))
    ax.bar(x, data["pchg"].clip(upper=100), width=0.8,
           color=[BOR_COLOURS[b] for b in data["bor"]], zorder=2)
    clipped = data["pchg"] > 100
    for xi, value in zip(x[clipped.to_numpy()], data.loc[clipped, "pchg"]):
        ax.text(xi, 100.5, "\u25b2", ha="center", va="bottom", fontsize=7)
        ax.text(xi, 108, f"{value:.0f}%", ha="center", va="bottom", fontsize=7, rotation=90)
    _threshold_lines(ax)
    top = 150 if clipped.any() else max(40.0, data["pchg"].max() + 10)
    ax.set_ylim(min(-105.0, data["pchg"].min() - 5), top)
    ax.set_xlim(-0.6, n - 0.4)
    if labels is None:
        ax.set_xticks([])
    else:
        ax.set_xticks(x, data["label"].tolist(), rotation=90, fontsize=max(4, min(8, 400 / n)))
    ax.grid(False, axis="x")
    ax.set_xlabel(f"Subjects (n = {n})")
    ax.set_ylabel("Best change from baseline in sum of diameters (%)")
    _bor_legend(ax, data["bor"], loc="upper right", bbox_to_anchor=(1.0, 0.93))
    if title:
        ax.set_title(title)
    fig.tight_layout(rect=(0, 0.04 if footnote else 0, 1, 1))
    if footnote:
        fig.text(0.01, 0.01, footnote, fontsize=8, color="#444444")
    return fig


def spider_plot(long: pd.DataFrame, *, time="MONTH", pchg="PCHG", group="BOR", title=None,
                xlabel="Months since first dose"):
    """Spider plot: % change from baseline in the sum of diameters over time, one line per subject.

    ``long``: one row per subject and assessment, columns ``USUBJID``, ``time`` (months), ``pchg``
    and ``group`` (constant within a subject, by default the BOR). Points are drawn as given
    (include baseline rows with 0 to start lines at (0, 0)); rows with missing time or change
    are skipped. Lines are coloured by ``BOR_COLOURS`` when every group is a BOR code, otherwise
    by ``CURVE_COLOURS`` in sorted group order. Subjects are drawn in USUBJID order.
    """
    if long is None or long.empty:
        return no_data(title)
    require_columns(long, ["USUBJID", time, pchg, group], "spider_plot")
    data = long[["USUBJID", time, pchg, group]].dropna(subset=[time, pchg])
    if data.empty:
        return no_data(title)
    data = data.sort_values(["USUBJID", time], kind="stable")
    groups = data.groupby("USUBJID", sort=True)[group].first().astype("string").fillna("MISSING")
    present = groups.unique()
    if set(present) <= set(BOR_ORDER):
        order = [g for g in BOR_ORDER if g in set(present)]
        colours = BOR_COLOURS
    else:
        order = sorted(present)
        colours = {g: CURVE_COLOURS[i % len(CURVE_COLOURS)] for i, g in enumerate(order)}
    fig, ax = plt.subplots(figsize=(8, 5))
    for subject, rows in data.groupby("USUBJID", sort=True):
        ax.plot(rows[time], rows[pchg], color=colours[groups[subject]], lw=1.3, marker="o",
                ms=3.5, alpha=0.9)
    _threshold_lines(ax)
    low, high = ax.get_ylim()
    ax.set_ylim(min(low, -40), max(high, 30))  # thresholds always visible
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Change from baseline in sum of diameters (%)")
    handles = [Line2D([], [], color=colours[g], lw=2, label=g) for g in order]
    ax.legend(handles=handles, title="Best overall response" if group == "BOR" else group,
              fontsize=8, title_fontsize=8, loc="upper left")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def swimmer_plot(subjects: pd.DataFrame, events: pd.DataFrame, *, title=None,
                 time_divisor=DAYS_PER_MONTH, xlabel="Months since first dose", labels=None):
    """Swimmer plot: one horizontal bar per subject, longest at the top.

    ``subjects``: ``USUBJID``, ``DURATION`` (days; bar length), ``BOR`` (bar colour, as in
    ``BOR_ORDER``), ``ONGOING`` (True: a '>' marker after the bar end = treatment ongoing).
    ``events``: ``USUBJID``, ``DAY`` (days), ``EVENT`` in ``EVENT_MARKERS`` ("Response start",
    "Progression", "Death", "End of treatment"), each drawn with its own marker. Bars are sorted
    by DURATION descending, ties by USUBJID. An optional ``START`` column (days from the
    origin to the first dose, e.g. when the origin is randomisation) shifts each bar; without
    it bars start at 0. ``labels`` (USUBJID -> text): each bar's subject on the y axis; None
    shows no ids. Times are shown as days / ``time_divisor``. Height grows with the number of
    subjects, capped at 14 inches.
    """
    if subjects is None or subjects.empty:
        return no_data(title)
    require_columns(subjects, ["USUBJID", "DURATION", "BOR", "ONGOING"], "swimmer_plot subjects")
    subj = subjects.sort_values(["DURATION", "USUBJID"], ascending=[False, True], kind="stable")
    duplicated = subj["USUBJID"].duplicated(keep=False)
    if duplicated.any():
        raise DataError("swimmer_plot subjects", "USUBJID", "one row per subject",
                        subjects=subj.loc[duplicated, "USUBJID"])
    subj = subj.assign(BOR=_bor(subj["BOR"], "swimmer_plot subjects", subj["USUBJID"]))
    row = pd.Series(np.arange(len(subj)), index=subj["USUBJID"].to_numpy())
    events = events if events is not None else pd.DataFrame(columns=["USUBJID", "DAY", "EVENT"])
    require_columns(events, ["USUBJID", "DAY", "EVENT"], "swimmer_plot events")
    unknown = ~events["EVENT"].isin(list(EVENT_MARKERS))
    if unknown.any():
        raise DataError("swimmer_plot events", "EVENT",
                        f"EVENT must be one of {list(EVENT_MARKERS)}",
                        subjects=events.loc[unknown, "USUBJID"],
                        detail=f"found {sorted(set(events.loc[unknown, 'EVENT'].astype(str)))}")
    orphan = ~events["USUBJID"].isin(row.index)
    if orphan.any():
        raise DataError("swimmer_plot events", "USUBJID", "event for a subject not in subjects",
                        subjects=events.loc[orphan, "USUBJID"])
    n = len(subj)
    fig, ax = plt.subplots(figsize=(8, min(14, 2 + 0.22 * n)), layout="constrained")
    starts = (subj["START"].fillna(0).to_numpy(float) if "START" in subj else np.zeros(n)) / time_divisor
    ends = starts + subj["DURATION"].to_numpy(float) / time_divisor
    ax.barh(row.to_numpy(), ends - starts, left=starts, height=0.6,
            color=[BOR_COLOURS[b] for b in subj["BOR"]], zorder=2)
    x_max = np.nanmax([*ends, events["DAY"].max() / time_divisor if len(events) else 0]) or 1.0
    handles = [Patch(facecolor=BOR_COLOURS[c], label=c) for c in BOR_ORDER if c in set(subj["BOR"])]
    ongoing = subj["ONGOING"].eq(True).to_numpy()
    if ongoing.any():
        ax.plot(ends[ongoing] + 0.015 * x_max, row.to_numpy()[ongoing], ls="none", marker=">",
                ms=6, color="#333333", zorder=3)
        handles.append(Line2D([], [], ls="none", marker=">", ms=6, color="#333333",
                              label="Treatment ongoing"))
    for event, (marker, face) in EVENT_MARKERS.items():
        ev = events[events["EVENT"] == event].sort_values(["USUBJID", "DAY"], kind="stable")
        if ev.empty:
            continue
        style = dict(ls="none", marker=marker, ms=7 if marker != "|" else 11, mfc=face,
                     mec="#000000", mew=0.8 if marker != "|" else 2, label=event)
        ax.plot(ev["DAY"] / time_divisor, row[ev["USUBJID"]].to_numpy(), zorder=4, **style)
        handles.append(Line2D([], [], **style))
    ax.set_ylim(n - 0.5, -0.5)  # first (longest) bar at the top
    if labels is None:
        ax.set_yticks([])
    else:
        ax.set_yticks(row.to_numpy(), pd.Series(row.index).map(labels).fillna("").astype(str).tolist(),
                      fontsize=max(4, min(8, 500 / max(n, 1))))
    ax.grid(False, axis="y")
    ax.set_xlim(0, x_max * 1.06)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"Subjects (n = {n})")
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6), fontsize=8)
    if title:
        ax.set_title(title)
    return fig
