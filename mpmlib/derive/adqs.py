"""ADQS (ADaM BDS): questionnaire scale scores (EORTC QLQ-C30, and any instrument of the
instrument table) per subject and questionnaire, with analysis visit, baseline, change from
baseline and clinically meaningful change flags.

Rules (parameters are keys of ``qol:`` in the parameter file):

=========== ====================================================================================
source      SDTM QS records whose ``QSTESTCD`` matches an instrument's ``qstestcd`` pattern of the
            instrument table (``mpmlib/resources/qol_instruments.csv``; QLQ-C30: EOR0101-EOR0130,
            item k = the last two digits); a code matching an item number outside 1..n_items
            is a DataError. ``QSALL`` "not done" records say a questionnaire was missed (see
            :func:`missed_questionnaires`). Item responses are ``QSSTRESN`` (else ``QSSTRESC``);
            an unanswered item is missing.
PARAMCD     the scale codes of the instrument's scale table (QLQ-C30: the Scoring Manual's QL2 PF2
            RF2 EF CF SF FA NV PA DY SL AP CO DI FI) and its summary score (QLQ-C30: SUMSC),
            scored by :func:`mpmlib.derive.qol_scoring.score_questionnaire` (half rule); PARCAT1 = instrument.
ADT, ADY    questionnaire date (complete QSDTC) and study day (first dose = day 1, no day 0).
ADTINCFL    "Y" when QSDTC is partial or missing: the questionnaire is kept (scored, counted) but
            has no ADT/ADY, so no analysis visit ("UNSCHEDULED"), no baseline and no change. Not
            imputed: a visit window needs the day. QC (X-002 / QS-005) accepts partial dates, so
            this flag is where they show (``qol_analysis.incomplete_dates``).
AVISIT      analysis visit by window, not the nominal visit: "BASELINE" = the last questionnaire on
            or before day 1; "WEEK w" for w = every ``interval_weeks`` weeks: target day 7w + 1,
            +- ``window_days``; anything else "UNSCHEDULED". ``ANL01FL`` = the questionnaire
            closest to the target (the earlier one on a tie) when a window has two.
BASE, CHG   baseline score and change from it (CHG only for post-baseline analysis records).
DIRECTION   +1 when a higher score is better (global health status, functional scales, summary
            score), -1 when it is worse (symptom scales) - EORTC Scoring Manual §4.
DETERFL     worsened by at least ``meaningful_change`` points (Osoba et al., J Clin Oncol 1998;
            16:139-144: 10 points is a "moderate" change); IMPRFL improved by at least that much.
=========== ====================================================================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mpmlib.dates import dtc_to_date, require_valid_dtc
from mpmlib.errors import DataError

DEFAULT_SETTINGS = {"interval_weeks": 6, "window_days": 14, "meaningful_change": 10}
COLUMNS = ["USUBJID", "PARAMCD", "PARAM", "PARCAT1", "AVAL", "ADT", "ADY", "ADTINCFL", "VISIT", "AVISIT", "AVISITN", "ABLFL", "ANL01FL",
           "BASE", "CHG", "DIRECTION", "DETERFL", "IMPRFL"]


def derive_adqs(adsl: pd.DataFrame, qs: pd.DataFrame | None, settings: dict | None = None,
                instruments: str | Path | None = None) -> pd.DataFrame:
    """ADQS from ADSL and SDTM QS (module rules); empty frame with the columns when QS is absent.

    ``instruments``: path of an instrument table (its scale tables beside it) instead of the
    shipped one (:mod:`mpmlib.derive.qol_scoring`); an instrument is scored only from its own items."""
    from mpmlib.derive.qol_scoring import load_instruments, parameters, score_questionnaire

    s = {**DEFAULT_SETTINGS, **(settings or {})}
    table = load_instruments(instruments)
    params = parameters(instruments).set_index("PARAMCD")
    forms = questionnaires(qs, adsl, instruments)
    if forms.empty:
        return pd.DataFrame(columns=COLUMNS)
    ids = ["USUBJID", "VISIT", "ADT", "ADY", "ADTINCFL"]
    parts = []
    for name, n_items in zip(table["instrument"], table["n_items"]):
        these = forms[forms["INSTRUMENT"].eq(name)]
        if these.empty:
            continue
        items = ["USUBJID", *[f"Q{k}" for k in range(1, n_items + 1)]]   # USUBJID names subjects in errors
        scores = score_questionnaire(these[items], name, instruments)
        parts.append(scores.join(these[ids]).melt(id_vars=ids, var_name="PARAMCD", value_name="AVAL"))
    long = pd.concat(parts, ignore_index=True)
    for var in ("PARAM", "PARCAT1", "DIRECTION"):
        long[var] = long["PARAMCD"].map(params[var])
    long = assign_visits(long, s["interval_weeks"], s["window_days"])
    long = add_baseline_and_change(long)
    worse = long["CHG"] * long["DIRECTION"]
    long["DETERFL"] = np.where(worse <= -s["meaningful_change"], "Y", np.where(worse.notna(), "N", ""))
    long["IMPRFL"] = np.where(worse >= s["meaningful_change"], "Y", np.where(worse.notna(), "N", ""))
    order = {p: i for i, p in enumerate(params.index)}
    long = long.assign(_o=long["PARAMCD"].map(order)).sort_values(["USUBJID", "_o", "ADT"], kind="stable")
    return long[COLUMNS].reset_index(drop=True)


def item_codes(testcds: pd.Series, instruments: pd.DataFrame) -> pd.DataFrame:
    """INSTRUMENT and ITEM (float, NaN = not an item code) for each QSTESTCD in ``testcds`` (meant
    for the distinct codes), by the ``qstestcd`` patterns of the instrument table (module rules).
    A code matching two instruments' patterns is a ValueError (a table error)."""
    out = pd.DataFrame({"INSTRUMENT": pd.Series(None, index=testcds.index, dtype=object),
                        "ITEM": np.nan}, index=testcds.index)
    for name, pattern in zip(instruments["instrument"], instruments["qstestcd"]):
        item = testcds.str.extract(pattern, expand=False).astype(float)
        hit = item.notna()
        clash = hit & out["INSTRUMENT"].notna()
        if clash.any():
            raise ValueError(f"instrument table: QSTESTCD {', '.join(testcds[clash].head(5))} match the patterns "
                             f"of {name} and {', '.join(sorted(set(out.loc[clash, 'INSTRUMENT'])))}")
        out.loc[hit, "INSTRUMENT"] = name
        out.loc[hit, "ITEM"] = item[hit]
    return out


