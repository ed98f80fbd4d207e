"""Display-table arithmetic.

References: SAS ROUND (half away from zero) on exact values worked by hand — 1/16 = 6.25 %
-> 6.3 (Python's round-half-even would give 6.2), 2.675 -> 2.68; summary statistics against the
standard library ``statistics`` module (a second implementation); count tables must add up to
the column N (nobody dropped).
"""

import statistics
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from mpmlib.tables.format import n_pct, round_half_up
from mpmlib.tables.summary import continuous_summary, disposition_counts, population_table, summary_table


@pytest.mark.parametrize("value, decimals, expected", [
    (Fraction(100, 16), 1, "6.3"), (Fraction(100, 8), 1, "12.5"), (Fraction(200, 3), 1, "66.7"),
    (2.675, 2, "2.68"), (0.125, 2, "0.13"), (-1.25, 1, "-1.3"), (-0.04, 1, "0.0"), (64.0, 1, "64.0"),
])
def test_round_half_up(value, decimals, expected):
    assert round_half_up(value, decimals) == expected


def test_n_pct():
    assert n_pct(1, 16) == "1 (6.3)"
    assert n_pct(40, 40) == "40 (100.0)"
    assert n_pct(0, 40) == "0"


def test_continuous_summary_matches_statistics_module():
    ages = pd.Series([63, 71, 58, np.nan, 80, 66, 66])
    values = [63, 71, 58, 80, 66, 66]
    got = continuous_summary(ages, decimals=0)
    assert got["n"] == "6"
    assert got["Mean (SD)"] == f"{statistics.mean(values):.1f} ({statistics.stdev(values):.2f})"
    assert got["Median"] == f"{statistics.median(values):.1f}"
    assert got["Min, Max"] == "58, 80"


@pytest.fixture
def adsl():
    return pd.DataFrame({
        "USUBJID": [f"S{i}" for i in range(7)],
        "TRT01P": ["A", "A", "A", "B", "B", "B", np.nan],
        "ENRLFL": ["Y"] * 6 + ["N"],
        "SAFFL": ["Y", "Y", "N", "Y", "Y", "Y", "N"],
        "EFFFL": ["Y", "N", "N", "Y", "Y", "N", "N"],
        "SEX": ["M", "F", "M", np.nan, "M", "M", "F"],
        "AGE": [60, 70, 65, 55, np.nan, 75, 50],
        "EOTSTT": ["ONGOING", "DISCONTINUED", np.nan, "DISCONTINUED", "DISCONTINUED", "ONGOING", np.nan],
        "EOSSTT": ["ONGOING", "ONGOING", "DISCONTINUED", "DISCONTINUED", "ONGOING", "ONGOING", np.nan],
        "DTHFL": [np.nan, np.nan, np.nan, "Y", np.nan, np.nan, np.nan],
    })


def test_summary_table_counts_add_up_and_show_missing(adsl):
    enrolled = adsl[adsl["ENRLFL"].eq("Y")]
    table = summary_table(enrolled, "TRT01P", [
        {"var": "SEX", "label": "Sex", "kind": "categorical", "levels": ["F", "M"]},
        {"var": "AGE", "label": "Age", "kind": "continuous"},
    ])
    assert list(table.columns) == ["A (N=3)", "B (N=3)", "Total (N=6)"]
    sex = table.loc["Sex"]
    assert list(sex.index) == ["F", "M", "Missing"]
    assert sex["Total (N=6)"].tolist() == ["1 (16.7)", "4 (66.7)", "1 (16.7)"]
    for column in table.columns:
        n = int(column.split("N=")[1].rstrip(")"))
        counts = [int(v.split()[0]) for v in sex[column]]
        assert sum(counts) == n
    assert table.loc[("Age", "n"), "B (N=3)"] == "2" and table.loc[("Age", "Missing"), "B (N=3)"] == "1"


def test_unlisted_levels_are_not_hidden(adsl):
    table = summary_table(adsl[adsl["ENRLFL"].eq("Y")], "TRT01P",
                          [{"var": "SEX", "label": "Sex", "kind": "categorical", "levels": ["M"]}])
    assert "F" in table.loc["Sex"].index


def test_population_table_and_disposition_counts(adsl):
    table = population_table(adsl)
    assert table.loc["Safety population (any study drug)", "Total (N=6)"] == "5 (83.3)"
    counts = disposition_counts(adsl)
    assert counts["screened"] == 7 and counts["enrolled"] == 6 and counts["not_enrolled"] == 1
    assert counts["treated"] == 5 and counts["not_treated"] == 1
    assert counts["treated"] == counts["treatment_ongoing"] + counts["treatment_ended"]
    assert counts["efficacy"] + counts["no_measurable_disease"] == counts["treated"]
    assert counts["deaths"] == 1


def test_subject_ids_shown_or_masked_by_rank_in_adsl():
    """report.mask_subject_ids: USUBJID as given, or "Subject NNN" by rank among the sorted ADSL
    USUBJIDs (hand-worked: S-1 -> 1, S-2 -> 2, S-3 -> 3), the same on every listing of a run."""
    from mpmlib.tables.format import subject_ids

    adsl_ids = pd.Series(["S-3", "S-1", "S-2"])
    listing = pd.Series(["S-2", "S-3", "S-2", "X-9"])
    assert subject_ids(listing, adsl_ids).tolist() == ["S-2", "S-3", "S-2", "X-9"]
    assert subject_ids(listing, adsl_ids, mask=True).tolist() == [
        "Subject 002", "Subject 003", "Subject 002", "Subject ?"]


def test_md_text_escapes_html_and_markdown():
    """Parameter/data text in a Markdown cell: rendered by markdown-it (nbconvert's renderer) it
    shows as written; no tag survives (reference: the rendered HTML of the escaped text)."""
    from markdown_it import MarkdownIt

    from mpmlib.tables.format import md_text

    raw = "<script>alert(1)</script> *a* _b_ [c](d) `e` | f"
    html_out = MarkdownIt().render(md_text(raw))
    assert "<script>" not in html_out and "<em>" not in html_out and "<a " not in html_out
    assert "&lt;script&gt;alert(1)&lt;/script&gt; *a* _b_ [c](d) `e` | f" in html_out


def test_listing_page_shows_a_long_listing_in_part_and_says_where_the_rest_is():
    """A listing of 1,200 rows: the first 500 on the page (same order) and a note naming the CSV
    that holds all 1,200; a short listing is shown whole with no note."""
    from mpmlib.tables.summary import LISTING_MAX_ROWS, listing_page

    long = pd.DataFrame({"Subject": [f"S{i:04d}" for i in range(1200)]})
    shown, note = listing_page(long, "30_safety_deaths")
    assert LISTING_MAX_ROWS == 500 and shown.equals(long.head(500))
    assert note == "_First 500 of 1200 rows shown; every row is in `30_safety_deaths.csv` beside this page._"
    short, no_note = listing_page(long.head(10), "x")
    assert short.equals(long.head(10)) and no_note == ""
