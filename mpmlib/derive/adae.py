"""ADAE (ADaM OCCDS): one record per adverse event, with the treatment-emergent flag, CTCAE
grade, relationship to each study drug and the flags the safety tables count.

Rules (parameters are keys of ``safety:`` in the parameter file):

=========== ===================================================================================
ASTDT       AE start date. A partial AESTDTC is imputed conservatively (admiral ``ad_adae.R``:
            ``highest_imputation = "M"``, ``date_imputation = "first"``, ``min_dates = TRTSDT``,
            ``max_dates = AENDT``): to the first day of the month / year, or to the first dose
            date when that falls in the same month / year and later, so an AE that may have
            started on treatment counts as emergent; but never after the AE end date (AENDT)
            when that lies in the same month / year (admiral ``derive_vars_dtm(max_dates =)``:
            the imputed date is capped at the end date), so an AE that ended before the first
            dose is not made emergent and ASTDT <= AENDT. ``ASTDTF`` = "D" / "M" when imputed.
AENDT       AE end date; a partial AEENDTC is imputed to the last day of the month / year, never
            after the death date. ``AENDTF`` as above.
ASTDY       study day of onset (first dose = day 1, no day 0).
TRTEMFL     treatment-emergent (admiral ``derive_var_trtemfl`` with ``end_window``): ASTDT on or
            after the first dose of any study drug (TRTSDT) and no later than the window end
            ``TEWENDT``, the LATER of two ends, both parameters:

            1. the protocol's recording window: last dose of ``window_anchor`` (a study drug
               code, e.g. H101; null = any study drug, TRTEDT) + ``window_days`` +
               ``grace_days`` (protocol: "through 30 (+7) days after the last administration of
               H101"); a subject who never received the anchoring drug (``<CODE>EDT``
               missing) has this end at the last dose of any study drug (TRTEDT) + the same
               days (admiral would otherwise have no end date and flag every later AE);
            2. the last dose of any study drug (TRTEDT) + ``window_any_drug_days`` (ICH E3
               §12.2 / FDA safety tables: events while on any study treatment and shortly after
               it are treatment-emergent), so an AE while the subject still receives the PD-1
               inhibitor after the last H101 dose is not lost; null = end 1 only.

            ``window_days: null`` = no end window at all (CDISC pilot). An AE without any start
            date counts as emergent unless it ended before the first dose. AEs starting after
            the data cut-off (ADSL ``DCUTDT``, parameter ``data_cutoff``) are not emergent: data
            after the cut-off are not analysed (as ADRS and ADTTE; undated AEs are kept).
TEWENDT     end of the treatment-emergent window for the subject (NaT: no end, or never dosed).
TEMRSN      why an AE is not treatment-emergent: "never dosed", "before first dose", "after
            the window" (it ended on TEWENDT), "after the data cut-off"; "" for a TEAE. Every AE outside
            the window is listed by the safety page with this reason, so nothing is invisible.
TRTEIRFL    the immune-related sensitivity window (``immune_window_days``, e.g. 90): emergent as
            TRTEMFL but the window ends at the later of TEWENDT and TRTEDT +
            ``immune_window_days`` (irAEs of PD-1 inhibitors may begin months after the last
            dose: Postow et al., N Engl J Med 2018;378:158-168); null = no sensitivity window
            (TRTEIRFL = TRTEMFL). Tables use it with AEIRFL = "Y" only.
ATOXGRN     CTCAE grade 1-5 from AETOXGR; without AETOXGR in the data, from AESEV (MILD 1,
            MODERATE 2, SEVERE 3) and ``GRSRC = "AESEV"`` says so. ``GR3FL``: grade >= 3.
REL<CODE>FL related to study drug <CODE> (``relationship`` mapping: a SUPPAE QNAM or AEREL);
            ``RELANYFL`` related to any study drug. Related = a value in ``related_values``.
AEIRFL      immune-related (``immune_related``: SUPPAE QNAM), Y/N.
SERFL       serious (AESER = Y); ``DISCFL`` action taken = a value of ``discontinuation_acn``;
            ``FATALFL`` fatal (AEOUT = FATAL, AESDTH = Y or grade 5).
(collected) A flag whose source is blank in EVERY AE record (e.g. AEACN on the CDISC pilot) was
            not collected: the flag is null in every record, never "N", so a table shows "not
            collected" instead of 0 (:func:`not_collected`). FATALFL is collected when AEOUT or
            AESDTH has a value or grades are CTCAE grades (grade 5 = death); REL<CODE>FL when
            its relationship source has a value.
=========== ===================================================================================

Every AE of a subject in ADSL is kept; ``TRTEMFL`` only selects. An AE of a subject who was
never dosed has TRTEMFL = "N".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpmlib.dates import date_imputation_flag, dtc_to_date, require_valid_dtc, split_dtc
from mpmlib.errors import DataError
from mpmlib.settings.load import DEFAULTS
from mpmlib.text import visible

#: the pipeline's own defaults (mpmlib.settings.load), so a direct call gives the same window as a run
DEFAULT_SETTINGS = DEFAULTS["safety"]
AE_REQUIRED = ["USUBJID", "AEDECOD", "AEBODSYS", "AESTDTC"]
SEVERITY_GRADE = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}
KEEP = ["STUDYID", "USUBJID", "TRTA", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "ASTDT", "ASTDTF",
        "AEENDTC", "AENDT", "AENDTF", "ASTDY", "TRTEMFL", "TEWENDT", "TEMRSN", "TRTEIRFL", "ATOXGRN", "GRSRC",
        "GR3FL", "AESER", "SERFL", "AEACN", "DISCFL", "AEOUT", "AESDTH", "FATALFL", "AEREL", "RELANYFL", "AEIRFL"]


def derive_adae(adsl: pd.DataFrame, ae: pd.DataFrame | None, suppae: pd.DataFrame | None = None,
                settings: dict | None = None) -> pd.DataFrame:
    """Build ADAE from ADSL, SDTM AE and SUPPAE (module rules). Empty frame when AE is absent."""
    s = {**DEFAULT_SETTINGS, **(settings or {})}
    if ae is None or ae.empty:
        return pd.DataFrame(columns=KEEP)
    missing = [v for v in AE_REQUIRED if v not in ae.columns]
    if missing:
        raise DataError("AE", ", ".join(missing), "required variable is missing")
    for var in ("AESTDTC", "AEENDTC"):
        require_valid_dtc(ae, "AE", var)
    unknown = ~ae["USUBJID"].isin(adsl["USUBJID"])
    if unknown.any():
        raise DataError("AE", "USUBJID", "subject not in DM", ae.loc[unknown, "USUBJID"])
    anchor = window_end_variable(adsl, s["window_anchor"])
    subj = adsl.set_index("USUBJID")
    adae = ae.copy()
    if "AESEQ" not in adae.columns:
        adae["AESEQ"] = adae.groupby("USUBJID").cumcount() + 1
    adae["TRTA"] = adae["USUBJID"].map(subj["TRT01A"])
    trtsdt = adae["USUBJID"].map(subj["TRTSDT"])
    dthdt = adae["USUBJID"].map(subj["DTHDT"]) if "DTHDT" in subj else pd.Series(pd.NaT, index=adae.index)
    end = adae["AEENDTC"] if "AEENDTC" in adae.columns else pd.Series(np.nan, index=adae.index, dtype=object)
    adae["AEENDTC"] = end
    aendt = dtc_to_date(end, "last")
    adae["AENDT"] = aendt.where(~(aendt > dthdt), dthdt)
    adae["AENDTF"] = date_imputation_flag(end).where(adae["AENDT"].notna(), "")
    adae["ASTDT"] = impute_start_date(adae["AESTDTC"], trtsdt, adae["AENDT"])
    adae["ASTDTF"] = date_imputation_flag(adae["AESTDTC"]).where(adae["ASTDT"].notna(), "")
    days = (adae["ASTDT"] - trtsdt).dt.days
    adae["ASTDY"] = days + (days >= 0)
    last = adae["USUBJID"].map(subj[anchor]) if anchor else pd.Series(pd.NaT, index=adae.index)
    trtedt = adae["USUBJID"].map(subj["TRTEDT"]) if "TRTEDT" in subj else pd.Series(pd.NaT, index=adae.index)
    last = last.fillna(trtedt)          # anchoring drug never given: last dose of any study drug
    cutoff = adae["USUBJID"].map(subj["DCUTDT"]) if "DCUTDT" in subj else None
    adae["TEWENDT"] = window_end(last, trtedt, s["window_days"], s["grace_days"], s["window_any_drug_days"])
    adae["TRTEMFL"] = treatment_emergent(adae["ASTDT"], adae["AENDT"], trtsdt, adae["TEWENDT"],
                                         s["window_days"] is not None, cutoff)
    adae["TEMRSN"] = not_emergent_reason(adae["ASTDT"], adae["AENDT"], trtsdt, adae["TEWENDT"], cutoff,
                                         adae["TRTEMFL"])
    if s["immune_window_days"] is None or s["window_days"] is None:
        adae["TRTEIRFL"] = adae["TRTEMFL"]
    else:
        ir_end = window_end(adae["TEWENDT"], trtedt, 0, 0, s["immune_window_days"])
        adae["TRTEIRFL"] = treatment_emergent(adae["ASTDT"], adae["AENDT"], trtsdt, ir_end, True, cutoff)
    adae = derive_grade(adae)
    adae["SERFL"] = not_collected(np.where(_text(adae, "AESER").eq("Y"), "Y", "N"), _text(adae, "AESER"))
    adae["DISCFL"] = not_collected(np.where(_text(adae, "AEACN").isin([v.upper() for v in s["discontinuation_acn"]]),
                                            "Y", "N"), _text(adae, "AEACN"))
    fatal = _text(adae, "AEOUT").eq("FATAL") | _text(adae, "AESDTH").eq("Y") | adae["ATOXGRN"].eq(5)
    outcome = _text(adae, "AEOUT") + _text(adae, "AESDTH") + np.where(adae["GRSRC"].eq("AETOXGR"), "GRADE", "")
    adae["FATALFL"] = not_collected(np.where(fatal, "Y", "N"), outcome)
    adae = derive_relationship(adae, suppae, s)
    extra = [c for c in adae.columns if c.startswith("REL") and c.endswith("FL") and c != "RELANYFL"]
    for col in KEEP:
        if col not in adae.columns:
            adae[col] = np.nan
    return (adae[KEEP[:KEEP.index("RELANYFL")] + extra + KEEP[KEEP.index("RELANYFL"):]]
            .sort_values(["USUBJID", "ASTDT", "AESEQ"], kind="stable", na_position="last").reset_index(drop=True))


def window_end_variable(adsl: pd.DataFrame, anchor: str | None) -> str:
    """ADSL variable whose date anchors the end of the TEAE window (``<CODE>EDT`` or TRTEDT)."""
    variable = f"{anchor}EDT" if anchor else "TRTEDT"
    if variable not in adsl.columns:
        raise DataError("PARAMS", "safety.window_anchor",
                        f"no last-dose date {variable} in ADSL: name a code of adsl.study_drugs or use null")
    return variable


def impute_start_date(dtc: pd.Series, trtsdt: pd.Series, aendt: pd.Series | None = None) -> pd.Series:
    """Conservative AE start date (module docstring): first day of the missing period, moved to
    the first dose date when that lies later within the same period, then capped at the AE end
    date ``aendt`` when the end lies within the period (admiral ``derive_vars_dtm``
    ``min_dates = TRTSDT``, ``max_dates = AENDT``: the imputed date is never after the end).
    An end date before the whole period (impossible data) leaves the first day of the period."""
    parts = split_dtc(dtc)
    first = dtc_to_date(dtc, "first")
    last = dtc_to_date(dtc, "last")
    partial = parts["day"].isna() & first.notna()
    bump = partial & (trtsdt > first) & (trtsdt <= last)
    imputed = first.where(~bump, trtsdt)
    if aendt is not None:
        cap = partial & (imputed > aendt) & (aendt >= first)
        imputed = imputed.where(~cap, aendt)
    return imputed


def window_end(anchor_last_dose: pd.Series, last_dose_any: pd.Series, window_days: int | None,
               grace_days: int | None, any_drug_days: int | None) -> pd.Series:
    """End of the treatment-emergent window per record (module docstring, TRTEMFL): the later of
    ``anchor_last_dose + window_days + grace_days`` and ``last_dose_any + any_drug_days``; an end
    whose days are null is not applied; NaT when ``window_days`` is null (no end window).

    >>> d = pd.to_datetime(pd.Series(["2024-04-01"]))
    >>> window_end(d, pd.to_datetime(pd.Series(["2024-06-01"])), 30, 7, 30).dt.date.tolist()
    [datetime.date(2024, 7, 1)]
    >>> window_end(d, pd.to_datetime(pd.Series(["2024-04-05"])), 30, 7, 30).dt.date.tolist()
    [datetime.date(2024, 5, 8)]
    """
    if window_days is None:
        return pd.Series(pd.NaT, index=anchor_last_dose.index, dtype="datetime64[ns]")
    first = anchor_last_dose + pd.to_timedelta(window_days + (grace_days or 0), unit="D")
    if any_drug_days is None:
        return first
    second = last_dose_any + pd.to_timedelta(any_drug_days, unit="D")
    return pd.concat([first, second], axis=1).max(axis=1).astype("datetime64[ns]")


def treatment_emergent(astdt: pd.Series, aendt: pd.Series, trtsdt: pd.Series, end: pd.Series,
                       has_end: bool = True, cutoff: pd.Series | None = None) -> pd.Series:
    """TRTEMFL "Y"/"N" (admiral ``derive_var_trtemfl`` with ``end_window``; see module).

    ``end`` is the window end per AE (:func:`window_end`); ``has_end=False`` = no end window; an
    AE starting after ``cutoff`` (data cut-off) is "N"."""
    treated = trtsdt.notna()
    if not has_end:
        within = pd.Series(True, index=astdt.index)
    else:
        within = ~(astdt > end)
    if cutoff is not None:
        within &= ~(astdt > cutoff)
    started_on = (astdt >= trtsdt) & within
    undated = astdt.isna() & ~(aendt < trtsdt)
    return pd.Series(np.where(treated & (started_on | undated), "Y", "N"), index=astdt.index)


def not_emergent_reason(astdt: pd.Series, aendt: pd.Series, trtsdt: pd.Series, end: pd.Series,
                        cutoff: pd.Series | None, trtemfl: pd.Series) -> pd.Series:
    """TEMRSN: why an AE is not treatment-emergent ("" when it is; module docstring)."""
    after_cutoff = (astdt > cutoff) if cutoff is not None else pd.Series(False, index=astdt.index)
    reason = np.select(
        [trtemfl.eq("Y"), trtsdt.isna(), astdt.lt(trtsdt) | (astdt.isna() & aendt.lt(trtsdt)), after_cutoff],
        ["", "never dosed", "before first dose", "after the data cut-off"],
        default="after the window")
    return pd.Series(reason, index=astdt.index)


def derive_grade(adae: pd.DataFrame) -> pd.DataFrame:
    """ATOXGRN from AETOXGR (CTCAE v5.0 grade 1-5), else from AESEV; GR3FL; GRSRC."""
    if "AETOXGR" in adae.columns and adae["AETOXGR"].notna().any():
        text = _text(adae, "AETOXGR").str.replace(r"^GRADE\s*", "", regex=True)
        grade = pd.to_numeric(text.where(text.ne("")), errors="coerce")
        bad = text.ne("") & ~grade.isin([1, 2, 3, 4, 5])
        if bad.any():
            raise DataError("AE", "AETOXGR", "CTCAE grade must be 1-5", adae.loc[bad, "USUBJID"],
                            f"values: {', '.join(sorted(set(text[bad])))}")
        adae["GRSRC"] = "AETOXGR"
    else:
        sev = _text(adae, "AESEV")
        bad = sev.ne("") & ~sev.isin(list(SEVERITY_GRADE))
        if bad.any():
            raise DataError("AE", "AESEV", "severity must be MILD, MODERATE or SEVERE", adae.loc[bad, "USUBJID"],
                            f"values: {', '.join(sorted(set(sev[bad])))}")
        grade = sev.map(SEVERITY_GRADE)
        adae["GRSRC"] = "AESEV"
    adae["ATOXGRN"] = grade.astype(float)
    adae["GR3FL"] = np.where(adae["ATOXGRN"] >= 3, "Y", "N")
    return adae


def derive_relationship(adae: pd.DataFrame, suppae: pd.DataFrame | None, s: dict) -> pd.DataFrame:
    """REL<CODE>FL per study drug, RELANYFL and AEIRFL (module docstring)."""
    related = {v.upper() for v in s["related_values"]}
    flags = []
    for code, spec in (s["relationship"] or {}).items():
        values = _source_values(adae, suppae, spec)
        adae[f"REL{code}FL"] = not_collected(np.where(values.isin(related), "Y", "N"), values)
        flags.append(f"REL{code}FL")
    overall = _text(adae, "AEREL").isin(related)
    sources = _text(adae, "AEREL")
    for flag in flags:
        overall |= adae[flag].eq("Y")
        sources = sources + adae[flag].fillna("")
    adae["RELANYFL"] = not_collected(np.where(overall, "Y", "N"), sources)
    if s["immune_related"]:
        adae["AEIRFL"] = np.where(_source_values(adae, suppae, s["immune_related"]).eq("Y"), "Y", "N")
    else:
        adae["AEIRFL"] = np.nan
    return adae


def not_collected(flag, source: pd.Series) -> pd.Series:
    """The Y/N ``flag``, or null in every record when ``source`` (upper-case text, "" = blank) is
    blank in every record: the variable was not collected (module docstring, "collected").

    >>> not_collected(np.array(["N", "N"]), pd.Series(["", ""])).tolist()
    [nan, nan]
    >>> not_collected(np.array(["Y", "N"]), pd.Series(["Y", ""])).tolist()
    ['Y', 'N']
    """
    flag = pd.Series(flag, index=source.index, dtype=object)
    return flag if source.ne("").any() else pd.Series(np.nan, index=source.index, dtype=object)


def _source_values(adae: pd.DataFrame, suppae: pd.DataFrame | None, spec: dict) -> pd.Series:
    """Upper-case text of an AE variable (``{variable: AEREL}``) or a SUPPAE QNAM (``{qnam: ...}``)
    matched on USUBJID and AESEQ."""
    if "variable" in spec:
        return _text(adae, spec["variable"])
    if suppae is None or not {"QNAM", "QVAL", "IDVARVAL", "USUBJID"} <= set(suppae.columns):
        raise DataError("SUPPAE", f"QNAM={spec['qnam']}", "named in the safety parameters but SUPPAE is absent "
                        "or lacks QNAM/QVAL/IDVARVAL (every AE would silently count as unrelated)")
    rows = suppae[suppae["QNAM"].eq(spec["qnam"])]
    if rows.empty:
        raise DataError("SUPPAE", f"QNAM={spec['qnam']}", "named in the safety parameters but has no records "
                        f"(QNAMs present: {', '.join(sorted(suppae['QNAM'].dropna().unique())[:10])})")
    key = rows["USUBJID"].astype(str) + "|" + parent_aeseq(rows, spec["qnam"]).astype(str)
    dup = key.duplicated(keep=False)
    if dup.any():
        raise DataError("SUPPAE", f"QNAM={spec['qnam']}", "more than one value per AE record", rows.loc[dup, "USUBJID"])
    lookup = dict(zip(key, _text(rows, "QVAL")))
    ae_key = adae["USUBJID"].astype(str) + "|" + aeseq_integers(adae).astype(str)
    return ae_key.map(lookup).fillna("")


def parent_aeseq(rows: pd.DataFrame, qnam: str) -> pd.Series:
    """The AESEQ each SUPPAE record qualifies, as integers (SDTMIG 3.3 §8.4.1: IDVAR names the
    parent's key variable, IDVARVAL its value; an AE qualifier points at AESEQ, an integer by
    SDTM v1.7 "Sequence number"). IDVAR other than AESEQ, or an IDVARVAL that is not a whole
    number ("1.5", "one", blank), points at no AE: its qualifier would be lost without a word,
    so it is a :class:`DataError` naming the QNAM, the subjects and the values (QC X-022)."""
    if "IDVAR" in rows.columns:
        idvar = _text(rows, "IDVAR")
        other = idvar.ne("AESEQ")
        if other.any():
            raise DataError("SUPPAE", "IDVAR", f"a QNAM={qnam} record must point at its AE by AESEQ",
                            rows.loc[other, "USUBJID"], f"IDVAR values: {_values(rows.loc[other, 'IDVAR'])}")
    number, whole = _whole_numbers(rows["IDVARVAL"])
    if not whole.all():
        raise DataError("SUPPAE", "IDVARVAL", f"a QNAM={qnam} record must name an integer AESEQ",
                        rows.loc[~whole, "USUBJID"], f"IDVARVAL values: {_values(rows.loc[~whole, 'IDVARVAL'])}")
    return number.astype("int64")


def aeseq_integers(ae: pd.DataFrame) -> pd.Series:
    """AESEQ as integers (SDTM v1.7: --SEQ, a whole number identifying the record of the
    subject); SUPPAE qualifiers are matched on it. A blank, fractional or infinite AESEQ is a
    :class:`DataError` naming the subjects and values."""
    number, whole = _whole_numbers(ae["AESEQ"])
    if not whole.all():
        raise DataError("AE", "AESEQ", "sequence number must be an integer", ae.loc[~whole, "USUBJID"],
                        f"values: {_values(ae.loc[~whole, 'AESEQ'])}")
    return number.astype("int64")


def _values(values: pd.Series) -> str:
    """Distinct offending values as shown in a message: invisible characters escaped, blank and
    padded text quoted."""
    shown = sorted({visible(v) if isinstance(v, str) else ("" if pd.isna(v) else visible(v)) for v in values})
    return ", ".join(repr(v) if v == "" or v.strip() != v else v for v in shown[:10])


def _whole_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(numbers, mask of whole numbers)``: integral, finite and exactly representable."""
    number = pd.to_numeric(values, errors="coerce")
    whole = number.notna() & number.abs().lt(2.0 ** 53) & number.eq(number.round())
    return number, whole


def _text(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        return pd.Series("", index=df.index)
    return df[column].astype(object).where(df[column].notna(), "").astype(str).str.strip().str.upper()
