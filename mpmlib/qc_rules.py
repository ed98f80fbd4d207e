"""Cross-domain data-QC rules (Great Expectations checks one table at a time).

Each rule returns a finding in the shape of :mod:`mpmlib.validate` plus the offending records,
each named by USUBJID and the variables that identify it in its domain (--SEQ, --TESTCD,
VISITNUM / VISIT: :func:`mpmlib.validate.record_variables`) with the offending value. A rule's
offending frame keeps the row labels of the domain records it comes from, so the record's
variables are looked up from the domain (``source``), vectorised. Rule ids ``X-nnn``; severities follow the question "can the analysis
still be trusted?" — critical when a derivation would be wrong, warning when a reviewer should
look. Sources: SDTMIG 3.3 (dates, keys), RECIST 1.1 (responses), CTCAE v5.0 (grades).
"""

from __future__ import annotations

import pandas as pd

from .dates import dtc_to_date, invalid_dtc

#: Natural keys per domain (SDTMIG 3.3 domain keys). Variables in OPTIONAL_KEYS are used when
#: present; without any other key variable the rule is NOT RUN (a missing required variable
#: is its suite's finding, and a shorter key would report false duplicates).
OPTIONAL_KEYS = {"RSCAT", "RSEVAL", "RSEVALID", "TUEVAL", "TUEVALID", "TREVAL", "TREVALID", "QSCAT",
                 "VISITNUM", "DSSCAT", "IDVAR", "IDVARVAL", "LBSPEC", "LBMETHOD", "LBTPTNUM"}
NATURAL_KEYS = {
    "dm": ["USUBJID"], "suppdm": ["USUBJID", "IDVAR", "IDVARVAL", "QNAM"],
    "ex": ["USUBJID", "EXTRT", "EXSTDTC"], "ae": ["USUBJID", "AESEQ"],
    "suppae": ["USUBJID", "IDVAR", "IDVARVAL", "QNAM"],
    "rs": ["USUBJID", "RSCAT", "RSTESTCD", "RSEVAL", "RSEVALID", "RSDTC"],
    "tu": ["USUBJID", "TULNKID", "TUEVAL", "TUEVALID"],
    "tr": ["USUBJID", "TRLNKID", "TRTESTCD", "TREVAL", "TREVALID", "TRDTC"],
    "qs": ["USUBJID", "QSCAT", "QSTESTCD", "VISITNUM", "QSDTC"], "ds": ["USUBJID", "DSCAT", "DSSCAT", "DSDECOD"],
    "cm": ["USUBJID", "CMTRT", "CMSTDTC"], "sv": ["USUBJID", "VISITNUM"],
    "lb": ["USUBJID", "LBTESTCD", "LBSPEC", "LBMETHOD", "LBTPTNUM", "VISITNUM", "LBDTC"],
}
#: Dated records that must not precede informed consent (CM prior therapies and DM excluded).
ON_STUDY_DATES = [("ex", "EXSTDTC"), ("ae", "AESTDTC"), ("rs", "RSDTC"), ("tr", "TRDTC"), ("tu", "TUDTC"),
                  ("qs", "QSDTC")]
#: Dated records that must not follow death. LB is here but not in ON_STUDY_DATES: a screening
#: laboratory result from routine care before consent may be used where the protocol allows it.
DATED = ON_STUDY_DATES + [("ex", "EXENDTC"), ("ae", "AEENDTC"), ("ds", "DSSTDTC"), ("cm", "CMSTDTC"),
                          ("sv", "SVSTDTC"), ("lb", "LBDTC")]
RESPONSES = ["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"]


def cross_domain_findings(sdtm: dict[str, pd.DataFrame]) -> tuple[list[dict], list[dict]]:
    """Run every cross-domain rule that the available domains allow."""
    findings, details = [], []
    # a domain without USUBJID is already a critical finding of its suite; rules need the id
    sdtm = {d: df for d, df in sdtm.items() if "USUBJID" in df.columns}
    for rule in RULES:
        for finding, offending in rule(sdtm):
            findings.append(finding)
            details += offending
    return findings, details


