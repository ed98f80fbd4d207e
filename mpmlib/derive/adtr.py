"""ADTR (ADaM BDS-like): target-lesion sums per assessment and the RECIST 1.1 time-point response
re-derived from the tumour measurements (SDTM TU + TR).

Two uses:

* waterfall and spider plots: the sum of diameters (``SDIAM``) at every assessment, its change
  from baseline and from the nadir (:func:`derive_adtr`, :func:`best_percent_change`);
* a data check: the response re-derived from the measurements is compared with the
  investigator's overall response in RS / ADRS (:func:`response_concordance`). A discordance is a
  query: a wrong measurement, a wrong response, a lesion missing from the eCRF, or a date error.
  On the full pharmaversesdtm ``rs_onco``/``tr_onco`` the 39 discordances are explained, by
  cause, in ``docs/efficacy-methods.md`` (tumour measurements) and pinned in ``tests/test_adtr.py``.

Sources. RECIST 1.1: Eisenhauer EA et al., Eur J Cancer 2009;45:228-247 (§3.1 measurability,
§4.3 response criteria, Tables 1 and 2; rules transcribed in ``../shared/notes/methods.md``
§1.1-1.2); EORTC RECIST FAQ (PR is judged against baseline, PD against the nadir). Sum of
diameters, nadir and the analysis flags follow the pharmaverse admiralonco ``ad_adtr.R``
template, so ``SDIAM``/``BASE``/``CHG``/``PCHG``/``NADIR``/``CHGNAD``/``PCHGNAD`` equal the
published pharmaverseadam ``adtr_onco`` record for record (``tests/test_adtr.py``).

Rules of :func:`derive_adtr`
============================

Records. TU ``TUTESTCD = TUMIDENT`` identifies each lesion (``TULNKID``) and its role
(``TUSTRESC`` TARGET / NON-TARGET / NEW). TR holds the results, linked by ``TRLNKID``. Only the
chosen evaluator's records are used (``TUEVAL``/``TREVAL``/``RSEVAL`` = ``evaluator`` when the
variable exists); when that still leaves several readers (``--EVALID``), the accepted read
(``--ACPTFL = "Y"``) is kept.

Assessment and date. One row per subject and assessment date ``ADT``. ``ADT`` comes from
``TRDTC`` (``TUDTC`` for a TU record of a new lesion). A date without day is completed from a
complete date of the same subject, visit and month (the same scan recorded with and without day,
pharmaversesdtm ``tr_onco`` 01-701-1015 baseline), otherwise to the first day of the month
(admiralonco ``ad_adtr.R``: ``date_imputation = "first"``; ``date_imputation`` argument), flagged
in ``ADTF``. A visit holding two different complete dates gives two assessments (``tr_onco``
01-711-1143 ``UNSCHEDULED 9.2``). ``AVISIT`` is the visit of the assessment (the lowest
``VISITNUM`` if two visits share a date), ``BASELINE`` for the baseline row.
``ADY = ADT - reference + 1`` on or after the reference date, ``ADT - reference`` before it
(no day 0, SDTMIG/admiral ``derive_vars_dy``).

Lesion diameter (RECIST 1.1 §3.1, §4.3.1). A target lesion is nodal when ``TULOC`` names a lymph
node (``LYMPH`` or ``NODE``) or it has a short-axis record. Its diameter is, in this order of
preference: nodal ``SAXIS``, ``LPERP`` (the short axis in pharmaversesdtm, as admiralonco sums
it), ``DIAMETER``; non-nodal ``LDIAM``, ``DIAMETER``. ``TRSTRESN`` in ``TRSTRESU`` mm (cm
converted); when it is missing, a result text ``TOO SMALL TO MEASURE`` counts 5 mm and
``ABSENT``/``NOT PRESENT``/``DISAPPEARED`` 0 mm (RECIST 1.1 §3.2 / Appendix I), and a target
lesion's ``TUMSTATE`` record does the same. ``TRSTAT = NOT DONE`` or no usable result = not
measured. Two different results for one lesion, test and date are an error.

Sums. ``NTARGET`` = target lesions in TU; ``NMEAS`` = those measured at the assessment; ``SDIAM``
= sum of the measured diameters (a partial sum when ``NMEAS < NTARGET``, as admiralonco);
``ANL01FL = "Y"`` when every target lesion was measured. ``TRSUMDIAM`` = the sum reported in TR
(``TRTESTCD = SUMDIAM``), for comparison.

Baseline. The last assessment with a target measurement (any record for a subject without target
lesions) on or before the reference date (ADSL ``reference_date``, ``TTEREFDT`` by default) or at
a visit named ``BASELINE``/``SCREENING``; ``ABLFL = "Y"``. ``BASE`` = its ``SDIAM`` when it is
complete (an incomplete baseline gives no ``BASE`` and target response ``NE``). ``CHG`` /
``PCHG`` = change / percent change from ``BASE``.

Nadir. ``NADIR`` = smallest complete (``ANL01FL``) ``SDIAM`` from baseline up to, not including,
this assessment (admiralonco ``ad_adtr.R``; ``NADIR`` is missing at baseline). ``CHGNAD`` =
``SDIAM - NADIR``; ``PCHGNAD`` = ``100 * CHGNAD / NADIR``, missing when ``NADIR = 0``.

Responses are derived for assessments after baseline only.

``TRGRESP`` (RECIST 1.1 §4.3.1), in this order:

* ``PD``: ``SDIAM >= 1.2 * NADIR`` and ``SDIAM - NADIR >= 5 mm`` (also when some lesions were not
  measured: the measured ones already show PD; after a CR with ``NADIR = 0`` any increase of
  5 mm is PD);
* ``NE``: not every target lesion measured, or no complete baseline (RECIST 1.1 §4.4.2: NE
  "unless a convincing argument can be made" that the missing lesions would not change the
  response; the only argument taken is the one above, the measured lesions already show PD);
* ``CR``: every non-nodal target lesion 0 mm and every nodal one < 10 mm short axis (``SDIAM`` can
  be > 0);
* ``PR``: ``SDIAM <= 0.7 * BASE`` (at least 30 % below baseline, not the nadir);
* ``SD`` otherwise. Comparisons are exact up to 1e-6 mm (so -30.0 % is PR, -29.9 % SD).

``NTRGRESP`` (RECIST 1.1 §4.3.2), from TR ``TUMSTATE`` of the non-target lesions in TU: any
unequivocal progression (``UNEQUIVOCAL``, ``UNEQUIVOCAL PROGRESSION``) ``PD``; else any lesion
not assessed (no record, ``NOT DONE``, blank) ``NE``; else all ``ABSENT`` ``CR``; else
``NON-CR/NON-PD``. When TR has no non-target record at that date and ``rs`` is given, the
investigator's RS ``NTRGRESP`` on the same date is used (``NTRGSRC = "RS"``; this makes the
comparison with the investigator's overall response less independent, hence the flag); else
``NE``. Missing for a subject without non-target lesions.

``NEWLES`` (RECIST 1.1 §4.3.3): ``Y`` when a NEW lesion (TU role ``NEW``) is present at the
assessment: a TR record of the lesion that is unequivocal (``PRESENT``, ``UNEQUIVOCAL``, a
measurement > 0), or a TU record of the lesion on that date without a TR record. An
``EQUIVOCAL`` new lesion counts only once a later assessment shows it unequivocally, and then from
the first scan that showed it (RECIST 1.1 §4.3.3: PD is dated to the first observation).

``OVRRESP``: RECIST 1.1 Table 1 for subjects with target lesions (PD if any of target PD,
non-target PD, new lesion; NE if the target response is NE; CR if target CR and non-target CR or
no non-target lesions; PR if target CR with non-target NON-CR/NON-PD or NE; else the target
response); Table 2 for subjects with non-target lesions only (PD, CR, NE or ``NON-CR/NON-PD``);
PD or NE for a subject with no baseline lesion at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpmlib.dates import date_imputation_flag, dtc_to_date, require_valid_dtc, split_dtc
from mpmlib.derive.recist import (NODE_NORMAL_BELOW_MM, PD_MIN_INCREASE_MM, PD_MIN_INCREASE_PCT, PR_MIN_DECREASE_PCT,
                                  TOO_SMALL_TO_MEASURE_MM)
from mpmlib.errors import DataError

ADTR_COLUMNS = ["USUBJID", "AVISIT", "ADT", "ADTF", "ADY", "REFDT", "ABLFL", "ANL01FL", "NTARGET", "NMEAS",
                "SDIAM", "BASE", "CHG", "PCHG", "NADIR", "CHGNAD", "PCHGNAD", "TRSUMDIAM", "NNONTRG", "TRGRESP",
                "NTRGRESP", "NTRGSRC", "NEWLES", "OVRRESP"]
_DATE_COLUMNS = ("ADT", "REFDT")
_FLOAT_COLUMNS = ("ADY", "NTARGET", "NMEAS", "SDIAM", "BASE", "CHG", "PCHG", "NADIR", "CHGNAD", "PCHGNAD",
                  "TRSUMDIAM", "NNONTRG")

#: preferred diameter per target lesion (lower rank wins); RECIST 1.1 §3.1 / admiralonco ad_adtr.R
NODAL_RANK = {"SAXIS": 0, "LPERP": 1, "DIAMETER": 2, "TUMSTATE": 3}
NON_NODAL_RANK = {"LDIAM": 0, "DIAMETER": 1, "TUMSTATE": 2}
MEASURE_TESTS = ("SAXIS", "LPERP", "LDIAM", "DIAMETER")
ROLES = ("TARGET", "NON-TARGET", "NEW")

TOO_SMALL_MM = float(TOO_SMALL_TO_MEASURE_MM)  # RECIST 1.1: "too small to measure" = 5 mm (derive/recist.py)
ABSENT = {"ABSENT", "NOT PRESENT", "DISAPPEARED"}
NT_PD = {"UNEQUIVOCAL", "UNEQUIVOCAL PROGRESSION", "PROGRESSION", "PD"}
NT_PRESENT = {"PRESENT", "EQUIVOCAL", "EQUIVOCAL PROGRESSION", "TOO SMALL TO MEASURE"}
NEW_YES = {"PRESENT", "UNEQUIVOCAL", "UNEQUIVOCAL PROGRESSION", "NEW"}
NEW_EQUIVOCAL = {"EQUIVOCAL", "EQUIVOCAL PROGRESSION"}
RS_NTRG_VALUES = {"CR", "NON-CR/NON-PD", "PD", "NE"}
BASELINE_VISITS = {"BASELINE", "SCREENING"}
EPS = 1e-6                             # mm; floating-point slack for the 30 % / 20 % / 5 mm rules

NOT_ASSESSED = "NOT ASSESSED"
RESPONSE_ORDER = ["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"]


def derive_adtr(adsl: pd.DataFrame, tu: pd.DataFrame | None, tr: pd.DataFrame | None,
                evaluator: str = "INVESTIGATOR", reference_date: str = "TTEREFDT",
                rs: pd.DataFrame | None = None, date_imputation: str = "first") -> pd.DataFrame:
    """Per-assessment target-lesion sums and the re-derived RECIST 1.1 responses (module rules).

    Parameters
    ----------
    adsl
        ``USUBJID`` and the reference date variable ``reference_date``.
    tu, tr
        SDTM TU and TR. Either missing or empty gives an empty frame with :data:`ADTR_COLUMNS`.
    evaluator
        ``--EVAL`` value to use (``INVESTIGATOR``); ``None`` keeps every record.
    rs
        Optional SDTM RS: its ``NTRGRESP`` is used where TR has no non-target status at a date.
    date_imputation
        How a date without day (and no complete date of the same visit and month) is completed.

    Returns one row per subject and assessment date with :data:`ADTR_COLUMNS`, sorted by
    ``USUBJID, ADT``. Raises :class:`DataError` (domain, variable, subjects) for a missing
    required variable, an invalid date, a non-numeric or negative measurement, an unknown unit,
    lesion role or tumour state, a TR lesion not identified in TU, or two different results for
    one lesion, test and date.
    """
    if reference_date not in adsl.columns:
        raise DataError("ADSL", reference_date, "reference date variable not in ADSL")
    if tu is None or tr is None or tu.empty or tr.empty:
        return _empty_adtr()
    ref = adsl[["USUBJID"]].assign(REFDT=pd.to_datetime(adsl[reference_date]).to_numpy()).drop_duplicates("USUBJID")
    lesions = _lesions(tu, evaluator)
    records = _tr_records(tr, lesions, evaluator)
    new_tu = _tu_new_records(tu, evaluator, lesions)
    rs_ntrg = _rs_ntrg(rs, evaluator) if rs is not None and not rs.empty else None

    pool = pd.concat([d[["USUBJID", "VISIT", "DTC"]] for d in (records, new_tu) if not d.empty], ignore_index=True)
    records = _with_dates(records, pool, date_imputation)
    new_tu = _with_dates(new_tu, pool, date_imputation)
    if rs_ntrg is not None:
        rs_ntrg = _with_dates(rs_ntrg, pool, date_imputation)

    key = ["USUBJID", "ADT"]
    if records["ADT"].isna().any() or new_tu["ADT"].isna().any():
        bad = pd.concat([records.loc[records["ADT"].isna(), "USUBJID"], new_tu.loc[new_tu["ADT"].isna(), "USUBJID"]])
        raise DataError("TR", "TRDTC", "tumour assessment without a date", bad)
    both = [d for d in (records, new_tu) if not d.empty]
    visits = (pd.concat([d[key + ["VISIT", "VISITNUM"]] for d in both])
              .sort_values(key + ["VISITNUM"], kind="stable", na_position="last").drop_duplicates(key))
    adtf = (pd.concat([d[key + ["ADTF"]] for d in both])
            .sort_values(key + ["ADTF"], ascending=[True, True, False]).drop_duplicates(key))
    out = visits.rename(columns={"VISIT": "AVISIT"}).merge(adtf, on=key, how="left")

    counts = lesions.pivot_table(index="USUBJID", columns="ROLE", values="TULNKID", aggfunc="count")
    counts = counts.reindex(columns=list(ROLES), fill_value=0).fillna(0)
    out["NTARGET"] = out["USUBJID"].map(counts["TARGET"]).fillna(0)
    out["NNONTRG"] = out["USUBJID"].map(counts["NON-TARGET"]).fillna(0)

    out = out.merge(_target_sums(records), on=key, how="left")
    out["NMEAS"] = out["NMEAS"].fillna(0)
    out = out.merge(_reported_sums(records), on=key, how="left")
    out = out.merge(_nontarget_states(records, counts["NON-TARGET"]), on=key, how="left")
    out = out.merge(_new_lesions(records, new_tu), on=key, how="left")
    out["NEWLES"] = out["NEWLES"].fillna("N")
    out = out.merge(ref, on="USUBJID", how="left")
    out = out.sort_values(key, kind="stable").reset_index(drop=True)

    out = _baseline_and_changes(out)
    out = _responses(out, rs_ntrg)
    days = (out["ADT"] - out["REFDT"]).dt.days
    out["ADY"] = days + (days >= 0).astype(float)
    out = out.reindex(columns=ADTR_COLUMNS)
    for col in _FLOAT_COLUMNS:
        out[col] = out[col].astype(float)
    return out.reset_index(drop=True)


def best_percent_change(adtr: pd.DataFrame, complete_only: bool = True) -> pd.DataFrame:
    """Best (minimum) percent change of the sum of diameters from baseline, one row per subject
    with a baseline sum (waterfall plot; RECIST convention: best = largest decrease).

    Columns ``USUBJID, BASE, PCHG, ADT, AVISIT``: the assessment after baseline with the lowest
    ``PCHG`` (earliest on ties); ``PCHG`` is missing when there is none. Only assessments with
    every target lesion measured (``ANL01FL = "Y"``) count unless ``complete_only=False``: a
    partial sum understates the tumour (admiralonco ``ad_adtr.R`` ``ANL02FL``).
    """
    cols = ["USUBJID", "BASE", "PCHG", "ADT", "AVISIT"]
    if adtr.empty:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "ADT" else "object") for c in cols})
    base = adtr[adtr["ABLFL"].eq("Y") & adtr["BASE"].notna()][["USUBJID", "BASE", "ADT"]]
    base = base.rename(columns={"ADT": "_BLDT"})
    post = adtr.merge(base[["USUBJID", "_BLDT"]], on="USUBJID")
    post = post[(post["ADT"] > post["_BLDT"]) & post["PCHG"].notna()]
    if complete_only:
        post = post[post["ANL01FL"].eq("Y")]
    best = post.sort_values(["USUBJID", "PCHG", "ADT"], kind="stable").drop_duplicates("USUBJID")
    out = base[["USUBJID", "BASE"]].merge(best[["USUBJID", "PCHG", "ADT", "AVISIT"]], on="USUBJID", how="left")
    return out.reindex(columns=cols).reset_index(drop=True)


def response_concordance(adtr: pd.DataFrame, adrs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Re-derived time-point response (ADTR ``OVRRESP``) against the investigator's (ADRS
    ``PARAMCD = "OVR"`` ``AVALC``), matched on subject and exact date.

    * Derived: ADTR rows with an ``OVRRESP`` (assessments after baseline).
    * Investigator: ADRS OVR records with a date; of two on one date the ``ANL01FL`` one (the
      worst response, :func:`mpmlib.derive.adrs.derive_ovr`).
    * Dates are compared as they are: ADRS completes a date without day to the last day of the
      month, ADTR to a complete date of the same visit or the first day, so such an assessment
      appears on both sides as ``NOT ASSESSED`` (listed in ``discordant``).

    Returns ``(table, discordant)``. ``table``: crosstab of derived (rows) by investigator
    (columns) with ``NOT ASSESSED`` for an assessment missing on one side and ``Total`` margins;
    ``Total``/``Total`` = number of matched plus unmatched assessments. ``discordant``: every
    assessment where the two differ (unmatched ones included), with ``USUBJID, ADT, derived,
    investigator, SDIAM, PCHG, PCHGNAD, NEWLES, TRGRESP, NTRGRESP``.
    """
    der_cols = ["USUBJID", "ADT", "OVRRESP", "SDIAM", "PCHG", "PCHGNAD", "NEWLES", "TRGRESP", "NTRGRESP"]
    der = adtr.loc[adtr["OVRRESP"].notna(), der_cols] if not adtr.empty else pd.DataFrame(columns=der_cols)
    der = der.astype({"ADT": "datetime64[ns]"})
    inv = adrs[adrs["PARAMCD"].eq("OVR") & adrs["ADT"].notna()].copy() if not adrs.empty else adrs.iloc[0:0].copy()
    inv["_A"] = inv["ANL01FL"].eq("Y") if "ANL01FL" in inv.columns else False
    inv = (inv.sort_values(["USUBJID", "ADT", "_A"], ascending=[True, True, False], kind="stable")
           .drop_duplicates(["USUBJID", "ADT"])[["USUBJID", "ADT", "AVALC"]].astype({"ADT": "datetime64[ns]"}))
    both = der.merge(inv, on=["USUBJID", "ADT"], how="outer", indicator=True)
    both["derived"] = np.where(both["_merge"].eq("right_only"), NOT_ASSESSED, both["OVRRESP"].astype(object))
    both["investigator"] = np.where(both["_merge"].eq("left_only"), NOT_ASSESSED,
                                    both["AVALC"].astype(object).where(both["AVALC"].notna(), "(missing)"))
    table = pd.crosstab(both["derived"], both["investigator"], margins=True, margins_name="Total", dropna=False)
    table = table.reindex(index=_response_labels(table.index), columns=_response_labels(table.columns), fill_value=0)
    table.index.name, table.columns.name = "derived OVRRESP", "investigator OVR"
    disc = both[both["derived"].ne(both["investigator"])]
    disc = disc[["USUBJID", "ADT", "derived", "investigator", "SDIAM", "PCHG", "PCHGNAD", "NEWLES", "TRGRESP",
                 "NTRGRESP"]].sort_values(["USUBJID", "ADT"], kind="stable").reset_index(drop=True)
    return table, disc


