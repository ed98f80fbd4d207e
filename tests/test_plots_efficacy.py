"""Efficacy figures (mpmlib.plots.efficacy): the drawn artists carry exactly the input results.

Reference: the inputs themselves. The figures compute nothing, so each test checks that the
bars, lines, markers and texts reproduce the synthetic input values, order and colours; the
RECIST 1.1 thresholds (+20 % PD, -30 % PR) are from RECIST 1.1, section 4.4.1.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from mpmlib.errors import DataError  # noqa: E402
from mpmlib.plots.common import CURVE_COLOURS, NO_DATA  # noqa: E402
from mpmlib.plots.efficacy import (  # noqa: E402
    BOR_COLOURS, BOR_ORDER, EVENT_MARKERS, km_plot, spider_plot, swimmer_plot, waterfall_plot,
)

MONTH = 365.25 / 12  # 30.4375 days: the month of every time axis (mpmlib.analysis.efficacy.DAYS_PER_MONTH)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def km_table(times, n_risk, n_event, n_censor):
    """A Kaplan-Meier table (product-limit estimate; the CI is a dummy band around it)."""
    surv = np.cumprod(1 - np.asarray(n_event) / np.asarray(n_risk))
    return pd.DataFrame({"time": times, "n_risk": n_risk, "n_event": n_event,
                         "n_censor": n_censor, "survival": surv,
                         "ci_low": np.clip(surv - 0.15, 0, 1),
                         "ci_high": np.clip(surv + 0.1, 0, 1)})


@pytest.fixture
def curves():
    return {
        "PFS": km_table([30, 60, 90, 120], [10, 9, 7, 3], [1, 1, 1, 1], [0, 1, 3, 2]),
        "OS": km_table([45, 100, 200], [10, 8, 4], [1, 2, 1], [1, 2, 3]),
    }


@pytest.fixture
def at_risk():
    return pd.DataFrame({0: [10, 10], 91.3125: [3, 8], 182.625: [0, 4]}, index=["PFS", "OS"])


@pytest.fixture
def best():
    return pd.DataFrame({
        "USUBJID": [f"H101-0{i}" for i in range(1, 8)],
        "PCHG": [-45.0, 150.0, np.nan, 12.5, -100.0, np.nan, 30.0],
        "BOR": ["PR", "PD", "NE", "SD", "CR", "MISSING", "pd"],
    })


@pytest.fixture
def spider_long():
    rows = []
    for subj, bor, changes in [("S1", "PR", [0, -20, -40]), ("S2", "PD", [0, 25]),
                               ("S3", "SD", [0, -10, 5, 15])]:
        rows += [{"USUBJID": subj, "MONTH": 1.5 * k, "PCHG": c, "BOR": bor}
                 for k, c in enumerate(changes)]
    return pd.DataFrame(rows)


@pytest.fixture
def swimmer_data():
    subjects = pd.DataFrame({"USUBJID": ["A", "B", "C", "D"], "DURATION": [120, 400, 60, 250],
                             "BOR": ["SD", "CR", "PD", "PR"],
                             "ONGOING": [False, True, False, True]})
    events = pd.DataFrame({"USUBJID": ["B", "D", "C", "C", "A", "A"],
                           "DAY": [56, 84, 55, 70, 120, 110],
                           "EVENT": ["Response start", "Response start", "Progression", "Death",
                                     "End of treatment", "Progression"]})
    return subjects, events


def all_texts(fig):
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    return buf.getvalue()


def test_bor_palette_fixed_and_complete():
    assert BOR_ORDER == ["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING"]
    assert list(BOR_COLOURS) == BOR_ORDER
    assert len(set(BOR_COLOURS.values())) == len(BOR_ORDER)


def test_km_steps_censor_marks_and_at_risk(curves, at_risk):
    fig = km_plot(curves, at_risk, median_lines={"OS": 150.0, "PFS": None})
    ax, tab = fig.axes
    for i, (label, km) in enumerate(curves.items()):
        line = next(ln for ln in ax.lines if ln.get_label() == label)
        assert line.get_drawstyle() == "steps-post"
        assert line.get_color() == CURVE_COLOURS[i]
        np.testing.assert_allclose(line.get_ydata(), np.r_[1.0, km["survival"]])
        np.testing.assert_allclose(line.get_xdata(), np.r_[0.0, km["time"] / MONTH])
    marks = [ln for ln in ax.lines if ln.get_gid() == "censor"]
    assert sum(len(m.get_xdata()) for m in marks) == sum((km["n_censor"] > 0).sum()
                                                          for km in curves.values())
    pfs = curves["PFS"][curves["PFS"]["n_censor"] > 0]
    np.testing.assert_allclose(marks[0].get_ydata(), pfs["survival"])
    assert all(m.get_marker() == "+" for m in marks)
    assert ax.get_ylim() == (0, 1.02)
    assert len(ax.collections) == 2  # one CI band per curve
    # Ticks at the at-risk times, table below with the given numbers, coloured like the curves.
    np.testing.assert_allclose(ax.get_xticks(), [0, 3, 6])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "3", "6"]
    assert tab.get_label() == "at_risk" and tab.get_position().y1 < ax.get_position().y0
    assert [t.get_text() for t in tab.texts] == ["10", "3", "0", "10", "8", "4"]
    np.testing.assert_allclose([t.get_position()[0] for t in tab.texts[:3]], [0, 3, 6])
    assert [t.get_color() for t in tab.texts] == [CURVE_COLOURS[0]] * 3 + [CURVE_COLOURS[1]] * 3
    assert "Number at risk" in all_texts(fig)
    # Median guides only for the curve with a median, vertical one at 150 days.
    medians = [ln for ln in ax.lines if ln.get_gid() == "median"]
    assert len(medians) == 2
    np.testing.assert_allclose(medians[1].get_xdata(), [150 / MONTH] * 2)
    np.testing.assert_allclose(medians[0].get_ydata(), [0.5, 0.5])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["PFS", "OS", "Censored"]


def test_km_options_off_and_without_table(curves):
    fig = km_plot(curves, show_ci=False, show_censor=False, title="PFS")
    (ax,) = fig.axes
    assert not ax.collections
    assert not [ln for ln in ax.lines if ln.get_gid() == "censor"]
    assert ax.get_title() == "PFS" and ax.get_xlabel() == "Months since first dose"
    np.testing.assert_allclose(tuple(fig.get_size_inches()), (8, 5.5))


def test_waterfall_sorted_coloured_clipped_and_footnote(best):
    fig = waterfall_plot(best)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    # Descending, largest growth at left; 150 % is shown clipped at 100 %.
    assert heights == [100.0, 30.0, 12.5, -45.0, -100.0]
    assert [p.get_x() for p in ax.patches] == sorted(p.get_x() for p in ax.patches)
    expected_bor = ["PD", "PD", "SD", "PR", "CR"]
    assert [p.get_facecolor() for p in ax.patches] == [to_rgba(BOR_COLOURS[b])
                                                        for b in expected_bor]
    assert "\u25b2" in all_texts(fig) and "150%" in all_texts(fig)
    assert len([t for t in all_texts(fig) if t == "\u25b2"]) == 1
    assert "2 subjects without a post-baseline measurement are not shown" in all_texts(fig)
    assert ax.get_xlabel() == "Subjects (n = 5)"
    assert not [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ax.get_ylabel() == "Best change from baseline in sum of diameters (%)"
    dashed = sorted(ln.get_ydata()[0] for ln in ax.lines if ln.get_linestyle() == "--")
    assert dashed == [-30, 20]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["CR", "PR", "SD", "PD"]
    assert not any(s in t for t in all_texts(fig) for s in best["USUBJID"])


def test_waterfall_singular_footnote_and_bad_bor(best):
    fig = waterfall_plot(best.drop(index=5))
    assert "1 subject without a post-baseline measurement is not shown" in all_texts(fig)
    with pytest.raises(DataError, match="BOR must be one of"):
        waterfall_plot(best.assign(BOR=["PR", "PD", "NE", "SD", "CR", "MISSING", "UNK"]))
    with pytest.raises(DataError, match="PCHG"):
        waterfall_plot(best.drop(columns="PCHG"))


def test_spider_one_line_per_subject(spider_long):
    fig = spider_plot(spider_long)
    ax = fig.axes[0]
    lines = [ln for ln in ax.lines if ln.get_marker() == "o"]
    assert len(lines) == 3
    for line, (subj, rows) in zip(lines, spider_long.groupby("USUBJID")):
        assert line.get_color() == BOR_COLOURS[rows["BOR"].iloc[0]]
        assert (line.get_xdata()[0], line.get_ydata()[0]) == (0, 0)
        np.testing.assert_allclose(line.get_ydata(), rows["PCHG"])
    dashed = sorted(ln.get_ydata()[0] for ln in ax.lines if ln.get_linestyle() == "--")
    assert dashed == [-30, 20]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["PR", "SD", "PD"]
    assert not any(s in t for t in all_texts(fig) for s in spider_long["USUBJID"])


def test_swimmer_order_markers_and_size(swimmer_data):
    subjects, events = swimmer_data
    fig = swimmer_plot(subjects, events)
    ax = fig.axes[0]
    bars = sorted(ax.patches, key=lambda p: p.get_y())
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # y axis runs downwards: row 0 at the top
    np.testing.assert_allclose([b.get_width() for b in bars], np.array([400, 250, 120, 60]) / MONTH)
    assert [b.get_facecolor() for b in bars] == [to_rgba(BOR_COLOURS[b])
                                                  for b in ["CR", "PR", "SD", "PD"]]
    assert not [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    arrows = next(ln for ln in ax.lines if ln.get_marker() == ">")
    np.testing.assert_allclose(arrows.get_ydata(), [0, 1])  # B and D, ongoing
    assert all(arrows.get_xdata() > np.array([400, 250]) / MONTH)
    by_event = {ln.get_label(): ln for ln in ax.lines if ln.get_label() in EVENT_MARKERS}
    assert set(by_event) == set(EVENT_MARKERS)
    assert len({ln.get_marker() for ln in by_event.values()}) == 4
    np.testing.assert_allclose(by_event["Progression"].get_ydata(), [2, 3])  # A (row 2), C (row 3)
    np.testing.assert_allclose(by_event["Death"].get_xdata(), [70 / MONTH])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:5] == ["CR", "PR", "SD", "PD", "Treatment ongoing"]
    assert set(legend[5:]) == set(EVENT_MARKERS)
    np.testing.assert_allclose(fig.get_size_inches(), (8, 2 + 0.22 * 4))
    assert not any(t in {"A", "B", "C", "D"} for t in all_texts(fig))


def test_swimmer_height_capped_and_bad_events(swimmer_data):
    subjects, events = swimmer_data
    many = pd.DataFrame({"USUBJID": [f"S{i:03d}" for i in range(100)], "DURATION": range(100, 200),
                         "BOR": "SD", "ONGOING": False})
    assert swimmer_plot(many, events.iloc[:0]).get_size_inches()[1] == 14
    with pytest.raises(DataError, match="EVENT must be one of"):
        swimmer_plot(subjects, events.assign(EVENT="Dropout"))
    with pytest.raises(DataError, match="not in subjects"):
        swimmer_plot(subjects, events.assign(USUBJID="Z"))


def test_km_ci_band_legend_from_the_given_level(curves, at_risk):
    """The CI band is named in the legend with the level the caller computed from alpha (issue
    13: no fixed "95%"); no entry when no label is given or the band is off."""
    ax = km_plot(curves, at_risk, ci_label="90% CI (log-log)", xlabel="Months since randomisation").axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["PFS", "OS", "Censored", "90% CI (log-log)"]
    assert ax.get_xlabel() == "Months since randomisation"
    off = km_plot(curves, show_ci=False, ci_label="90% CI (log-log)").axes[0]
    assert "90% CI (log-log)" not in [t.get_text() for t in off.get_legend().get_texts()]
    assert not any("95%" in t for t in all_texts(km_plot(curves, at_risk)))


def test_spider_axis_in_months_with_the_given_origin(spider_long):
    """Months on the x axis, as given (reference: the input MONTH values), label from the caller."""
    ax = spider_plot(spider_long, xlabel="Months since randomisation").axes[0]
    assert ax.get_xlabel() == "Months since randomisation"
    lines = [ln for ln in ax.lines if ln.get_marker() == "o"]
    np.testing.assert_allclose(lines[0].get_xdata(), [0, 1.5, 3.0])
    assert spider_plot(spider_long).axes[0].get_xlabel() == "Months since first dose"


def test_swimmer_labels_and_start_offset(swimmer_data):
    """``labels`` name each bar's subject on the y axis, longest first (reference: the input
    durations 400 > 250 > 120 > 60 -> B, D, A, C); START shifts a bar to begin at the first dose
    on an axis from randomisation, its length still DURATION."""
    subjects, events = swimmer_data
    labels = {"A": "Subject 001", "B": "Subject 002", "C": "Subject 003", "D": "Subject 004"}
    shifted = subjects.assign(START=[10, 0, 5, 20])
    ax = swimmer_plot(shifted, events, labels=labels, xlabel="Months since randomisation").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Subject 002", "Subject 004", "Subject 001", "Subject 003"]
    bars = sorted(ax.patches, key=lambda p: p.get_y())
    np.testing.assert_allclose([b.get_x() for b in bars], np.array([0, 20, 10, 5]) / MONTH)
    np.testing.assert_allclose([b.get_width() for b in bars], np.array([400, 250, 120, 60]) / MONTH)
    assert ax.get_xlabel() == "Months since randomisation"


def test_waterfall_labels_in_bar_order_and_left_out_when_too_many(best):
    """Labels follow the bars (reference: PCHG sorted descending: 150, 30, 12.5, -45, -100 ->
    subjects 02, 07, 04, 01, 05); above ``max_labels`` they are left out and the footnote says so."""
    labels = dict(zip(best["USUBJID"], best["USUBJID"]))
    ax = waterfall_plot(best, labels=labels).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"H101-0{i}" for i in (2, 7, 4, 1, 5)]
    crowded = waterfall_plot(best, labels=labels, max_labels=3)
    assert not [t.get_text() for t in crowded.axes[0].get_xticklabels() if t.get_text()]
    assert ("2 subjects without a post-baseline measurement are not shown; subject labels left out "
            "(more than 3 bars)") in all_texts(crowded)


@pytest.mark.parametrize("make", [
    lambda: km_plot({}),
    lambda: km_plot({"PFS": km_table([], [], [], [])}),
    lambda: waterfall_plot(pd.DataFrame(columns=["PCHG", "BOR"])),
    lambda: waterfall_plot(pd.DataFrame({"PCHG": [np.nan], "BOR": ["NE"]})),
    lambda: spider_plot(pd.DataFrame(columns=["USUBJID", "MONTH", "PCHG", "BOR"])),
    lambda: swimmer_plot(pd.DataFrame(columns=["USUBJID", "DURATION", "BOR", "ONGOING"]),
                         pd.DataFrame(columns=["USUBJID", "DAY", "EVENT"])),
])
def test_empty_input_says_no_data(make):
    fig = make()
    assert NO_DATA in all_texts(fig)
    png_bytes(fig)


@pytest.mark.parametrize("name", ["km", "waterfall", "spider", "swimmer"])
def test_png_byte_identical_on_rebuild(name, curves, at_risk, best, spider_long, swimmer_data):
    make = {"km": lambda: km_plot(curves, at_risk, median_lines={"OS": 150.0}),
            "waterfall": lambda: waterfall_plot(best),
            "spider": lambda: spider_plot(spider_long),
            "swimmer": lambda: swimmer_plot(*swimmer_data)}[name]
    with sns.axes_style("whitegrid"):
        first, second = png_bytes(make()), png_bytes(make())
    assert first == second and first.startswith(b"\x89PNG")