def questionnaires(qs: pd.DataFrame | None, adsl: pd.DataFrame,
                   instruments: str | Path | None = None) -> pd.DataFrame:
    """One row per subject, instrument (INSTRUMENT) and questionnaire (visit + date) with items
    Q1..Qn (n = the largest n_items of the instrument table; items an instrument does not have are
    empty), ADT, ADY and ADTINCFL (module rules: a partial or missing QSDTC keeps the
    questionnaire, flagged).

    A questionnaire with no answered item is not a questionnaire received. Two answers to one
    item of one questionnaire, or an item number outside 1..n_items, are a :class:`DataError`.
    """
    from mpmlib.derive.qol_scoring import load_instruments

    if qs is None or qs.empty or "QSTESTCD" not in qs.columns:
        return pd.DataFrame()
    for var in ("USUBJID", "QSDTC", "VISIT"):
        if var not in qs.columns:
            raise DataError("QS", var, "required variable is missing")
    require_valid_dtc(qs, "QS", "QSDTC")
    table = load_instruments(instruments)
    codes, testcds = pd.factorize(qs["QSTESTCD"].astype(str))      # match each distinct code once
    of_code = item_codes(pd.Series(testcds), table)
    item = pd.Series(of_code["ITEM"].to_numpy()[codes], index=qs.index)
    keep = [c for c in ("USUBJID", "VISIT", "QSDTC", "QSSTRESN", "QSSTRESC") if c in qs.columns]
    rows = qs.loc[item.notna(), keep].assign(INSTRUMENT=of_code["INSTRUMENT"].to_numpy()[codes][item.notna().to_numpy()],
                                            ITEM=item[item.notna()].astype(int))
    if rows.empty:
        return pd.DataFrame()
    n_items = rows["INSTRUMENT"].map(table.set_index("instrument")["n_items"])
    outside = ~rows["ITEM"].between(1, n_items)
    if outside.any():
        raise DataError("QS", "QSTESTCD", "item number outside the instrument's items (instrument table n_items)",
                        rows.loc[outside, "USUBJID"],
                        f"codes: {', '.join(sorted(set(qs.loc[outside[outside].index, 'QSTESTCD'].astype(str)))[:5])}")
    source = "QSSTRESN" if "QSSTRESN" in rows.columns else "QSSTRESC"
    if source not in rows.columns:
        raise DataError("QS", "QSSTRESN", "required variable is missing (item responses)")
    value = pd.to_numeric(rows[source], errors="coerce")
    bad = value.isna() & rows[source].notna()
    if bad.any():
        raise DataError("QS", source, "item response must be a number", rows.loc[bad, "USUBJID"],
                        f"values: {', '.join(sorted(set(rows.loc[bad, source].astype(str)))[:5])}")
    rows = rows.assign(VALUE=value)
    key = ["USUBJID", "INSTRUMENT", "VISIT", "QSDTC"]
    dup = rows.duplicated(key + ["ITEM"], keep=False)
    if dup.any():
        raise DataError("QS", "QSTESTCD", "an item is answered twice in one questionnaire (subject, visit, date)",
                        rows.loc[dup, "USUBJID"])
    wide = rows.set_index(key + ["ITEM"])["VALUE"].unstack("ITEM")   # only questionnaires that exist
    wide = wide.reindex(columns=range(1, int(table["n_items"].max()) + 1))
    wide.columns = [f"Q{k}" for k in wide.columns]
    wide = wide[wide.notna().any(axis=1)].reset_index()
    wide["ADT"] = dtc_to_date(wide["QSDTC"])
    wide["ADTINCFL"] = np.where(wide["ADT"].isna(), "Y", "")     # partial or missing QSDTC: kept, flagged
    trtsdt = wide["USUBJID"].map(adsl.set_index("USUBJID")["TRTSDT"])
    days = (wide["ADT"] - trtsdt).dt.days
    wide["ADY"] = days + (days >= 0)
    return wide.sort_values(["USUBJID", "ADT"], kind="stable").reset_index(drop=True)