# ---- input records ---------------------------------------------------------------------------

def _require(df: pd.DataFrame, domain: str, variables) -> None:
    for var in variables:
        if var not in df.columns:
            raise DataError(domain, var, "required variable is missing")


def _evaluator_rows(df: pd.DataFrame, prefix: str, evaluator: str | None) -> pd.DataFrame:
    """The evaluator's records; of several readers (``--EVALID``) the accepted ones (``--ACPTFL``)."""
    keep = pd.Series(True, index=df.index)
    if evaluator and f"{prefix}EVAL" in df.columns:
        keep &= df[f"{prefix}EVAL"].eq(evaluator)
    out = df[keep]
    evalid, acpt = f"{prefix}EVALID", f"{prefix}ACPTFL"
    if evalid in out.columns and acpt in out.columns and out[evalid].nunique() > 1:
        out = out[out[acpt].eq("Y")]
    return out


def _listed(label: str, values) -> str:
    """Error detail: up to five distinct offending values."""
    return f"{label}: {', '.join(sorted({str(v) for v in values})[:5])}"


def _text(series: pd.Series) -> pd.Series:
    """Stripped upper-case text ("" for missing), computed once per distinct value."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    cleaned = pd.Series(uniques, dtype=object).astype(str).str.strip().str.upper().to_numpy(dtype=object)
    values = np.append(cleaned, "")[np.where(codes < 0, len(cleaned), codes)]
    return pd.Series(values, index=series.index, dtype=object)


def _lesions(tu: pd.DataFrame, evaluator: str | None) -> pd.DataFrame:
    """One row per lesion: USUBJID, TULNKID, ROLE (TARGET / NON-TARGET / NEW), NODAL."""
    role_var = "TUSTRESC" if "TUSTRESC" in tu.columns else "TUORRES"
    _require(tu, "TU", ["USUBJID", "TULNKID", role_var])
    tu = _evaluator_rows(tu, "TU", evaluator)
    if "TUTESTCD" in tu.columns:
        tu = tu[tu["TUTESTCD"].eq("TUMIDENT")]
    tu = tu[tu["TULNKID"].notna()]
    role = _text(tu[role_var])
    bad = ~role.isin(ROLES)
    if bad.any():
        raise DataError("TU", role_var, "lesion role must be TARGET, NON-TARGET or NEW", tu.loc[bad, "USUBJID"],
                        _listed("values", role[bad]))
    loc = _text(tu["TULOC"]) if "TULOC" in tu.columns else pd.Series("", index=tu.index)
    les = pd.DataFrame({"USUBJID": tu["USUBJID"], "TULNKID": tu["TULNKID"], "ROLE": role,
                        "NODAL": loc.str.contains(r"LYMPH|NODE", regex=True)}).drop_duplicates()
    twice = les.duplicated(["USUBJID", "TULNKID"], keep=False)
    if twice.any():
        raise DataError("TU", "TULNKID", "one lesion identified twice with different role or location",
                        les.loc[twice, "USUBJID"], _listed("lesions", les.loc[twice, 'TULNKID']))
    return les.reset_index(drop=True)


def _tr_records(tr: pd.DataFrame, lesions: pd.DataFrame, evaluator: str | None) -> pd.DataFrame:
    """TR records of the evaluator with lesion role, numeric value (mm) and state text."""
    _require(tr, "TR", ["USUBJID", "TRLNKID", "TRTESTCD", "TRDTC", "TRSTRESN"])
    require_valid_dtc(tr, "TR", "TRDTC")
    tr = _evaluator_rows(tr, "TR", evaluator)
    used = tr["TRTESTCD"].isin(MEASURE_TESTS + ("TUMSTATE",)) & tr["TRLNKID"].notna()
    sums = tr["TRTESTCD"].eq("SUMDIAM")
    tr = tr[used | sums]
    rec = tr.merge(lesions, left_on=["USUBJID", "TRLNKID"], right_on=["USUBJID", "TULNKID"], how="left")
    orphan = rec["TRTESTCD"].ne("SUMDIAM") & rec["ROLE"].isna()
    if orphan.any():
        raise DataError("TR", "TRLNKID", "lesion not identified in TU (TULNKID, TUTESTCD = TUMIDENT)",
                        rec.loc[orphan, "USUBJID"], _listed("TRLNKID", rec.loc[orphan, 'TRLNKID'].astype(str)))
    raw = rec["TRSTRESN"]
    num = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & num.isna() & _text(raw).ne("")
    if bad.any():
        raise DataError("TR", "TRSTRESN", "measurement is not a number", rec.loc[bad, "USUBJID"],
                        _listed("values", raw[bad].astype(str)))
    state = _text(rec["TRSTRESC"]) if "TRSTRESC" in rec.columns else pd.Series("", index=rec.index)
    if "TRORRES" in rec.columns:
        state = state.where(state.ne(""), _text(rec["TRORRES"]))
    not_done = _text(rec["TRSTAT"]).eq("NOT DONE") if "TRSTAT" in rec.columns else pd.Series(False, index=rec.index)
    measure = rec["TRTESTCD"].isin(MEASURE_TESTS + ("SUMDIAM",))
    if "TRSTRESU" in rec.columns:
        unit = _text(rec["TRSTRESU"])
        wrong = measure & num.notna() & ~unit.isin(["MM", "CM", ""])
        if wrong.any():
            raise DataError("TR", "TRSTRESU", "diameter unit must be mm (or cm)", rec.loc[wrong, "USUBJID"],
                            _listed("units", unit[wrong]))
        num = num.where(~unit.eq("CM"), num * 10)
    text_num = pd.to_numeric(state, errors="coerce")
    from_text = pd.Series(np.nan, index=rec.index)
    from_text[state.str.contains("TOO SMALL")] = TOO_SMALL_MM
    from_text[state.isin(ABSENT)] = 0.0
    from_text = from_text.fillna(text_num.where(measure))
    value = num.fillna(from_text)
    unknown = measure & value.isna() & state.ne("") & ~not_done
    if unknown.any():
        raise DataError("TR", "TRSTRESC", "measurement is not a number, TOO SMALL TO MEASURE or ABSENT",
                        rec.loc[unknown, "USUBJID"], _listed("values", state[unknown]))
    negative = value < 0
    if negative.any():
        raise DataError("TR", "TRSTRESN", "negative diameter", rec.loc[negative, "USUBJID"])
    rec["VALUE"] = value.where(~not_done)
    rec["STATE"] = state.where(~not_done, "")
    rec["DTC"] = rec["TRDTC"]
    for col in ("VISIT", "VISITNUM"):
        if col not in rec.columns:
            rec[col] = np.nan
    return rec[["USUBJID", "TRLNKID", "TRTESTCD", "ROLE", "NODAL", "VALUE", "STATE", "VISIT", "VISITNUM", "DTC"]]


def _tu_new_records(tu: pd.DataFrame, evaluator: str | None, lesions: pd.DataFrame) -> pd.DataFrame:
    """TU identification records of NEW lesions (the date a new lesion was first seen)."""
    cols = ["USUBJID", "TULNKID", "VISIT", "VISITNUM", "DTC"]
    if "TUDTC" not in tu.columns:
        return pd.DataFrame(columns=cols)
    require_valid_dtc(tu, "TU", "TUDTC")
    tu = _evaluator_rows(tu, "TU", evaluator)
    new = tu.merge(lesions[lesions["ROLE"].eq("NEW")][["USUBJID", "TULNKID"]], on=["USUBJID", "TULNKID"])
    if "TUTESTCD" in new.columns:
        new = new[new["TUTESTCD"].eq("TUMIDENT")]
    new = new[new["TUDTC"].notna()].rename(columns={"TUDTC": "DTC"})
    for col in ("VISIT", "VISITNUM"):
        if col not in new.columns:
            new[col] = np.nan
    return new[cols].reset_index(drop=True)


def _rs_ntrg(rs: pd.DataFrame, evaluator: str | None) -> pd.DataFrame:
    """The evaluator's RS non-target responses (``RSTESTCD = NTRGRESP``)."""
    _require(rs, "RS", ["USUBJID", "RSTESTCD", "RSSTRESC", "RSDTC"])
    require_valid_dtc(rs, "RS", "RSDTC")
    rs = _evaluator_rows(rs, "RS", evaluator)
    rs = rs[rs["RSTESTCD"].eq("NTRGRESP") & rs["RSDTC"].notna()]
    value = _text(rs["RSSTRESC"])
    out = pd.DataFrame({"USUBJID": rs["USUBJID"], "DTC": rs["RSDTC"],
                        "RSNTRG": value.where(value.isin(RS_NTRG_VALUES), "NE"),
                        "VISIT": rs["VISIT"] if "VISIT" in rs.columns else np.nan,
                        "VISITNUM": rs["VISITNUM"] if "VISITNUM" in rs.columns else np.nan})
    return out.reset_index(drop=True)