def result(rule_id, severity, domain, variable, text, offending: pd.DataFrame | None, not_run: str = "",
           source: pd.DataFrame | None = None):
    """One finding plus its detail rows from a frame with USUBJID and VALUE columns, one row per
    offending record, indexed by the record's row label in ``source`` (the domain's records)."""
    from .validate import MAX_DETAILS_PER_RULE, _finding, record_details

    meta = {"rule_id": rule_id, "text": text}
    if not_run:
        return _finding(meta, severity, domain, variable, "NOT RUN", values=[not_run]), []
    offending = offending if offending is not None else pd.DataFrame(columns=["USUBJID", "VALUE"])
    status = "FAIL" if len(offending) else "PASS"
    finding = _finding(meta, severity, domain, variable, status, offending["USUBJID"].tolist(),
                       offending["VALUE"].tolist(), len(offending))
    shown = offending.head(MAX_DETAILS_PER_RULE)
    records = source.loc[shown.index] if source is not None else shown[["USUBJID"]]
    records = records.assign(USUBJID=shown["USUBJID"].to_numpy())
    return finding, record_details(rule_id, domain, variable, records, shown["VALUE"].astype(str).tolist())


# ---- rules ---------------------------------------------------------------------------------------

def rule_subjects_in_dm(sdtm):
    """X-001 (critical): every subject with records in any domain is in DM."""
    dm = sdtm.get("dm")
    for domain, df in sorted(sdtm.items()):
        if domain == "dm" or "USUBJID" not in df.columns:
            continue
        if dm is None or "USUBJID" not in dm.columns:
            yield result("X-001", "critical", domain, "USUBJID", "subject exists in DM", None, "DM not available")
            continue
        bad = df[~df["USUBJID"].isin(dm["USUBJID"])]
        off = pd.DataFrame({"USUBJID": bad["USUBJID"], "VALUE": bad["USUBJID"]})     # every record
        yield result("X-001", "critical", domain, "USUBJID", "subject exists in DM", off, source=df)


def rule_iso_dates(sdtm):
    """X-002 (critical): every --DTC value is a real ISO 8601 date/time (partial allowed;
    2025-02-30 or month 13 are not). One finding per variable with bad values, else one PASS."""
    text = "valid ISO 8601 date (partial allowed, no impossible dates)"
    failures = 0
    for domain, df in sorted(sdtm.items()):
        for col in [c for c in df.columns if c.endswith("DTC")]:
            bad = invalid_dtc(df[col])
            if bad.any():
                failures += 1
                subjects = df.loc[bad, "USUBJID"] if "USUBJID" in df.columns else ""
                yield result("X-002", "critical", domain, col, text,
                             pd.DataFrame({"USUBJID": subjects, "VALUE": df.loc[bad, col]}), source=df)
    if not failures:
        yield result("X-002", "critical", "ALL", "--DTC", text, None)


def rule_duplicates(sdtm):
    """X-003 (critical): no duplicate records on the domain's natural key (SDTMIG 3.3 keys)."""
    for domain, keys in NATURAL_KEYS.items():
        df = sdtm.get(domain)
        if df is None:
            continue
        text = f"no duplicate records on {', '.join(keys)}"
        absent = [k for k in keys if k not in df.columns and k not in OPTIONAL_KEYS]
        if absent:
            yield result("X-003", "critical", domain, ", ".join(keys), text, None,
                         f"key variable(s) absent: {', '.join(absent)}")
            continue
        cols = [k for k in keys if k in df.columns]
        dup = df[df.duplicated(cols, keep=False)]
        if dup.empty:
            yield result("X-003", "critical", domain, ", ".join(cols), text, None)
            continue
        value = dup[cols[1:]].apply(lambda col: col.map(_text)).agg(" / ".join, axis=1) if len(cols) > 1 \
            else dup["USUBJID"]
        off = pd.DataFrame({"USUBJID": dup["USUBJID"], "VALUE": value})       # each record of a pair
        yield result("X-003", "critical", domain, ", ".join(cols), f"no duplicate records on {', '.join(cols)}", off,
                     source=df)


def _text(value) -> str:
    from .validate import _text as as_text

    return as_text(value)