def assign_visits(long: pd.DataFrame, interval_weeks: int, window_days: int) -> pd.DataFrame:
    """AVISIT / AVISITN / ABLFL / ANL01FL by the windows of the module docstring (vectorised)."""
    long = long.copy()
    day = long["ADY"].astype(float)
    nearest = np.rint((day - 1) / 7 / interval_weeks).clip(lower=1) * interval_weeks
    distance = (day - (7 * nearest + 1)).abs()
    scheduled = day.gt(1) & distance.le(window_days)
    long["AVISITN"] = np.where(scheduled, nearest, np.nan)
    long["AVISIT"] = np.where(scheduled, "WEEK " + nearest.fillna(0).astype(int).astype(str), "UNSCHEDULED")
    long["_DIST"] = np.where(scheduled, distance, np.inf)
    pre = day.le(1)
    last_pre = long[pre].groupby(["USUBJID", "PARAMCD"])["ADT"].transform("max")
    is_base = pre & long["ADT"].eq(last_pre.reindex(long.index)) & long["AVAL"].notna()
    long.loc[pre, "AVISIT"] = "SCREENING/PRE-DOSE"
    long.loc[is_base, ["AVISIT", "AVISITN"]] = ["BASELINE", 0]
    long["ABLFL"] = np.where(is_base, "Y", "")
    ranked = long[scheduled & long["AVAL"].notna()].sort_values(["USUBJID", "PARAMCD", "AVISITN", "_DIST", "ADT"],
                                                                kind="stable")
    best = ranked.drop_duplicates(["USUBJID", "PARAMCD", "AVISITN"]).index
    long["ANL01FL"] = np.where(long.index.isin(best) | is_base, "Y", "")
    return long.drop(columns="_DIST")


def add_baseline_and_change(long: pd.DataFrame) -> pd.DataFrame:
    """BASE from the baseline record of each subject and scale; CHG for post-baseline
    analysis records (ANL01FL, not baseline)."""
    base = long[long["ABLFL"].eq("Y")].set_index(["USUBJID", "PARAMCD"])["AVAL"]
    key = pd.MultiIndex.from_frame(long[["USUBJID", "PARAMCD"]])
    long["BASE"] = base.reindex(key).to_numpy()
    post = long["ANL01FL"].eq("Y") & long["ABLFL"].ne("Y")
    long["CHG"] = (long["AVAL"] - long["BASE"]).where(post)
    return long


def missed_questionnaires(qs: pd.DataFrame | None) -> pd.DataFrame:
    """QS ``QSALL`` records with ``QSSTAT = NOT DONE``: USUBJID, VISIT, QSDTC, reason (QSREASND)."""
    if qs is None or qs.empty or "QSTESTCD" not in qs.columns:
        return pd.DataFrame(columns=["USUBJID", "VISIT", "QSDTC", "REASON"])
    rows = qs[qs["QSTESTCD"].eq("QSALL") & qs.get("QSSTAT", pd.Series(index=qs.index, dtype=object)).eq("NOT DONE")]
    reason = rows["QSREASND"] if "QSREASND" in rows.columns else pd.Series("not given", index=rows.index)
    return pd.DataFrame({"USUBJID": rows["USUBJID"], "VISIT": rows["VISIT"], "QSDTC": rows.get("QSDTC"),
                         "REASON": reason.fillna("not given")}).reset_index(drop=True)
