"""Safety figures (mpmlib.plots.safety): the drawn artists carry exactly the input results.

Reference: the inputs themselves. The figures compute nothing but percentages of the given
denominator, weeks ((study day - 1) / 7) and the per-term median used for sorting, so each test checks that
bar segments, markers, ticks and texts reproduce the synthetic input values, order and colours.
Grades are CTCAE v5.0 grades 1-5, and "Missing" (no grade recorded) drawn as "Grade missing".
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
from matplotlib.colors import to_rgb, to_rgba  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from mpmlib.errors import DataError  # noqa: E402
from mpmlib.plots.safety import (  # noqa: E402
    GRADE_COLOURS, GRADE_LABELS, GRADE_MISSING, MISSING_COLOUR, NO_DATA, irae_onset_plot,
    teae_grade_bars,
)

N = 40


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def counts():
    """Subjects by worst grade per term, most frequent first; no grade 4 column at all."""
    return pd.DataFrame({1: [10, 8, 5, 1], 2: [5, 4, 3, 0], 3: [3, 0, 2, 0], 5: [0, 0, 0, 1]},
                        index=["Pyrexia", "Fatigue", "Rash", "Pneumonitis"])


@pytest.fixture
def irae():
    return pd.DataFrame({
        "USUBJID": [f"H101-PD1-{i:03d}" for i in range(1, 10)],
        "TERM": ["Rash", "Hypothyroidism", "Rash", "Colitis", "Hypothyroidism", "Rash",
                 "Pneumonitis", "Rash", "Colitis"],
        "ONSET_DAY": [15, 43, 15, 29, 64, 36, 90, 15, np.nan],
        "GRADE": [2, 2, 1, 3, 2, 1, 4, 3, 2],
    })


def all_texts(fig):
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    return buf.getvalue()


def test_grade_palette_fixed_sequential_and_labelled():
    assert list(GRADE_COLOURS) == [1, 2, 3, 4, 5] and list(GRADE_LABELS) == [1, 2, 3, 4, 5, "Missing"]
    assert [GRADE_LABELS[g] for g in range(1, 6)] == [f"Grade {g}" for g in range(1, 6)]
    assert GRADE_LABELS[GRADE_MISSING] == "Grade missing" and MISSING_COLOUR not in GRADE_COLOURS.values()
    assert len(set(GRADE_COLOURS.values())) == 5
    # Sequential: luminance strictly falls with the grade (readable in greyscale and for CVD).
    luminance = [np.dot(to_rgb(GRADE_COLOURS[g]), [0.2126, 0.7152, 0.0722]) for g in range(1, 6)]
    assert all(a > b for a, b in zip(luminance, luminance[1:]))


def test_teae_segments_are_percentages_stacked_by_grade(counts):
    fig = teae_grade_bars(counts, N, title="TEAEs")
    ax = fig.axes[0]
    pct = 100 * counts.reindex(columns=[1, 2, 3, 4, 5], fill_value=0).to_numpy(float) / N
    # One bar series per grade present (1, 2, 3, 5), drawn grade 1 first.
    assert len(ax.containers) == 4
    left = np.zeros(len(counts))
    for container, grade in zip(ax.containers, [1, 2, 3, 5]):
        np.testing.assert_allclose([p.get_width() for p in container], pct[:, grade - 1])
        np.testing.assert_allclose([p.get_x() for p in container], left)
        assert {p.get_facecolor() for p in container} == {to_rgba(GRADE_COLOURS[grade])}
        assert container.get_label() == GRADE_LABELS[grade]
        left += pct[:, grade - 1]
    np.testing.assert_allclose(left, [45, 30, 25, 5])
    # Pyrexia row: grade 1 at 0-25 %, grade 2 at 25-37.5 %, grade 3 at 37.5-45 %.
    pyrexia = [c.patches[0] for c in ax.containers]
    assert [(p.get_x(), p.get_width()) for p in pyrexia[:3]] == [(0, 25), (25, 12.5), (37.5, 7.5)]
    # First term at the top: y axis inverted, rows 0..3, tick labels in input order.
    assert ax.get_ylim()[0] > ax.get_ylim()[1]
    np.testing.assert_allclose([p.get_y() + p.get_height() / 2 for p in ax.containers[0]],
                               [0, 1, 2, 3])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(counts.index)
    totals = [t for t in ax.texts if t.get_gid() == "total"]
    assert [t.get_text() for t in totals] == ["45% (18)", "30% (12)", "25% (10)", "5% (2)"]
    assert all(t.get_position()[0] > x for t, x in zip(totals, [45, 30, 25, 5]))
    assert ax.get_xlim() == pytest.approx((0, 45 * 1.15))
    assert ax.get_xlabel() == "Subjects (%)" and ax.get_title() == "TEAEs"
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["Grade 1", "Grade 2", "Grade 3",
                                                          "Grade 5"]
    assert [h.get_facecolor() for h in legend.legend_handles] == [
        to_rgba(GRADE_COLOURS[g]) for g in [1, 2, 3, 5]]
    np.testing.assert_allclose(fig.get_size_inches(), (8, 1.2 + 0.38 * 4))


def test_teae_decimal_labels_minimum_axis_and_missing_values():
    counts = pd.DataFrame({2: [1.0, np.nan], 4: [2, 1]}, index=["Nausea", "Anaemia"])
    fig = teae_grade_bars(counts, 29, xlabel="Patients (%)")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["10.3% (3)", "3.4% (1)"]  # 3/29, 1/29
    np.testing.assert_allclose([p.get_width() for p in ax.containers[0]], [100 / 29, 0])
    assert ax.get_xlim() == pytest.approx((0, 1.15 * 300 / 29))  # 11.9 > the 10 % minimum
    small = teae_grade_bars(pd.DataFrame({1: [1]}, index=["Cough"]), 50).axes[0]
    assert small.get_xlim() == (0, 10)  # 2 % -> the 10 % minimum
    assert small.get_xlabel() == "Subjects (%)"
    assert ax.get_xlabel() == "Patients (%)"


def test_teae_data_errors(counts):
    with pytest.raises(DataError, match="n_subjects"):
        teae_grade_bars(counts, 0)
    with pytest.raises(DataError, match="n_subjects"):
        teae_grade_bars(counts, -5)
    with pytest.raises(DataError, match="grades 1, 2, 3, 4, 5"):
        teae_grade_bars(counts.rename(columns={5: 6}), N)
    with pytest.raises(DataError, match="grades 1, 2, 3, 4, 5"):
        teae_grade_bars(counts.rename(columns={1: "Grade 1"}), N)
    with pytest.raises(DataError, match="non-negative integers"):
        teae_grade_bars(counts.replace(3, -3), N)
    with pytest.raises(DataError, match="non-negative integers"):
        teae_grade_bars(counts.astype(float).replace(3.0, 2.5), N)
    with pytest.raises(DataError, match="more subjects than n_subjects"):
        teae_grade_bars(counts, 17)
    with pytest.raises(DataError, match="appear once"):
        teae_grade_bars(counts.rename(index={"Fatigue": "Pyrexia"}), N)
    # An empty table is "no data" whatever the denominator.
    assert NO_DATA in all_texts(teae_grade_bars(counts.iloc[:0], 0))


def test_irae_markers_at_weeks_rows_by_median_and_ties(irae):
    fig = irae_onset_plot(irae, title="irAE")
    ax = fig.axes[0]
    # Medians (days): Rash 15, Colitis 29, Hypothyroidism 53.5, Pneumonitis 90 -> rows 0..3.
    order = ["Rash", "Colitis", "Hypothyroidism", "Pneumonitis"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Rash (n = 4)", "Colitis (n = 1)", "Hypothyroidism (n = 2)", "Pneumonitis (n = 1)"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # row 0 (earliest median) at the top
    markers = {ln.get_label(): ln for ln in ax.lines if ln.get_marker() == "o"}
    assert list(markers) == ["Grade 1", "Grade 2", "Grade 3", "Grade 4"]
    drawn = irae.dropna(subset=["ONSET_DAY"])
    points = []
    for grade, line in zip([1, 2, 3, 4], markers.values()):
        assert line.get_markerfacecolor() == GRADE_COLOURS[grade]
        assert line.get_linestyle() == "None"
        expected = drawn[drawn["GRADE"] == grade]
        np.testing.assert_allclose(sorted(line.get_xdata()), sorted((expected["ONSET_DAY"] - 1) / 7))
        points += [(x, y, grade) for x, y in zip(line.get_xdata(), line.get_ydata())]
    assert len(points) == len(drawn) == 8
    for x, y, grade in points:  # each marker sits within 0.4 of its term's row
        term = drawn.loc[np.isclose((drawn["ONSET_DAY"] - 1) / 7, x) & (drawn["GRADE"] == grade),
                         "TERM"].iloc[0]
        assert abs(y - order.index(term)) <= 0.4
    # The three Rash events on day 15 (grades 1, 2, 3) are spread 0, +0.12, -0.12 in grade order.
    tied = sorted((g, y) for x, y, g in points if np.isclose(x, 14 / 7))
    assert tied == [(1, 0.0), (2, pytest.approx(0.12)), (3, pytest.approx(-0.12))]
    assert [y for x, y, g in points if np.isclose(x, 35 / 7)] == [0.0]  # not tied: on the row
    medians = [ln for ln in ax.lines if ln.get_gid() == "median"]
    np.testing.assert_allclose([ln.get_xdata() for ln in medians],
                               [[(m - 1) / 7] * 2 for m in (15, 29, 53.5, 90)])
    np.testing.assert_allclose([np.mean(ln.get_ydata()) for ln in medians], [0, 1, 2, 3])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["Grade 1", "Grade 2", "Grade 3", "Grade 4", "Median onset"]
    assert "1 event without an onset day is not shown" in all_texts(fig)
    assert ax.get_xlabel().startswith("Weeks since first dose (weeks, not months") and ax.get_title() == "irAE"
    assert ax.get_xlim()[0] < 0 < 14 / 7 and ax.get_xlim()[1] > 89 / 7
    assert not any(s in t for t in all_texts(fig) for s in irae["USUBJID"])


def test_irae_many_ties_stay_in_row_and_equal_medians_sort_by_term():
    events = pd.DataFrame({"TERM": ["Rash"] * 9 + ["Arthritis"], "ONSET_DAY": [22] * 9 + [22],
                           "GRADE": [1] * 9 + [2]})
    ax = irae_onset_plot(events).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Arthritis (n = 1)", "Rash (n = 9)"]
    rash = next(ln for ln in ax.lines if ln.get_label() == "Grade 1")
    y = np.asarray(rash.get_ydata())
    assert len(set(np.round(y, 9))) == 9 and np.all(np.abs(y - 1) <= 0.4 + 1e-12)
    np.testing.assert_allclose(rash.get_xdata(), [21 / 7] * 9)


def test_irae_data_errors(irae):
    with pytest.raises(DataError, match="ONSET_DAY"):
        irae_onset_plot(irae.drop(columns="ONSET_DAY"))
    with pytest.raises(DataError, match="GRADE must be a CTCAE grade 1-5") as err:
        irae_onset_plot(irae.assign(GRADE=[2, 2, 1, 3, 2, 1, 4, 6, 2]))
    assert "H101-PD1-008" in str(err.value)  # the error (not the figure) names the subject
    with pytest.raises(DataError, match="GRADE"):
        irae_onset_plot(irae.assign(GRADE=[2, 2, 1, 3, 2, 1, 4, "Grade 3", 2]))
    with pytest.raises(DataError, match="preferred term"):
        irae_onset_plot(irae.assign(TERM=irae["TERM"].where(irae.index != 0)))
    with pytest.raises(DataError, match="study day"):
        irae_onset_plot(irae.assign(ONSET_DAY=irae["ONSET_DAY"].astype(object).where(
            irae.index != 0, "UNK")))


def test_teae_missing_grade_segment_is_grey_hatched_and_last(counts):
    """Input values: a "Missing" column is drawn after grade 5 as a grey hatched segment labelled
    "Grade missing" (legend last); the totals include it, so every subject with the term is drawn."""
    with_missing = counts.assign(**{GRADE_MISSING: [2, 0, 0, 1]})
    fig = teae_grade_bars(with_missing, N)
    ax = fig.axes[0]
    assert [c.get_label() for c in ax.containers] == ["Grade 1", "Grade 2", "Grade 3", "Grade 5", "Grade missing"]
    grey = ax.containers[-1]
    np.testing.assert_allclose([p.get_width() for p in grey], [5, 0, 0, 2.5])           # 2/40, 1/40
    np.testing.assert_allclose([p.get_x() for p in grey], [45, 30, 25, 5])              # after grade 5
    assert {p.get_facecolor() for p in grey} == {to_rgba(MISSING_COLOUR)} and grey.patches[0].get_hatch()
    assert [t.get_text() for t in ax.texts if t.get_gid() == "total"] == [
        "50% (20)", "30% (12)", "25% (10)", "7.5% (3)"]
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()][-1] == "Grade missing"
    assert legend.legend_handles[-1].get_facecolor() == to_rgba(MISSING_COLOUR)
    # without any subject in the column there is no segment and no legend entry
    none_missing = teae_grade_bars(counts.assign(**{GRADE_MISSING: 0}), N)
    assert "Grade missing" not in [t.get_text() for t in none_missing.legends[0].get_texts()]
    assert len(none_missing.axes[0].containers) == 4


def test_irae_missing_grade_is_a_grey_diamond(irae):
    """Input values: a missing GRADE (NaN or "Missing") is drawn as a grey diamond "Grade missing",
    last in the legend and in a tie; the term counts include it."""
    events = irae.assign(GRADE=pd.Series([2, 2, 1, 3, 2, 1, 4, np.nan, 2], dtype=object))
    events.loc[4, "GRADE"] = GRADE_MISSING
    fig = irae_onset_plot(events)
    ax = fig.axes[0]
    markers = {ln.get_label(): ln for ln in ax.lines if ln.get_marker() in ("o", "D")}
    assert list(markers) == ["Grade 1", "Grade 2", "Grade 3", "Grade 4", "Grade missing"]
    grey = markers["Grade missing"]
    assert grey.get_marker() == "D" and grey.get_markerfacecolor() == MISSING_COLOUR
    np.testing.assert_allclose(sorted(grey.get_xdata()), [14 / 7, 63 / 7])      # Rash day 15, Hypothyroidism day 64
    # the Rash tie on day 15 (grades 2, 1, missing): 0, +0.12, -0.12 in grade order, missing last
    tied = {ln.get_label(): y for ln in markers.values() for x, y in zip(ln.get_xdata(), ln.get_ydata())
            if np.isclose(x, 2)}
    assert tied == {"Grade 1": 0.0, "Grade 2": pytest.approx(0.12), "Grade missing": pytest.approx(-0.12)}
    assert [t.get_text() for t in fig.legends[0].get_texts()][-2:] == ["Grade missing", "Median onset"]
    assert "Rash (n = 4)" in [t.get_text() for t in ax.get_yticklabels()]


@pytest.mark.parametrize("make", [
    lambda: teae_grade_bars(pd.DataFrame(columns=[1, 2, 3, 4, 5]), 40),
    lambda: teae_grade_bars(None, 40),
    lambda: irae_onset_plot(pd.DataFrame(columns=["TERM", "ONSET_DAY", "GRADE"])),
    lambda: irae_onset_plot(None),
    lambda: irae_onset_plot(pd.DataFrame({"TERM": ["Rash"], "ONSET_DAY": [np.nan],
                                          "GRADE": [1]})),
])
def test_empty_input_says_no_data(make):
    fig = make()
    assert NO_DATA in all_texts(fig)
    png_bytes(fig)


@pytest.mark.parametrize("name", ["bars", "onset"])
def test_png_byte_identical_on_rebuild(name, counts, irae):
    make = {"bars": lambda: teae_grade_bars(counts, N, title="TEAEs"),
            "onset": lambda: irae_onset_plot(irae, title="irAE")}[name]
    with sns.axes_style("whitegrid"):
        first, second = png_bytes(make()), png_bytes(make())
    assert first == second and first.startswith(b"\x89PNG")


def test_severity_data_are_labelled_as_severity_not_ctcae_grade():
    """AESEV data (no CTCAE grade): the legend says 'Worst severity (AESEV)' with Mild / Moderate
    / Severe entries; a count in grade 4 or 5 is impossible for severity and a DataError."""
    counts = pd.DataFrame({1: [3, 1], 2: [1, 0], 3: [0, 2]}, index=["Rash", "Cough"])
    figure = teae_grade_bars(counts, 10, severity=True)
    legend = figure.legends[0]
    assert legend.get_title().get_text() == "Worst severity (AESEV)"
    assert [t.get_text() for t in legend.get_texts()] == ["Mild", "Moderate", "Severe"]
    plt.close(figure)
    figure = teae_grade_bars(counts, 10)
    assert figure.legends[0].get_title().get_text() == "Worst CTCAE v5.0 grade"
    plt.close(figure)
    with pytest.raises(DataError, match="three levels"):
        teae_grade_bars(pd.DataFrame({1: [1], 4: [1]}, index=["Rash"]), 10, severity=True)