def _first_dose(sdtm) -> pd.Series:
    ex = sdtm.get("ex")
    if ex is None or "EXSTDTC" not in ex.columns:
        return pd.Series(dtype="datetime64[ns]")
    return ex.assign(D=dtc_to_date(ex["EXSTDTC"])).groupby("USUBJID")["D"].min()


def _dm_date(sdtm, variable, imputation=None) -> pd.Series:
    dm = sdtm.get("dm")
    if dm is None or variable not in dm.columns:
        return pd.Series(dtype="datetime64[ns]")
    dm = dm.drop_duplicates("USUBJID")           # duplicates are X-003's finding
    return pd.Series(dtc_to_date(dm[variable], imputation).to_numpy(), index=dm["USUBJID"]).dropna()


def rule_consent_before_records(sdtm):
    """X-004 (critical): nothing on study precedes informed consent (DM RFICDTC): dosing, AEs,
    tumour assessments, questionnaires. Partial dates count from their last possible day."""
    consent = _dm_date(sdtm, "RFICDTC")
    if consent.empty:
        yield result("X-004", "critical", "DM", "RFICDTC", "no study record before informed consent", None,
                     "RFICDTC not available")
        return
    for domain, col in ON_STUDY_DATES:
        df = sdtm.get(domain)
        if df is None or col not in df.columns:
            continue
        when = dtc_to_date(df[col], "last")
        before = when < df["USUBJID"].map(consent)
        off = pd.DataFrame({"USUBJID": df.loc[before, "USUBJID"], "VALUE": df.loc[before, col]
                            + " < consent " + df.loc[before, "USUBJID"].map(consent).dt.strftime("%Y-%m-%d")})
        yield result("X-004", "critical", domain, col, "not before informed consent (DM.RFICDTC)", off, source=df)


def rule_responses_after_first_dose(sdtm):
    """X-005 (critical): a RECIST response (RS OVRLRESP) is assessed after the first dose."""
    rs = sdtm.get("rs")
    if rs is None or not {"RSTESTCD", "RSDTC"} <= set(rs.columns):
        return
    first = _first_dose(sdtm)
    ovr = rs[rs["RSTESTCD"].eq("OVRLRESP")]
    when = dtc_to_date(ovr["RSDTC"], "last")
    early = when < ovr["USUBJID"].map(first)
    off = pd.DataFrame({"USUBJID": ovr.loc[early, "USUBJID"], "VALUE": ovr.loc[early, "RSDTC"] + " < first dose "
                        + ovr.loc[early, "USUBJID"].map(first).dt.strftime("%Y-%m-%d")})
    yield result("X-005", "critical", "RS", "RSDTC", "overall response dated after the first dose (EX)", off,
                 source=rs)


def rule_end_after_start(sdtm):
    """X-006 (critical): end date not before start date (AE, EX, CM), complete dates compared."""
    for domain, start, end in (("ae", "AESTDTC", "AEENDTC"), ("ex", "EXSTDTC", "EXENDTC"), ("cm", "CMSTDTC", "CMENDTC")):
        df = sdtm.get(domain)
        if df is None or not {start, end} <= set(df.columns):
            continue
        s, e = dtc_to_date(df[start], "first"), dtc_to_date(df[end], "last")
        bad = e < s
        off = pd.DataFrame({"USUBJID": df.loc[bad, "USUBJID"], "VALUE": df.loc[bad, start] + " > " + df.loc[bad, end]})
        yield result("X-006", "critical", domain, end, f"{end} not before {start}", off, source=df)


def rule_nothing_after_death(sdtm):
    """X-007 (critical): no record dated after death, except death-related ones (DS DEATH, the
    end of a fatal AE). Partial dates count from their first possible day."""
    death = _dm_date(sdtm, "DTHDTC", "last")
    if death.empty:
        return
    for domain, col in DATED:
        df = sdtm.get(domain)
        if df is None or col not in df.columns:
            continue
        when = dtc_to_date(df[col], "first")
        after = when > df["USUBJID"].map(death)
        if domain == "ds" and "DSDECOD" in df.columns:
            after &= ~df["DSDECOD"].eq("DEATH")
        off = pd.DataFrame({"USUBJID": df.loc[after, "USUBJID"], "VALUE": df.loc[after, col]
                            + " > death " + df.loc[after, "USUBJID"].map(death).dt.strftime("%Y-%m-%d")})
        yield result("X-007", "critical", domain, col, "no record after the death date (DM.DTHDTC)", off, source=df)