def _with_dates(df: pd.DataFrame, pool: pd.DataFrame, imputation: str) -> pd.DataFrame:
    """Add ADT and ADTF to records with ``DTC``: complete dates as they are; a date without day
    takes the earliest complete date of the same subject, visit and month in ``pool``, else it is
    completed with ``imputation``."""
    df = df.copy()
    if df.empty:
        return df.assign(ADT=pd.Series(dtype="datetime64[ns]"), ADTF=pd.Series(dtype="object"))
    exact = dtc_to_date(df["DTC"], None)
    pool_dates = dtc_to_date(pool["DTC"], None)
    known = pool.assign(ADT=pool_dates)[pool_dates.notna()]
    known = known.assign(_V=_text(known["VISIT"]), _YM=known["ADT"].dt.year * 100 + known["ADT"].dt.month)
    lookup = known.groupby(["USUBJID", "_V", "_YM"], as_index=False)["ADT"].min().rename(columns={"ADT": "_SAME"})
    parts = split_dtc(df["DTC"])
    ym = (parts["year"] * 100 + parts["month"]).astype("float64")
    probe = pd.DataFrame({"USUBJID": df["USUBJID"].to_numpy(), "_V": _text(df["VISIT"]).to_numpy(),
                          "_YM": ym.where(parts["month"].notna() & parts["day"].isna(), -1).to_numpy()})
    lookup["_YM"] = lookup["_YM"].astype("float64")
    same = probe.merge(lookup, on=["USUBJID", "_V", "_YM"], how="left")["_SAME"].to_numpy()
    adt = exact.where(exact.notna(), pd.Series(same, index=df.index))
    df["ADT"] = adt.where(adt.notna(), dtc_to_date(df["DTC"], imputation))
    df["ADTF"] = date_imputation_flag(df["DTC"])
    return df


