"""EORTC QLQ-C30 v3.0 scoring (mpmlib.derive.qol_scoring).

References: EORTC QLQ-C30 Scoring Manual, 3rd ed. (Fayers et al. 2001) as summarised in
/work/shared/notes/methods.md §5.1-5.2 (scales, formulas, half rule); Giesinger et al., J Clin
Epidemiol 2016;69:79-88 (Summary Score); the worked example of methods.md §5.3; and hand-computed cases.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from mpmlib.errors import DataError
from mpmlib.derive.qol_scoring import (load_scales, score_instrument, score_qlq_c30, score_scales,
                        summary_score)

Q = [f"Q{i}" for i in range(1, 31)]
SCALES = ["QL2", "PF2", "RF2", "EF", "CF", "SF", "FA", "NV", "PA", "DY", "SL", "AP", "CO", "DI", "FI"]

# methods.md §5.1 table, typed in independently of the CSV: code -> (kind, items, item_min, item_max)
C30 = {
    "QL2": ("global", [29, 30], 1, 7), "PF2": ("functional", [1, 2, 3, 4, 5], 1, 4),
    "RF2": ("functional", [6, 7], 1, 4), "EF": ("functional", [21, 22, 23, 24], 1, 4),
    "CF": ("functional", [20, 25], 1, 4), "SF": ("functional", [26, 27], 1, 4),
    "FA": ("symptom", [10, 12, 18], 1, 4), "NV": ("symptom", [14, 15], 1, 4),
    "PA": ("symptom", [9, 19], 1, 4), "DY": ("symptom", [8], 1, 4), "SL": ("symptom", [11], 1, 4),
    "AP": ("symptom", [13], 1, 4), "CO": ("symptom", [16], 1, 4), "DI": ("symptom", [17], 1, 4),
    "FI": ("symptom", [28], 1, 4),
}

# methods.md §5.3 worked example
EXAMPLE = [2, 3, 1, 1, 1, 2, 3, 2, 3, 3, 2, 2, 1, 1, 1, 2, 1, 3, 2, 1, 2, 3, 2, 2, 1, 2, 2, 2, 4, 5]
EXPECTED = {"QL2": 58.3333, "PF2": 80.0, "RF2": 50.0, "EF": 58.3333, "CF": 100.0, "SF": 66.6667,
            "FA": 55.5556, "NV": 0.0, "PA": 50.0, "DY": 33.3333, "SL": 33.3333, "AP": 0.0,
            "CO": 33.3333, "DI": 0.0, "FI": 33.3333, "SUMSC": 73.0342}


def items(*rows, index=None) -> pd.DataFrame:
    return pd.DataFrame([list(r) for r in rows], columns=Q, index=index, dtype=float)


def test_scale_table_matches_manual():
    """methods.md §5.1 (Scoring Manual 3rd ed. Table 1); in_summary per Giesinger 2016."""
    t = load_scales("QLQ-C30")
    assert list(t["code"]) == SCALES
    for row in t.itertuples():
        kind, its, lo, hi = C30[row.code]
        assert (row.kind, [int(k) for k in row.items.split()], row.item_min, row.item_max) == \
            (kind, its, lo, hi)
    assert set(t.loc[t["in_summary"] == "Y", "code"]) == set(SCALES) - {"QL2", "FI"}
    assert sorted(k for v in C30.values() for k in v[1]) == list(range(1, 31))
    with pytest.raises(ValueError, match="unknown instrument"):
        load_scales("QLQ-XX99")


def test_worked_example():
    """methods.md §5.3: all 15 scales and SUMSC 73.0342 to 1e-4."""
    got = score_qlq_c30(items(EXAMPLE, index=["S1"]))
    assert list(got.columns) == SCALES + ["SUMSC"]
    assert list(got.index) == ["S1"]
    for code, value in EXPECTED.items():
        assert got.loc["S1", code] == pytest.approx(value, abs=1e-4), code


def test_worked_example_missing_data_variant():
    """methods.md §5.3 variant: Q3, Q4, Q22, Q23, Q10, Q12, Q30 missing."""
    row = list(EXAMPLE)
    for k in (3, 4, 22, 23, 10, 12, 30):
        row[k - 1] = np.nan
    got = score_qlq_c30(items(row)).iloc[0]
    assert got["QL2"] == pytest.approx(50.0)           # Q29 alone (1 of 2)
    assert got["PF2"] == pytest.approx(66.6667, abs=1e-4)  # 3 of 5
    assert got["EF"] == pytest.approx(66.6667, abs=1e-4)   # exactly half: 2 of 4 is scored
    assert math.isnan(got["FA"])                        # 1 of 3
    assert math.isnan(got["SUMSC"])                     # FA missing
    for code in set(SCALES) - {"QL2", "PF2", "EF", "FA"}:
        assert got[code] == pytest.approx(EXPECTED[code], abs=1e-4), code


def test_extremes_per_kind():
    """Hand-computed: best answers give functional/global 100, symptom 0 (SUMSC 100); worst the reverse."""
    best, worst = [1] * 28 + [7, 7], [4] * 28 + [1, 1]
    got = score_qlq_c30(items(best, worst))
    for code, (kind, *_rest) in C30.items():
        high = kind in ("functional", "global")
        assert got[code].tolist() == ([100.0, 0.0] if high else [0.0, 100.0]), code
    assert got["SUMSC"].tolist() == pytest.approx([100.0, 0.0])


def test_half_rule_hand_computed():
    """Scoring Manual half rule: RF2 (2 items) with 1 answered is scored; FA (3 items) with 1 is not,
    with 2 it is; PF2 with 2 of 5 is not."""
    row = [1.0] * 28 + [7.0, 7.0]
    row[5], row[6] = 2, np.nan          # RF2 = Q6 only: (1 - (2-1)/3) * 100
    row[9], row[11], row[17] = 3, np.nan, np.nan   # FA: 1 of 3
    row2 = list(row)
    row2[11] = 4                        # FA: Q10 = 3, Q12 = 4 -> RS 3.5 -> 83.33
    row2[0] = row2[1] = row2[2] = np.nan  # PF2: 2 of 5
    got = score_qlq_c30(items(row, row2))
    assert got["RF2"].tolist() == pytest.approx([200 / 3, 200 / 3])
    assert math.isnan(got.loc[0, "FA"]) and got.loc[1, "FA"] == pytest.approx(250 / 3)
    assert got.loc[0, "PF2"] == 100.0 and math.isnan(got.loc[1, "PF2"])


def test_single_items_missing():
    """Scoring Manual: a single-item scale is missing when its item is missing; SUMSC then missing."""
    row = list(EXAMPLE)
    for k in (8, 11, 13, 16, 17, 28):
        row[k - 1] = np.nan
    got = score_qlq_c30(items(row)).iloc[0]
    assert got[["DY", "SL", "AP", "CO", "DI", "FI", "SUMSC"]].isna().all()
    assert got[["QL2", "PF2", "RF2", "EF", "CF", "SF", "FA", "NV", "PA"]].notna().all()


@pytest.mark.parametrize("col, value, rule", [
    ("Q1", 5, "item response out of range 1-4"),
    ("Q29", 8, "item response out of range 1-7"),
    ("Q3", 2.5, "item response out of range 1-4"),
    ("Q30", 0, "item response out of range 1-7"),
])
def test_out_of_range_named(col, value, rule):
    """Item ranges per methods.md §5.1 (1-4; 1-7 for Q29-Q30); integers only."""
    df = items(EXAMPLE, EXAMPLE)
    df.insert(0, "USUBJID", ["01-001", "01-002"])
    df.loc[1, col] = value
    with pytest.raises(DataError) as err:
        score_qlq_c30(df)
    assert (err.value.domain, err.value.variable, err.value.rule) == ("QS", col, rule)
    assert err.value.subjects == ["01-002"]
    assert f"{value:g}" in err.value.detail


def test_non_numeric_response_rejected():
    df = items(EXAMPLE).astype(object)
    df.loc[0, "Q12"] = "a lot"
    with pytest.raises(DataError, match=r"QS\.Q12: item response out of range 1-4.*'a lot'"):
        score_qlq_c30(df)


def test_missing_columns_named():
    df = items(EXAMPLE).drop(columns=["Q17", "Q30"])
    with pytest.raises(DataError) as err:
        score_qlq_c30(df)
    assert "Q17" in str(err.value) and "Q30" in str(err.value)


def reference_scores(row: dict) -> dict:
    """Second implementation, per row, PROscorer style (methods.md §5.5): reverse functional items
    as (min + max - x), rescale the mean to 0-100 (POMP), missing when > 50 % of items are missing."""
    out = {}
    for code, (kind, its, lo, hi) in C30.items():
        vals = [row[f"Q{k}"] for k in its if not math.isnan(row[f"Q{k}"])]
        if not vals or (len(its) - len(vals)) / len(its) > 0.5:
            out[code] = math.nan
            continue
        if kind == "functional":
            vals = [lo + hi - v for v in vals]
        out[code] = (statistics.fmean(vals) - lo) / (hi - lo) * 100
    parts = [out[c] if C30[c][0] != "symptom" else 100 - out[c] for c in SCALES if c not in ("QL2", "FI")]
    out["SUMSC"] = math.nan if any(math.isnan(p) for p in parts) else sum(parts) / 13
    return out


def test_vectorised_matches_per_row_reference():
    """10,000 random rows (about 30 % missing) agree with the per-row reference implementation."""
    rng = np.random.default_rng(20261124)
    x = np.column_stack([rng.integers(1, 5, 10_000, endpoint=False) for _ in range(28)]
                        + [rng.integers(1, 8, 10_000) for _ in range(2)]).astype(float)
    x[rng.random(x.shape) < 0.3] = np.nan
    df = pd.DataFrame(x, columns=Q, index=pd.RangeIndex(100, 10_100))
    got = score_qlq_c30(df)
    ref = pd.DataFrame([reference_scores(r) for r in df.to_dict("records")], index=df.index)
    assert got.index.equals(df.index)
    np.testing.assert_allclose(got.to_numpy(), ref[got.columns].to_numpy(), rtol=0, atol=1e-9)
    assert got["FA"].isna().any() and got["FA"].notna().any()  # the half rule was exercised


def test_second_instrument_from_table_only():
    """A made-up instrument defined only as scale rows (items 0-4, hand-computed) scores via
    score_scales; the QLQ-C30 path via score_instrument equals score_qlq_c30 without SUMSC."""
    toy = pd.DataFrame({
        "instrument": "TOY", "code": ["FUN", "SYM", "ONE"], "label": ["f", "s", "o"],
        "kind": ["functional", "symptom", "global"], "items": ["1 2", "3 4 5", "6"],
        "item_min": 0, "item_max": 4, "in_summary": ["Y", "Y", "N"]})
    df = pd.DataFrame({"Q1": [0, 4, np.nan], "Q2": [1, np.nan, np.nan], "Q3": [4, 2, 1],
                       "Q4": [4, np.nan, np.nan], "Q5": [2, 3, np.nan], "Q6": [3, np.nan, 0]},
                      index=["a", "b", "c"])
    got = score_scales(df, toy)
    assert list(got.columns) == ["FUN", "SYM", "ONE"]
    # FUN: a RS 0.5 -> (1 - 0.5/4)*100 = 87.5; b RS 4 -> 0; c none answered -> NaN
    # SYM: a RS 10/3 -> 83.33; b RS 2.5 -> 62.5 (2 of 3); c 1 of 3 -> NaN
    # ONE: a 3 -> 75; b NaN; c 0 -> 0
    expected = [[87.5, 250 / 3, 75.0], [0.0, 62.5, np.nan], [np.nan, np.nan, 0.0]]
    np.testing.assert_allclose(got.to_numpy(), expected)
    assert summary_score(got, toy).tolist()[:2] == pytest.approx([(87.5 + 100 - 250 / 3) / 2, 18.75])
    with pytest.raises(DataError, match=r"QS\.Q6: item response out of range 0-4"):
        score_scales(df.assign(Q6=5), toy)
    # stricter min_fraction: SYM needs all 3 items
    assert score_scales(df, toy, min_fraction=1.0)["SYM"].isna().tolist() == [False, True, True]
    c30 = items(EXAMPLE)
    pd.testing.assert_frame_equal(score_instrument(c30, "QLQ-C30"), score_qlq_c30(c30)[SCALES])


def test_shipped_instrument_table_maps_cdisc_item_codes():
    """CDISC QS terminology for the QLQ-C30 (issue 6): QSTESTCD EOR0101-EOR0130 are items 1-30;
    other codes (QSALL, another instrument's EOR02xx) are not QLQ-C30 items. The shipped entry
    scored through score_questionnaire is score_qlq_c30."""
    from mpmlib.derive.adqs import item_codes
    from mpmlib.derive.qol_scoring import load_instruments, score_questionnaire

    table = load_instruments()
    entry = table.set_index("instrument").loc["QLQ-C30"]
    assert (entry["n_items"], entry["scales"], entry["summary_code"]) == (30, "qlq_c30_scales.csv", "SUMSC")
    codes = pd.Series([f"EOR01{k:02d}" for k in range(1, 31)] + ["QSALL", "EOR0201", "XEOR0101"])
    got = item_codes(codes, table)
    assert got["ITEM"].tolist()[:30] == list(range(1, 31)) and got["ITEM"].iloc[30:].isna().all()
    assert got["INSTRUMENT"].iloc[:30].eq("QLQ-C30").all() and got["INSTRUMENT"].iloc[30:].isna().all()
    c30 = items(EXAMPLE, index=["S1"])
    pd.testing.assert_frame_equal(score_questionnaire(c30, "QLQ-C30"), score_qlq_c30(c30))