def rule_grade5_fatal(sdtm):
    """X-008 (critical): CTCAE grade 5 (death) only with AEOUT = FATAL, and FATAL only with grade 5."""
    ae = sdtm.get("ae")
    if ae is None or not {"AETOXGR", "AEOUT"} <= set(ae.columns):
        return
    grade = pd.to_numeric(ae["AETOXGR"], errors="coerce")
    bad = (grade.eq(5) & ~ae["AEOUT"].eq("FATAL")) | (ae["AEOUT"].eq("FATAL") & grade.notna() & ~grade.eq(5))
    off = pd.DataFrame({"USUBJID": ae.loc[bad, "USUBJID"],
                        "VALUE": "grade " + ae.loc[bad, "AETOXGR"].astype(str) + ", " + ae.loc[bad, "AEOUT"].astype(str)})
    yield result("X-008", "critical", "AE", "AETOXGR", "grade 5 if and only if AEOUT is FATAL (CTCAE v5.0)", off,
                 source=ae)


def rule_grade_allowed_for_term(sdtm):
    """X-009 (warning): the grade is defined for the CTCAE v5.0 term (e.g. Fatigue has no grade 4
    or 5; NCI CTCAE v5.0 workbook, mpmlib/resources/ctcae_v5_terms.csv)."""
    ae = sdtm.get("ae")
    if ae is None or not {"AETOXGR", "AEDECOD"} <= set(ae.columns):
        return
    from importlib import resources

    with resources.files("mpmlib").joinpath("resources/ctcae_v5_terms.csv").open(encoding="utf-8") as handle:
        terms = pd.read_csv(handle, dtype=str).set_index("TERM")
    grade = pd.to_numeric(ae["AETOXGR"], errors="coerce")
    defined = (terms.reset_index().melt(id_vars="TERM", value_vars=[f"G{g}" for g in range(1, 6)],
                                        var_name="G", value_name="DEFINED")
               .assign(GRADE=lambda d: d["G"].str[1].astype(float)))
    lookup = defined.set_index(["TERM", "GRADE"])["DEFINED"]
    pairs = pd.MultiIndex.from_arrays([ae["AEDECOD"], grade])
    flag = pd.Series(lookup.reindex(pairs).to_numpy(), index=ae.index)
    allowed = ~flag.eq("N")            # unknown terms and grades are other rules' findings
    off = pd.DataFrame({"USUBJID": ae.loc[~allowed, "USUBJID"],
                        "VALUE": ae.loc[~allowed, "AEDECOD"] + " grade " + ae.loc[~allowed, "AETOXGR"].astype(str)})
    yield result("X-009", "warning", "AE", "AETOXGR", "grade defined for the CTCAE v5.0 term", off, source=ae)
    unknown = ae[ae["AEDECOD"].notna() & ~ae["AEDECOD"].isin(terms.index)]
    off = pd.DataFrame({"USUBJID": unknown["USUBJID"], "VALUE": unknown["AEDECOD"]})
    yield result("X-010", "warning", "AE", "AEDECOD", "AEDECOD is a CTCAE v5.0 term", off, source=ae)


def _overall(sdtm) -> pd.DataFrame | None:
    rs = sdtm.get("rs")
    if rs is None or not {"RSTESTCD", "RSSTRESC", "RSDTC"} <= set(rs.columns):
        return None
    return rs[rs["RSTESTCD"].eq("OVRLRESP")]