# ---- per-assessment summaries ------------------------------------------------------------------

def _target_sums(records: pd.DataFrame) -> pd.DataFrame:
    """SDIAM, NMEAS and CRLES (all non-nodal 0 mm, all nodal < 10 mm) per subject and date."""
    t = records[records["ROLE"].eq("TARGET") & records["TRTESTCD"].ne("SUMDIAM")].copy()
    nodal = t["NODAL"].astype(bool) | t["TRTESTCD"].eq("SAXIS").groupby([t["USUBJID"], t["TRLNKID"]]).transform("any")
    t["NODAL"] = nodal
    t["RANK"] = np.where(nodal, t["TRTESTCD"].map(NODAL_RANK), t["TRTESTCD"].map(NON_NODAL_RANK))
    lesion = ["USUBJID", "ADT", "TRLNKID"]
    ldiam_only = t[nodal & t["TRTESTCD"].eq("LDIAM") & t["VALUE"].notna()][lesion].drop_duplicates()
    has_axis = t[nodal & t["RANK"].notna() & t["VALUE"].notna()][lesion].drop_duplicates()
    miss = ldiam_only.merge(has_axis, on=lesion, how="left", indicator=True)
    miss = miss[miss["_merge"].eq("left_only")]
    if not miss.empty:
        raise DataError("TR", "TRTESTCD", "nodal target lesion without short axis (SAXIS); RECIST 1.1 sums the "
                        "short axis of nodes", miss["USUBJID"], _listed("lesions", miss['TRLNKID']))
    t = t[t["RANK"].notna() & t["VALUE"].notna()]
    t = t[t["RANK"].eq(t.groupby(lesion)["RANK"].transform("min"))]
    conflict = t.groupby(lesion)["VALUE"].transform("nunique") > 1
    if conflict.any():
        raise DataError("TR", "TRSTRESN", "two different results for one lesion, test and date",
                        t.loc[conflict, "USUBJID"], _listed("lesions", t.loc[conflict, 'TRLNKID']))
    t = t.drop_duplicates(lesion)
    t["_OK"] = np.where(t["NODAL"], t["VALUE"] < NODE_NORMAL_BELOW_MM, t["VALUE"] <= 0)
    out = t.groupby(["USUBJID", "ADT"]).agg(SDIAM=("VALUE", "sum"), NMEAS=("VALUE", "size"), CRLES=("_OK", "all"))
    return out.reset_index()


def _reported_sums(records: pd.DataFrame) -> pd.DataFrame:
    """The sum of diameters reported in TR (``TRTESTCD = SUMDIAM``)."""
    s = records[records["TRTESTCD"].eq("SUMDIAM") & records["VALUE"].notna()]
    return s.groupby(["USUBJID", "ADT"], as_index=False)["VALUE"].max().rename(columns={"VALUE": "TRSUMDIAM"})


def _nontarget_states(records: pd.DataFrame, n_nontarget: pd.Series) -> pd.DataFrame:
    """Non-target response from TR TUMSTATE (module rules): NTRG_TR per subject and date."""
    nt = records[records["ROLE"].eq("NON-TARGET") & records["TRTESTCD"].eq("TUMSTATE")]
    state = nt["STATE"]
    known = state.isin(NT_PD | ABSENT | NT_PRESENT) | state.eq("")
    if not known.all():
        raise DataError("TR", "TRSTRESC", "non-target tumour state must be PRESENT, ABSENT, EQUIVOCAL or "
                        "UNEQUIVOCAL (PROGRESSION)", nt.loc[~known, "USUBJID"],
                        _listed("values", state[~known]))
    code = np.select([state.isin(NT_PD), state.isin(NT_PRESENT), state.isin(ABSENT)], [3, 2, 1], 0)
    per_lesion = nt.assign(_C=code).groupby(["USUBJID", "ADT", "TRLNKID"], as_index=False)["_C"].max()
    per_lesion = per_lesion.assign(_PD=per_lesion["_C"].eq(3), _EVAL=per_lesion["_C"].gt(0),
                                   _ABS=per_lesion["_C"].eq(1))
    agg = per_lesion.groupby(["USUBJID", "ADT"]).agg(_PD=("_PD", "any"), _EVAL=("_EVAL", "sum"),
                                                     _ABS=("_ABS", "sum")).reset_index()
    expected = agg["USUBJID"].map(n_nontarget).fillna(0)
    agg["NTRG_TR"] = np.select(
        [agg["_PD"], agg["_EVAL"] < expected, agg["_ABS"] >= expected],
        ["PD", "NE", "CR"], "NON-CR/NON-PD")
    return agg[["USUBJID", "ADT", "NTRG_TR"]]