def rule_response_needs_baseline(sdtm):
    """X-011 (critical): PR or SD requires measurable disease at baseline, i.e. a TARGET lesion
    in TU (RECIST 1.1 Tables 1 and 2: with non-target disease only the time-point responses are
    CR, NON-CR/NON-PD, PD or NE)."""
    text = "PR/SD only with baseline target lesions (TU), RECIST 1.1 Table 2"
    ovr, tu = _overall(sdtm), sdtm.get("tu")
    if ovr is None:
        return
    if tu is None or "TUSTRESC" not in tu.columns:
        yield result("X-011", "critical", "RS", "RSSTRESC", text, None, "TU not available")
        return
    with_target = set(tu.loc[tu["TUSTRESC"].eq("TARGET"), "USUBJID"])
    bad = ovr["RSSTRESC"].isin(["PR", "SD"]) & ~ovr["USUBJID"].isin(with_target)
    off = pd.DataFrame({"USUBJID": ovr.loc[bad, "USUBJID"], "VALUE": ovr.loc[bad, "RSSTRESC"] + " on " + ovr.loc[bad, "RSDTC"]})
    yield result("X-011", "critical", "RS", "RSSTRESC", text, off, source=sdtm["rs"])


def rule_new_lesion_is_pd(sdtm):
    """X-012 (critical): a new lesion means progression (RECIST 1.1 Table 1): where NEWLPROG = Y,
    or a TU NEW lesion is dated, the overall response of that date and evaluator is PD."""
    ovr = _overall(sdtm)
    if ovr is None:
        return
    keys = [k for k in ("USUBJID", "RSEVAL", "RSEVALID", "RSDTC") if k in ovr.columns]
    rs = sdtm["rs"]
    new = rs[rs["RSTESTCD"].eq("NEWLPROG") & rs["RSSTRESC"].eq("Y")][keys]
    tu = sdtm.get("tu")
    if tu is not None and {"TUSTRESC", "TUDTC"} <= set(tu.columns):
        tu_new = tu[tu["TUSTRESC"].eq("NEW")].rename(columns={"TUDTC": "RSDTC", "TUEVAL": "RSEVAL", "TUEVALID": "RSEVALID"})
        new = pd.concat([new, tu_new[[k for k in keys if k in tu_new.columns]]], ignore_index=True)
    # the offending record is the overall response: keep its row label through the merge
    merged = (new.drop_duplicates()
              .merge(ovr[keys + ["RSSTRESC"]].rename_axis("_ROW").reset_index(),
                     on=[k for k in keys if k in new.columns], how="inner")
              .drop_duplicates("_ROW").set_index("_ROW").sort_index())
    bad = merged[~merged["RSSTRESC"].eq("PD")]
    off = pd.DataFrame({"USUBJID": bad["USUBJID"], "VALUE": bad["RSSTRESC"] + " on " + bad["RSDTC"] + " with a new lesion"})
    yield result("X-012", "critical", "RS", "RSSTRESC", "a new lesion implies overall response PD (RECIST 1.1)", off,
                 source=rs)


def rule_death_has_date(sdtm):
    """X-013 (critical): a death (DM DTHFL = Y) has a date (DTHDTC): without it overall survival
    cannot be derived; and a death date comes with DTHFL = Y."""
    dm = sdtm.get("dm")
    if dm is None or not {"DTHFL", "DTHDTC"} <= set(dm.columns):
        return
    bad = dm["DTHFL"].eq("Y") != dm["DTHDTC"].notna()
    off = pd.DataFrame({"USUBJID": dm.loc[bad, "USUBJID"],
                        "VALUE": "DTHFL=" + dm.loc[bad, "DTHFL"].fillna("") + ", DTHDTC=" + dm.loc[bad, "DTHDTC"].fillna("")})
    yield result("X-013", "critical", "DM", "DTHDTC", "death flag and death date given together", off, source=dm)


def rule_death_consistent(sdtm):
    """X-014 (warning): a DS DEATH record agrees with DM DTHDTC."""
    dm, ds = sdtm.get("dm"), sdtm.get("ds")
    if dm is None or ds is None or "DTHDTC" not in dm.columns or not {"DSDECOD", "DSSTDTC"} <= set(ds.columns):
        return
    death = ds[ds["DSDECOD"].eq("DEATH")].drop_duplicates(["USUBJID", "DSSTDTC"])
    dm_date = death["USUBJID"].map(dict(zip(dm["USUBJID"], dm["DTHDTC"])))
    differ = death["DSSTDTC"].ne(dm_date)
    off = pd.DataFrame({"USUBJID": death.loc[differ, "USUBJID"],
                        "VALUE": "DS " + death.loc[differ, "DSSTDTC"].fillna("") + " vs DM " + dm_date[differ].fillna("<none>")})
    yield result("X-014", "warning", "DS", "DSSTDTC", "DS death date equals DM.DTHDTC", off, source=ds)


def rule_death_details_for_deaths(sdtm):
    """X-015 (warning): a Death Details record (DD, SDTMIG 3.3: "details of a subject's death")
    belongs to a subject who died (DM DTHFL = Y or DTHDTC given): a cause of death for a living
    subject is a wrong USUBJID or a missing death in DM."""
    dm, dd = sdtm.get("dm"), sdtm.get("dd")
    if dd is None:
        return
    if dm is None or not ({"DTHFL", "DTHDTC"} & set(dm.columns)):
        yield result("X-015", "warning", "DD", "USUBJID", "death details only for a subject who died (DM)", None,
                     "DM.DTHFL / DTHDTC not available")
        return
    died = pd.Series(False, index=dm.index)
    for col, test in (("DTHFL", lambda v: v.eq("Y")), ("DTHDTC", lambda v: v.notna())):
        if col in dm.columns:
            died |= test(dm[col])
    bad = dd[dd["USUBJID"].isin(dm["USUBJID"]) & ~dd["USUBJID"].isin(dm.loc[died, "USUBJID"])]   # unknown: X-001
    value = bad["DDSTRESC"] if "DDSTRESC" in bad.columns else bad["USUBJID"]
    off = pd.DataFrame({"USUBJID": bad["USUBJID"], "VALUE": value.fillna("<missing>").astype(str) + " (no death in DM)"})
    yield result("X-015", "warning", "DD", "USUBJID", "death details only for a subject who died (DM)", off, source=dd)


def rule_dose_frequency_countable(sdtm):
    """X-016 (critical): an EX record spanning several days (complete EXSTDTC < EXENDTC) has a
    dose frequency that says how many administrations it stands for (CDISC FREQ: QD, BID, QnH,
    QOD, QW, QnW, ...; SDTMIG 3.3 EX assumption: one record per constant-dosing interval).
    Otherwise the cumulative dose and the number of administrations would be wrong; ADEX counts
    with the same function (:func:`mpmlib.derive.adex.countable_administrations`)."""
    from .derive.adex import countable_administrations

    ex = sdtm.get("ex")
    text = "dose frequency (EXDOSFRQ) countable over a multi-day record"
    if ex is None or not {"EXSTDTC", "EXENDTC"} <= set(ex.columns):
        yield result("X-016", "critical", "EX", "EXDOSFRQ", text, None, "EX.EXSTDTC / EXENDTC not available")
        return
    start, end = dtc_to_date(ex["EXSTDTC"], "first"), dtc_to_date(ex["EXENDTC"], "last")
    complete = ex["EXSTDTC"].astype(str).str.len().ge(10) & ex["EXENDTC"].astype(str).str.len().ge(10)
    days = ((end - start).dt.days + 1).where(complete & end.ge(start))
    frequency = ex["EXDOSFRQ"] if "EXDOSFRQ" in ex.columns else pd.Series(pd.NA, index=ex.index, dtype=object)
    bad = days.gt(1) & countable_administrations(frequency, days.fillna(1)).isna()
    value = frequency[bad].astype(object).where(frequency[bad].notna(), "<missing>").astype(str)
    off = pd.DataFrame({"USUBJID": ex.loc[bad, "USUBJID"],
                        "VALUE": value + " over " + days[bad].astype(int).astype(str) + " days"})
    yield result("X-016", "critical", "EX", "EXDOSFRQ", text, off, source=ex)


RULES = [rule_subjects_in_dm, rule_iso_dates, rule_duplicates, rule_consent_before_records, rule_responses_after_first_dose,
         rule_end_after_start, rule_nothing_after_death, rule_grade5_fatal, rule_grade_allowed_for_term,
         rule_response_needs_baseline, rule_new_lesion_is_pd, rule_death_has_date, rule_death_consistent,
         rule_death_details_for_deaths, rule_dose_frequency_countable]