def _new_lesions(records: pd.DataFrame, new_tu: pd.DataFrame) -> pd.DataFrame:
    """NEWLES = "Y" per subject and date (module rules, equivocal lesions back-dated once confirmed)."""
    lesion = ["USUBJID", "TRLNKID"]
    new = records[records["ROLE"].eq("NEW") & records["TRTESTCD"].ne("SUMDIAM")].copy()
    state = new["STATE"]
    measured = new["TRTESTCD"].isin(MEASURE_TESTS)
    known = measured | state.isin(NEW_YES | NEW_EQUIVOCAL | ABSENT) | state.eq("")
    if not known.all():
        raise DataError("TR", "TRSTRESC", "new-lesion state must be PRESENT, EQUIVOCAL, UNEQUIVOCAL or ABSENT",
                        new.loc[~known, "USUBJID"], _listed("values", state[~known]))
    yes = np.where(measured, new["VALUE"] > 0, state.isin(NEW_YES))
    new["_Y"] = yes
    new["_EQ"] = state.isin(NEW_EQUIVOCAL).to_numpy() & ~yes
    confirmed = new[new["_Y"]].groupby(lesion)["ADT"].min().rename("_CONF").reset_index()
    new = new.merge(confirmed, on=lesion, how="left")
    new["_Y"] = new["_Y"] | (new["_EQ"] & (new["ADT"] <= new["_CONF"]))
    seen = new[["USUBJID", "TRLNKID", "ADT"]].drop_duplicates()
    tu_only = new_tu.rename(columns={"TULNKID": "TRLNKID"}).merge(seen, on=["USUBJID", "TRLNKID", "ADT"], how="left",
                                                                  indicator=True)
    tu_only = tu_only[tu_only["_merge"].eq("left_only")][["USUBJID", "ADT"]]
    flagged = pd.concat([new.loc[new["_Y"], ["USUBJID", "ADT"]], tu_only]).drop_duplicates()
    return flagged.assign(NEWLES="Y")


# ---- baseline, changes, responses --------------------------------------------------------------

def _baseline_and_changes(out: pd.DataFrame) -> pd.DataFrame:
    """ABLFL, ANL01FL, BASE, CHG, PCHG, NADIR, CHGNAD, PCHGNAD (module rules); rows sorted by date."""
    target = out["NTARGET"] > 0
    has_record = np.where(target, out["NMEAS"] > 0, True)
    on_or_before = (out["ADT"] <= out["REFDT"]).fillna(False)
    baseline_visit = _text(out["AVISIT"]).isin(BASELINE_VISITS)
    cand = has_record & (on_or_before | baseline_visit)
    bldt = out["ADT"].where(cand).groupby(out["USUBJID"]).transform("max")
    out["_BLDT"] = bldt
    out["ABLFL"] = np.where(out["ADT"].eq(bldt), "Y", "")
    out.loc[out["ABLFL"].eq("Y"), "AVISIT"] = "BASELINE"
    out["ANL01FL"] = np.where(target & (out["NMEAS"] >= out["NTARGET"]), "Y", "")
    complete = out["ANL01FL"].eq("Y")
    base = out["SDIAM"].where(out["ABLFL"].eq("Y") & complete).groupby(out["USUBJID"]).transform("max")
    out["BASE"] = base
    out["CHG"] = out["SDIAM"] - base
    out["PCHG"] = 100 * out["CHG"] / base.where(base > 0)
    eligible = out["SDIAM"].where(complete & (out["ADT"] >= bldt))
    running = eligible.groupby(out["USUBJID"]).cummin().groupby(out["USUBJID"]).ffill()
    out["NADIR"] = running.groupby(out["USUBJID"]).shift(1)
    out["CHGNAD"] = out["SDIAM"] - out["NADIR"]
    out["PCHGNAD"] = 100 * out["CHGNAD"] / out["NADIR"].where(out["NADIR"] != 0)
    return out


def _responses(out: pd.DataFrame, rs_ntrg: pd.DataFrame | None) -> pd.DataFrame:
    """TRGRESP, NTRGRESP (+ NTRGSRC), OVRRESP for assessments after baseline (module rules)."""
    bldt, ref = out["_BLDT"], out["REFDT"]
    post = np.where(bldt.notna(), out["ADT"] > bldt, np.where(ref.notna(), out["ADT"] > ref, True))
    post = pd.Series(post, index=out.index).astype(bool)
    target, nontarget = out["NTARGET"] > 0, out["NNONTRG"] > 0

    sdiam, nadir, base = out["SDIAM"], out["NADIR"], out["BASE"]
    is_pd = ((out["NMEAS"] > 0) & nadir.notna()
             & (100 * (sdiam - nadir) >= PD_MIN_INCREASE_PCT * nadir - EPS)
             & (sdiam - nadir >= PD_MIN_INCREASE_MM - EPS))
    not_all = out["ANL01FL"].ne("Y") | base.isna()
    is_cr = out["CRLES"].eq(True)
    is_pr = 100 * (sdiam - base) <= -PR_MIN_DECREASE_PCT * base + EPS
    trg = pd.Series(np.select([is_pd, not_all, is_cr, is_pr], ["PD", "NE", "CR", "PR"], "SD"), index=out.index)
    out["TRGRESP"] = trg.where(post & target)

    ntrg = out["NTRG_TR"].copy()
    src = pd.Series(np.where(ntrg.notna(), "TR", ""), index=out.index, dtype=object)
    if rs_ntrg is not None and not rs_ntrg.empty:
        from_rs = rs_ntrg.drop_duplicates(["USUBJID", "ADT"]).set_index(["USUBJID", "ADT"])["RSNTRG"]
        looked_up = pd.Series(from_rs.reindex(pd.MultiIndex.from_frame(out[["USUBJID", "ADT"]])).to_numpy(),
                              index=out.index)
        use_rs = ntrg.isna() & looked_up.notna()
        ntrg = ntrg.where(~use_rs, looked_up)
        src[use_rs] = "RS"
    ntrg = ntrg.fillna("NE").where(nontarget)
    out["NTRGRESP"] = ntrg.where(post)
    out["NTRGSRC"] = src.where(post & nontarget, "")

    new = out["NEWLES"].eq("Y")
    nt = out["NTRGRESP"]
    table1 = np.select(
        [trg.eq("PD") | nt.eq("PD") | new, trg.eq("NE"), trg.eq("CR") & (nt.eq("CR") | ~nontarget), trg.eq("CR")],
        ["PD", "NE", "CR", "PR"], trg)
    table2 = np.select([nt.eq("PD") | new, nt.eq("CR"), nt.eq("NE")], ["PD", "CR", "NE"], "NON-CR/NON-PD")
    neither = np.where(new, "PD", "NE")
    ovr = np.where(target, table1, np.where(nontarget, table2, neither))
    out["OVRRESP"] = pd.Series(ovr, index=out.index, dtype=object).where(post)
    return out


def _response_labels(labels) -> list:
    present = list(labels)
    known = [r for r in RESPONSE_ORDER if r in present]
    other = sorted(x for x in present if x not in RESPONSE_ORDER and x not in (NOT_ASSESSED, "Total"))
    tail = [x for x in (NOT_ASSESSED, "Total") if x in present]
    return known + other + tail


def _empty_adtr() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="object") for c in ADTR_COLUMNS})
    for c in _DATE_COLUMNS:
        out[c] = pd.Series(dtype="datetime64[ns]")
    for c in _FLOAT_COLUMNS:
        out[c] = pd.Series(dtype=float)
    return out
