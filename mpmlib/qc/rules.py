"""Cross-domain data-QC rules (Great Expectations checks one table at a time).

Each rule returns a finding in the shape of :mod:`mpmlib.qc.gate` plus the offending records,
each named by USUBJID and the variables that identify it in its domain (--SEQ, --TESTCD,
VISITNUM / VISIT: :func:`mpmlib.qc.gate.record_variables`) with the offending value. A rule's
offending frame keeps the row labels of the domain records it comes from, so the record's
variables are looked up from the domain (``source``), vectorised. Rule ids ``X-nnn``; severities follow the question "can the analysis
still be trusted?" — critical when a derivation would be wrong, warning when a reviewer should
look. Sources: SDTMIG 3.3 (dates, keys), RECIST 1.1 (responses), CTCAE v5.0 (grades).

:data:`RULES` need the data alone; :data:`STUDY_RULES` also the parameter file (study drugs,
data cut-off, STUDYID, the QNAMs and covariate types it names) and are NOT RUN ("no parameter
file") without it. Every rule's docstring starts ``X-nnn (severity):``; :func:`rule_catalogue`
reads them, and docs/data-spec.md lists them (a test keeps the two equal).
"""

from __future__ import annotations

import pandas as pd

from mpmlib.dates import dtc_to_date, invalid_dtc
from mpmlib.qc.findings import MAX_DETAILS_PER_RULE, finding_row, record_details, value_text

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


def cross_domain_findings(sdtm: dict[str, pd.DataFrame], params: dict | None = None) -> tuple[list[dict], list[dict]]:
    """Run every cross-domain rule that the available domains allow; the study-aware rules
    (:data:`STUDY_RULES`) with the loaded parameter file ``params``, or NOT RUN ("no parameter
    file") without it."""
    findings, details = [], []
    # a domain without USUBJID is already a critical finding of its suite; rules need the id
    sdtm = {d: df for d, df in sdtm.items() if "USUBJID" in df.columns}
    runs = [rule(sdtm) for rule in RULES] + [rule(sdtm, params) for rule in STUDY_RULES]
    for run in runs:
        for finding, offending in run:
            findings.append(finding)
            details += offending
    return findings, details


def rule_catalogue() -> dict[str, str]:
    """``{rule id: severity}`` of every cross-domain rule, from the rules' docstrings (each
    starts its rule with ``X-nnn (severity):``), so the catalogue cannot drift from the code."""
    import re

    found = {}
    for rule in RULES + STUDY_RULES:
        for rule_id, severity in re.findall(r"(X-\d{3}) \((critical|warning)\)", rule.__doc__ or ""):
            found[rule_id] = severity
    return dict(sorted(found.items()))


def result(rule_id, severity, domain, variable, text, offending: pd.DataFrame | None, not_run: str = "",
           source: pd.DataFrame | None = None):
    """One finding plus its detail rows from a frame with USUBJID and VALUE columns, one row per
    offending record, indexed by the record's row label in ``source`` (the domain's records)."""

    meta = {"rule_id": rule_id, "text": text}
    if not_run:
        return finding_row(meta, severity, domain, variable, "NOT RUN", values=[not_run]), []
    offending = offending if offending is not None else pd.DataFrame(columns=["USUBJID", "VALUE"])
    status = "FAIL" if len(offending) else "PASS"
    finding = finding_row(meta, severity, domain, variable, status, offending["USUBJID"].tolist(),
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
        value = dup[cols[1:]].apply(lambda col: col.map(value_text)).agg(" / ".join, axis=1) if len(cols) > 1 \
            else dup["USUBJID"]
        off = pd.DataFrame({"USUBJID": dup["USUBJID"], "VALUE": value})       # each record of a pair
        yield result("X-003", "critical", domain, ", ".join(cols), f"no duplicate records on {', '.join(cols)}", off,
                     source=df)


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
    or 5; NCI CTCAE v5.0 workbook, mpmlib/resources/ctcae_v5_terms.csv). X-010 (warning):
    AEDECOD is a CTCAE v5.0 term of that workbook."""
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
    from mpmlib.derive.adex import countable_administrations

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


# ---- identifiers, codes and records that the derivations match exactly (issue 14) ---------------

def _shown(value) -> str:
    """A coded value or id as a message shows it: invisible characters escaped
    (:func:`mpmlib.text.visible`), quoted when outer white space would otherwise not show."""
    text = value_text(value)
    return f"'{text}'" if isinstance(value, str) and value != value.strip() else text


def _invisible_free(value: str) -> str:
    from mpmlib.text import is_invisible

    return "".join(c for c in value if not is_invisible(c))


def normalised_id(value) -> str:
    """An identifier as a person reads it: invisible characters (:mod:`mpmlib.text`) and outer
    white space removed, case folded. Two distinct USUBJIDs with the same normalised id look like
    one subject on screen but are two to every merge.

    >>> normalised_id(" h101-mpm-201-01-0003\\u200b") == normalised_id("H101-MPM-201-01-0003")
    True
    """
    return _invisible_free(str(value)).strip().casefold()


def _bad_values(values: pd.Series, is_bad) -> pd.Series:
    """``is_bad`` (a function of one text value) for every non-missing value of ``values``,
    evaluated once per distinct value (a 1.5-million-record QS has a few dozen codes and
    10,000 ids): a boolean Series on ``values``' index."""
    given = values.dropna()
    distinct = given.astype(str).unique()
    bad = {v for v in distinct if is_bad(v)}
    return values.notna() & values.astype(str).isin(bad) if bad else pd.Series(False, index=values.index)


def _all_ids(sdtm) -> pd.DataFrame:
    """Distinct (DOMAIN, USUBJID) pairs of every domain."""
    frames = [pd.DataFrame({"DOMAIN": d, "USUBJID": df["USUBJID"].dropna().astype(str).unique()})
              for d, df in sorted(sdtm.items())]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["DOMAIN", "USUBJID"])


def rule_usubjid_near_duplicates(sdtm):
    """X-017 (critical): two distinct USUBJIDs must not differ only by case, outer white space or
    an invisible character (zero-width space, no-break space, BOM, control character): they show
    as one subject on screen but are two to every merge, so a subject's records split between
    two ADSL rows, or drop out as "not in DM". USUBJID "uniquely identifies a subject" (SDTMIG
    3.3 §2.2.4 / SDTM v1.7 identifier variables); the ids are shown escaped
    (:func:`mpmlib.text.visible`). The offending records are those whose id is not the DM one
    (in every domain), or - when DM itself has two ids of the group - those DM records."""
    from mpmlib.text import visible

    text = "USUBJID not a case / white-space / invisible-character variant of another USUBJID"
    ids = _all_ids(sdtm)
    if ids.empty:
        return
    distinct = ids.drop_duplicates("USUBJID").assign(KEY=lambda d: d["USUBJID"].map(normalised_id))
    groups = distinct.groupby("KEY")["USUBJID"].agg(lambda s: sorted(set(s)))
    groups = groups[groups.map(len) > 1]
    if groups.empty:
        yield result("X-017", "critical", "ALL", "USUBJID", text, None)
        return
    dm_ids = set(sdtm["dm"]["USUBJID"].dropna().astype(str)) if "dm" in sdtm else set()
    wrong, in_dm_only, twin = set(), set(), {}
    for members in groups:
        in_dm = [m for m in members if m in dm_ids]
        if len(in_dm) > 1:             # two DM subjects: the DM records are the defect
            bad = members
            in_dm_only.update(members)
        else:                          # the variants of the DM id (all variants without one)
            bad = [m for m in members if m not in in_dm]
        wrong.update(bad)
        for m in bad:
            twin[m] = " ~ ".join(visible(o) for o in members if o != m)
    for domain, df in sorted(sdtm.items()):
        ids_text = df["USUBJID"].astype(str)
        flagged = wrong if domain == "dm" else wrong - in_dm_only
        hit = df["USUBJID"].notna() & ids_text.isin(flagged)
        if not hit.any():
            continue
        off = pd.DataFrame({"USUBJID": df.loc[hit, "USUBJID"],
                            "VALUE": ids_text[hit].map(lambda v: f"{visible(v)} vs {twin[v]}").astype(str)})
        yield result("X-017", "critical", domain, "USUBJID", text, off, source=df)


def rule_usubjid_invisible(sdtm):
    """X-018 (warning): a USUBJID has no invisible character and no outer white space
    (:func:`mpmlib.text.has_invisible`). Consistent across domains it changes no number (a
    variant of another id is X-017, critical), but it cannot be typed, searched or matched
    against the sponsor's database. SDTMIG 3.3 §2.2.4 (USUBJID identifies the subject in every
    submission)."""
    from mpmlib.text import has_invisible, visible

    text = "USUBJID has no invisible character or outer white space"
    failures = 0
    for domain, df in sorted(sdtm.items()):
        ids = df["USUBJID"]
        bad = _bad_values(ids, lambda v: has_invisible(v) or v != v.strip())
        if bad.any():
            failures += 1
            off = pd.DataFrame({"USUBJID": ids[bad], "VALUE": ids[bad].map(_shown).astype(str)})
            yield result("X-018", "warning", domain, "USUBJID", text, off, source=df)
    if not failures:
        yield result("X-018", "warning", "ALL", "USUBJID", text, None)


#: Coded variables that the derivations compare exactly with CDISC controlled terms (upper case):
#: a lower-case or padded code silently drops the record from its analysis (e.g. RSTESTCD
#: "ovrlresp": the response is not an overall response, ORR 9 -> 8 on the demo).
EXACT_CODES = ("TESTCD", "QNAM", "IDVAR", "RSSTRESC", "TUSTRESC", "DSDECOD", "DSCAT", "DSSCAT", "QSCAT", "RSCAT",
               "RSEVAL", "TUEVAL", "TREVAL", "QSSTAT", "RSSTAT", "TRSTAT", "LBSTAT", "AEOUT")


def rule_codes_upper_case(sdtm):
    """X-019 (critical): a coded value the derivations match exactly is upper case with no outer
    white space or invisible character, as CDISC controlled terminology writes it (CDISC CT:
    submission values are upper case; SDTMIG 3.3 §4.3 "--TESTCD ... 8 characters", §8.4 QNAM).
    Variables: every --TESTCD, QNAM, IDVAR and the coded results and categories in
    :data:`EXACT_CODES`. A value such as RSTESTCD "ovrlresp" or QNAM "aerelh1" matches nothing:
    the record silently leaves its analysis (a response, a relationship)."""
    from mpmlib.text import has_invisible

    text = "coded value in upper case as in CDISC CT (no padding, no invisible character)"
    failures = 0
    for domain, df in sorted(sdtm.items()):
        for col in [c for c in df.columns if c.endswith("TESTCD") or c in EXACT_CODES]:
            values = df[col]
            if values.dtype.kind in "biuf":
                continue
            bad = _bad_values(values, lambda v: v != v.strip().upper() or has_invisible(v))
            if bad.any():
                failures += 1
                off = pd.DataFrame({"USUBJID": df.loc[bad, "USUBJID"],
                                    "VALUE": values[bad].astype(str).map(_shown).astype(str)})
                yield result("X-019", "critical", domain, col, text, off, source=df)
    if not failures:
        yield result("X-019", "critical", "ALL", "--TESTCD, QNAM, ...", text, None)


#: Record identifiers that differ between two entries of the same event (not compared by X-020).
ENTRY_IDS = ("SEQ", "SPID", "GRPID", "LNKID", "REFID", "DY")


def rule_ae_entered_twice(sdtm):
    """X-020 (warning): an AE is not entered twice under a new AESEQ: no two AE records of a
    subject agree on every variable but their identifiers and study days (AESEQ, AESPID,
    AEGRPID, --LNKID, --REFID, --DY; SDTMIG 3.3 AE natural key USUBJID, AEDECOD, AESTDTC plus
    everything that describes the event: AETERM, AETOXGR, AESER, AEOUT, dates...). Warning, not
    critical: the incidence tables count a subject once per term (FDA Standard Safety Tables and
    Figures guide 2022), so their n (%) do not change; only the "events" column counts the record
    twice, and two episodes of one term on one day can be real (AESTDTC without time, e.g. two
    sites) - the data manager must query it."""
    ae = sdtm.get("ae")
    text = "an AE is not entered twice under a new AESEQ (same values in every descriptive variable)"
    if ae is None:
        return
    if not {"AEDECOD", "AESTDTC"} <= set(ae.columns):
        yield result("X-020", "warning", "AE", "AESEQ", text, None, "AEDECOD / AESTDTC not available")
        return
    keys = [c for c in ae.columns if not c.endswith(ENTRY_IDS)]
    rows = ae[ae["AEDECOD"].notna() & ae["AESTDTC"].notna()]
    dup = rows[rows.duplicated(keys, keep=False)]
    if "AESEQ" in dup.columns:
        dup = dup[~dup.duplicated(keys + ["AESEQ"], keep=False)]         # same AESEQ: X-003
        seqs = dup.groupby(keys, dropna=False)["AESEQ"].transform(lambda s: " / ".join(map(value_text, s)))
    else:
        seqs = pd.Series("?", index=dup.index)
    off = pd.DataFrame({"USUBJID": dup["USUBJID"],
                        "VALUE": dup["AEDECOD"].astype(str) + " from " + dup["AESTDTC"].astype(str)
                        + " entered as AESEQ " + seqs.astype(str)})
    yield result("X-020", "warning", "AE", "AESEQ", text, off, source=ae)


def _seq_key(values: pd.Series) -> pd.Series:
    """A --SEQ / IDVARVAL value as comparable text: integral numbers without decimals."""
    numbers = pd.to_numeric(values, errors="coerce")
    integral = numbers.notna() & numbers.eq(numbers.round())
    return values.astype(str).str.strip().where(~integral, numbers.where(integral).astype("Int64").astype(str))


def rule_supp_idvarval_integer(sdtm):
    """X-022 (critical): where a SUPP-- record points at its parent by a sequence number (IDVAR
    = --SEQ), IDVARVAL is an integer: --SEQ is a whole number (SDTM v1.7 "Sequence number",
    SDTMIG 3.3 §8.4.1 IDVARVAL); "1.5" or "one" points at no record, so its qualifier (an AE's
    relationship to a study drug) is lost."""
    text = "IDVARVAL is an integer where IDVAR is a --SEQ"
    for domain, df in sorted(sdtm.items()):
        if not domain.startswith("supp") or not {"IDVAR", "IDVARVAL"} <= set(df.columns):
            continue
        seq = df["IDVAR"].astype(str).str.upper().str.strip().str.endswith("SEQ") & df["IDVAR"].notna()
        numbers = pd.to_numeric(df["IDVARVAL"], errors="coerce")
        bad = seq & df["IDVARVAL"].notna() & ~(numbers.notna() & numbers.eq(numbers.round()))
        off = pd.DataFrame({"USUBJID": df.loc[bad, "USUBJID"], "VALUE": df.loc[bad, "IDVARVAL"].map(value_text).astype(str)})
        yield result("X-022", "critical", domain, "IDVARVAL", text, off, source=df)


def rule_supp_parent_exists(sdtm):
    """X-021 (critical): a SUPP-- record that names a parent record (IDVAR / IDVARVAL, SDTMIG 3.3
    §8.4) points at a record that exists in its parent domain (RDOMAIN, else the SUPP-- name):
    same USUBJID and IDVAR = IDVARVAL. An orphan qualifier (SUPPAE AESEQ=99 for a subject with
    12 AEs) is silently dropped: the AE counts as not related to a study drug."""
    text = "the parent record (IDVAR = IDVARVAL) exists"
    for domain, df in sorted(sdtm.items()):
        if not domain.startswith("supp") or not {"IDVAR", "IDVARVAL"} <= set(df.columns):
            continue
        parent = sdtm.get(domain[4:])
        if parent is None:
            yield result("X-021", "critical", domain, "IDVARVAL", text, None, f"{domain[4:].upper()} not available")
            continue
        named = df[df["IDVAR"].notna() & df["IDVARVAL"].notna()]
        missing = []
        for idvar, rows in named.groupby(named["IDVAR"].astype(str).str.strip().str.upper()):
            if idvar not in parent.columns:
                missing.append(pd.DataFrame({"USUBJID": rows["USUBJID"],
                                             "VALUE": f"{idvar} is not a variable of {domain[4:].upper()}"}))
                continue
            keys = set(zip(parent["USUBJID"].astype(str), _seq_key(parent[idvar])))
            have = pd.Series([k in keys for k in zip(rows["USUBJID"].astype(str), _seq_key(rows["IDVARVAL"]))],
                             index=rows.index)
            gone = rows[~have]
            missing.append(pd.DataFrame({"USUBJID": gone["USUBJID"],
                                         "VALUE": idvar + "=" + gone["IDVARVAL"].map(value_text).astype(str) + " not in "
                                         + domain[4:].upper()}))
        off = pd.concat(missing) if missing else None
        yield result("X-021", "critical", domain, "IDVARVAL", text, off, source=df)


def rule_all_doses_zero(sdtm):
    """X-025 (warning): a subject's EX records are not all EXDOSE = 0 for an active drug. ADSL
    counts a dose as received only when EXDOSE > 0 (or 0 for placebo, docs/data-spec.md), so such
    a subject is "not treated": no TRTSDT, SAFFL = N, out of every safety and time-to-event
    analysis. That is right when every dose was withheld (EXDOSE = 0 is how SDTMIG 3.3 EX records
    a planned dose not given), wrong when the doses were keyed as 0: a reviewer must confirm."""
    ex = sdtm.get("ex")
    text = "not every dose of a subject is 0 (active drug): the subject counts as not treated"
    if ex is None or not {"EXDOSE", "EXTRT"} <= set(ex.columns):
        return
    dose = pd.to_numeric(ex["EXDOSE"], errors="coerce")
    active = ~ex["EXTRT"].fillna("").astype(str).str.upper().str.contains("PLACEBO")
    rows = ex[active & dose.notna()]
    zero = dose[rows.index].eq(0).groupby(rows["USUBJID"]).all()
    bad = rows[rows["USUBJID"].isin(zero[zero].index)]
    off = pd.DataFrame({"USUBJID": bad["USUBJID"], "VALUE": bad["EXTRT"].astype(str) + " EXDOSE=0"})
    yield result("X-025", "warning", "EX", "EXDOSE", text, off, source=ex)


def rule_dose_near_drug_median(sdtm):
    """X-029 (warning): a positive EXDOSE lies strictly within a factor of 10 of the median
    positive dose of its drug in this delivery (same EXTRT and EXDOSU), in both directions: an
    extra or a lost zero (exactly 10 x or 1/10) is a finding. Needs no parameter
    file, so it also covers a drug without a planned dose (H101, dosed in viral particles: an
    extra zero in ``1000000000000`` VP is invisible on screen). A ten-fold step from what every
    other administration of the drug received is the signature of a keying or unit error (mg
    keyed as µg); a genuine dose reduction is a fraction, not a tenth. Cumulative dose (ADEX) would
    change, so the record is worth a query; a warning, because only the reviewer can tell a typo
    from a protocol deviation (X-026 is the critical check against the planned dose)."""
    text = f"EXDOSE less than {ABSURD_DOSE_FACTOR} x and more than 1/{ABSURD_DOSE_FACTOR} of the drug's median dose (same EXTRT, EXDOSU)"
    ex = sdtm.get("ex")
    if ex is None or not {"EXTRT", "EXDOSE"} <= set(ex.columns):
        return
    dose = pd.to_numeric(ex["EXDOSE"], errors="coerce")
    positive = dose.gt(0)
    unit = ex["EXDOSU"].astype(str).str.upper() if "EXDOSU" in ex.columns else pd.Series("", index=ex.index)
    group = ex["EXTRT"].astype(str).str.upper() + "|" + unit
    median = dose.where(positive).groupby(group).transform("median")
    bad = positive & (dose.ge(ABSURD_DOSE_FACTOR * median) | dose.le(median / ABSURD_DOSE_FACTOR))
    off = pd.DataFrame({"USUBJID": ex.loc[bad, "USUBJID"],
                        "VALUE": ex.loc[bad, "EXTRT"].astype(str) + " " + dose[bad].map(value_text).astype(str)
                        + " vs median " + median[bad].map(value_text).astype(str)})
    yield result("X-029", "warning", "EX", "EXDOSE", text, off, source=ex)


def rule_consent_plausible(sdtm):
    """X-028 (warning): informed consent (DM RFICDTC) lies within a year before the first study
    dose (EX, else DM RFSTDTC) and not before birth (BRTHDTC). Consent precedes any trial
    procedure (ICH E6(R2) 4.8.8) and screening lasts weeks (the demo: 4-20 days), so a consent
    in 1900 is a keying error. It moves ADSL RFICDT only (and would hide a record before
    consent from X-004), hence a warning."""
    consent = _dm_date(sdtm, "RFICDTC", "first")
    text = "informed consent within 365 days before the first dose and after birth"
    if consent.empty:
        yield result("X-028", "warning", "DM", "RFICDTC", text, None, "RFICDTC not available")
        return
    dm = sdtm["dm"]
    start = _first_dose(sdtm)
    if start.empty:
        start = _dm_date(sdtm, "RFSTDTC", "first")
    when = dm["USUBJID"].map(consent)
    first = dm["USUBJID"].map(start)
    early = (first - when).dt.days.gt(365)
    why = pd.Series("", index=dm.index)
    why[early] = " is " + (first - when)[early].dt.days.astype("Int64").astype(str) + " days before the first dose"
    if "BRTHDTC" in dm.columns:
        birth = dm["USUBJID"].map(_dm_date(sdtm, "BRTHDTC", "last"))
        before_birth = when < birth
        why[before_birth] = " is before birth " + birth[before_birth].dt.strftime("%Y-%m-%d")
    bad = why.ne("")
    off = pd.DataFrame({"USUBJID": dm.loc[bad, "USUBJID"], "VALUE": dm.loc[bad, "RFICDTC"].astype(str) + why[bad]})
    yield result("X-028", "warning", "DM", "RFICDTC", text, off, source=dm)


#: SUPPDM QNAMs that are percentages (0-100) whatever their label says.
PERCENT_QNAMS = ("PDL1TPS",)


def rule_percent_in_range(sdtm):
    """X-033 (critical): a SUPPDM percentage lies in 0-100: the PD-L1 tumour proportion score
    (QNAM PDL1TPS: % of viable tumour cells with membrane staining, 0-100 by definition; PD-L1
    IHC 22C3 pharmDx interpretation manual) and any QNAM whose QLABEL says "%" or "percent". A
    PD-L1 of 150 enters the influencing-factors analysis at the wrong cut (1 %, 50 %)."""
    supp = sdtm.get("suppdm")
    text = "percentage (PD-L1 TPS, QLABEL with %) between 0 and 100"
    if supp is None or not {"QNAM", "QVAL"} <= set(supp.columns):
        return
    pct = supp["QNAM"].astype(str).str.strip().str.upper().isin(PERCENT_QNAMS)
    if "QLABEL" in supp.columns:
        pct |= supp["QLABEL"].fillna("").astype(str).str.contains(r"%|percent", case=False, regex=True)
    value = pd.to_numeric(supp["QVAL"], errors="coerce")
    bad = pct & value.notna() & ~value.between(0, 100)
    off = pd.DataFrame({"USUBJID": supp.loc[bad, "USUBJID"], "VALUE": supp.loc[bad, "QVAL"].map(value_text).astype(str)})
    yield result("X-033", "critical", "SUPPDM", "QVAL", text, off, source=supp)


def rule_qs_item_integer(sdtm):
    """X-035 (critical): a QLQ-C30 item response (QSTESTCD EOR0101-EOR0130, QSSTRESN) is a whole
    number: items are answered on a 1-4 or 1-7 scale (EORTC QLQ-C30 Scoring Manual, 3rd ed.,
    2001); "2.5" is not an answer and ADQS refuses it (``mpm derive`` stops)."""
    qs = sdtm.get("qs")
    text = "QLQ-C30 item response is a whole number (1-4 / 1-7 scale)"
    if qs is None or not {"QSTESTCD", "QSSTRESN"} <= set(qs.columns):
        return
    item = qs["QSTESTCD"].astype(str).str.fullmatch(r"EOR01(0[1-9]|[12][0-9]|30)")
    value = pd.to_numeric(qs["QSSTRESN"], errors="coerce")
    bad = item & value.notna() & value.ne(value.round())
    off = pd.DataFrame({"USUBJID": qs.loc[bad, "USUBJID"], "VALUE": qs.loc[bad, "QSSTRESN"].astype(str)})
    yield result("X-035", "critical", "QS", "QSSTRESN", text, off, source=qs)


def rule_studyid_consistent(sdtm):
    """X-032 (critical): every record carries the STUDYID of DM (its most frequent value): a
    record from another study (a merged delivery) is analysed as this trial's. SDTMIG 3.3
    §4.1.2.1 (STUDYID: the study identifier in every domain)."""
    dm = sdtm.get("dm")
    text = "STUDYID is the study's (as in DM)"
    if dm is None or "STUDYID" not in dm.columns or dm["STUDYID"].dropna().empty:
        yield result("X-032", "critical", "ALL", "STUDYID", text, None, "DM.STUDYID not available")
        return
    study = dm["STUDYID"].dropna().astype(str).value_counts().index[0]
    yield from _studyid_findings(sdtm, "X-032", text, study, "DM")


def _studyid_findings(sdtm, rule_id: str, text: str, study: str, expected_from: str):
    """The findings of a STUDYID rule (X-031, X-032): per domain, the records whose STUDYID is
    missing or not ``study`` (the value shows where ``study`` came from); one PASS when none."""
    failures = 0
    for domain, df in sorted(sdtm.items()):
        if "STUDYID" not in df.columns:
            continue
        bad = df["STUDYID"].isna() | df["STUDYID"].astype(str).ne(study)
        if bad.any():
            failures += 1
            off = pd.DataFrame({"USUBJID": df.loc[bad, "USUBJID"],
                                "VALUE": df.loc[bad, "STUDYID"].map(value_text).astype(str)
                                + f" ({expected_from}: {study})"})
            yield result(rule_id, "critical", domain, "STUDYID", text, off, source=df)
    if not failures:
        yield result(rule_id, "critical", "ALL", "STUDYID", text, None)


RULES += [rule_usubjid_near_duplicates, rule_usubjid_invisible, rule_codes_upper_case, rule_ae_entered_twice,
          rule_supp_parent_exists, rule_supp_idvarval_integer, rule_all_doses_zero, rule_dose_near_drug_median,
          rule_consent_plausible,
          rule_percent_in_range, rule_qs_item_integer, rule_studyid_consistent]


# ---- study-aware rules: need the parameter file (mpmlib.settings.load.load_params) ----------------------

NO_PARAMS = "no parameter file"


def _mapping(value) -> dict:
    """A parameter that should be a mapping, or {} (a malformed one is the parameter loader's
    error, not a QC crash)."""
    return value if isinstance(value, dict) else {}


def _names(value) -> set[str]:
    """Upper-case names from a parameter that is a list of names or one name."""
    values = value if isinstance(value, (list, tuple, set)) else ([] if value is None else [value])
    return {str(v).upper() for v in values}


def _params_qnams(params) -> dict[str, set[str]]:
    """The SUPP-- QNAMs the parameters use: ``{"suppdm": {...}, "suppae": {...}}``."""
    dm = {spec["qnam"] for spec in _mapping(params["adsl"].get("covariates")).values()
          if isinstance(spec, dict) and str(spec.get("source", "")).upper() == "SUPPDM" and spec.get("qnam")}
    safety = params["safety"]
    relationship = safety.get("relationship") if isinstance(safety.get("relationship"), dict) else {}
    ae = {spec["qnam"] for spec in relationship.values() if isinstance(spec, dict) and spec.get("qnam")}
    if isinstance(safety.get("immune_related"), dict) and safety["immune_related"].get("qnam"):
        ae.add(safety["immune_related"]["qnam"])
    return {"suppdm": {str(q) for q in dm}, "suppae": {str(q) for q in ae}}


def rule_qnam_as_in_params(sdtm, params):
    """X-023 (critical): a SUPPDM / SUPPAE QNAM that the parameters use (adsl.covariates,
    safety.relationship, safety.immune_related) is written exactly so: "aerelh1" or "AERELH1 "
    for AERELH1 matches nothing, and every AE silently counts as not related (SDTMIG 3.3 §8.4:
    QNAM is the qualifier's variable name)."""
    text = "QNAM written exactly as in the parameter file"
    for domain in ("suppdm", "suppae"):
        if params is None:
            yield result("X-023", "critical", domain, "QNAM", text, None, NO_PARAMS)
            continue
        df, wanted = sdtm.get(domain), _params_qnams(params)[domain]
        if df is None or "QNAM" not in df.columns or not wanted:
            continue
        by_key = {normalised_id(q): q for q in wanted}
        qnam = df["QNAM"].astype(str)
        distinct = pd.Series(qnam.unique())                 # a few QNAMs in many records
        meant = qnam.map(dict(zip(distinct, distinct.map(normalised_id).map(by_key)))).astype(object)
        bad = df["QNAM"].notna() & meant.notna() & qnam.ne(meant)
        off = pd.DataFrame({"USUBJID": df.loc[bad, "USUBJID"],
                            "VALUE": qnam[bad].map(_shown).astype(str) + " (parameters: " + meant[bad] + ")"})
        yield result("X-023", "critical", domain, "QNAM", text, off, source=df)


def rule_extrt_is_study_drug(sdtm, params):
    """X-024 (critical): every EXTRT belongs to a study drug of the parameters
    (adsl.study_drugs, compared upper-case as ADSL does). EX holds the protocol-specified study
    treatment (SDTMIG 3.3 §6.1.3); a dose under another name ("TORIPALIMAB INJ") is not counted:
    first/last dose dates, exposure and the treatment-emergent window change."""
    text = "EXTRT is a study drug of the parameter file (adsl.study_drugs)"
    if params is None:
        yield result("X-024", "critical", "EX", "EXTRT", text, None, NO_PARAMS)
        return
    ex, drugs = sdtm.get("ex"), _mapping(params["adsl"].get("study_drugs"))
    if ex is None or "EXTRT" not in ex.columns:
        return
    if not drugs:
        yield result("X-024", "critical", "EX", "EXTRT", text, None, "adsl.study_drugs is empty")
        return
    names = set().union(*(_names(values) for values in drugs.values()))
    bad = ex["EXTRT"].notna() & ~ex["EXTRT"].astype(str).str.upper().isin(names)
    off = pd.DataFrame({"USUBJID": ex.loc[bad, "USUBJID"], "VALUE": ex.loc[bad, "EXTRT"].map(value_text).astype(str)})
    yield result("X-024", "critical", "EX", "EXTRT", text, off, source=ex)


#: A dose above this multiple of the planned dose is taken as a unit or keying error.
ABSURD_DOSE_FACTOR = 10


def rule_dose_plausible(sdtm, params):
    """X-026 (critical): EXDOSE of a drug with a planned dose (safety.planned_dosing) is less than
    10 times that dose. No protocol allows a ten-fold overdose, and a factor of 10 or more is
    the signature of a unit or keying error (mg keyed as µg, an extra zero); cumulative dose and
    relative dose intensity (ADEX) would be wrong. Drugs without a planned dose are not checked
    (EX-009 checks EXDOSE >= 0 for all)."""
    text = f"EXDOSE less than {ABSURD_DOSE_FACTOR} x the planned dose (safety.planned_dosing)"
    if params is None:
        yield result("X-026", "critical", "EX", "EXDOSE", text, None, NO_PARAMS)
        return
    ex, planned = sdtm.get("ex"), _mapping(params["safety"].get("planned_dosing"))
    drugs = _mapping(params["adsl"].get("study_drugs"))
    if ex is None or not {"EXTRT", "EXDOSE"} <= set(ex.columns):
        return
    if not planned:
        yield result("X-026", "critical", "EX", "EXDOSE", text, None, "safety.planned_dosing is empty")
        return
    limit = pd.Series(float("nan"), index=ex.index)
    extrt = ex["EXTRT"].astype(str).str.upper()
    for code, plan in planned.items():
        names = _names(drugs.get(code, [code]))
        dose = pd.to_numeric(pd.Series([plan.get("dose") if isinstance(plan, dict) else None]), errors="coerce")[0]
        if dose == dose and dose is not None:
            limit[extrt.isin(names)] = ABSURD_DOSE_FACTOR * float(dose)
    dose = pd.to_numeric(ex["EXDOSE"], errors="coerce")
    bad = dose.ge(limit)
    off = pd.DataFrame({"USUBJID": ex.loc[bad, "USUBJID"],
                        "VALUE": dose[bad].map(value_text).astype(str) + " >= " + limit[bad].map(value_text).astype(str)})
    yield result("X-026", "critical", "EX", "EXDOSE", text, off, source=ex)


def rule_no_date_after_cutoff(sdtm, params):
    """X-027 (critical): no date after the data cut-off (parameter data_cutoff), in any --DTC of
    any domain (partial dates from their first possible day); a death in 2099 is one. What the
    derivations do with such records: AEs after the cut-off are not treatment-emergent (ADAE
    TRTEMFL = N) and responses are not used (ADRS), but their dates still count as contacts
    (ADSL LSTALVDT: OS is censored at the cut-off instead of the last real contact), and a death
    after the cut-off makes DTHDT, so numbers change. A cut dataset has no record after its
    cut-off (ICH E3 §11.4.1.1: data cut-off for the analysis). NOT RUN without a cut-off."""
    text = "no date after the data cut-off (data_cutoff)"
    if params is None:
        yield result("X-027", "critical", "ALL", "--DTC", text, None, NO_PARAMS)
        return
    if not params.get("data_cutoff"):
        yield result("X-027", "critical", "ALL", "--DTC", text, None, "no data_cutoff in the parameter file")
        return
    cutoff = pd.to_datetime(str(params["data_cutoff"])[:10], format="%Y-%m-%d", errors="coerce")
    if pd.isna(cutoff):
        yield result("X-027", "critical", "ALL", "--DTC", text, None, "data_cutoff is not an ISO date")
        return
    failures = 0
    for domain, df in sorted(sdtm.items()):
        for col in [c for c in df.columns if c.endswith("DTC")]:
            when = dtc_to_date(df[col], "first")
            after = when > cutoff
            if after.any():
                failures += 1
                off = pd.DataFrame({"USUBJID": df.loc[after, "USUBJID"],
                                    "VALUE": df.loc[after, col].astype(str) + " > cut-off " + cutoff.strftime("%Y-%m-%d")})
                yield result("X-027", "critical", domain, col, text, off, source=df)
    if not failures:
        yield result("X-027", "critical", "ALL", "--DTC", text, None)


_SCREEN_WORDS = r"SCREEN|SCRN|FAIL|NOT ?ASSIGN|NOTASSGN|NOT ENROLL"


def rule_screen_failure_code(sdtm, params):
    """X-030 (critical): a subject whose ARM / ARMCD / ACTARM / ACTARMCD says screen failure or
    not assigned has an ARMCD in adsl.not_enrolled_armcd (default SCRNFAIL, NOTASSGN: SDTMIG 3.3
    DM assumption 4 and CDISC CT). With another code ("SCREEN FAILURE", "SCRNFL") ADSL counts
    the subject as enrolled (ENRLFL = Y), so every enrolled denominator is one too large."""
    text = "a screen failure / not-assigned subject has an ARMCD of adsl.not_enrolled_armcd"
    if params is None:
        yield result("X-030", "critical", "DM", "ARMCD", text, None, NO_PARAMS)
        return
    dm = sdtm.get("dm")
    if dm is None or "ARMCD" not in dm.columns:
        return
    codes = _names(params["adsl"].get("not_enrolled_armcd"))
    says = pd.Series(False, index=dm.index)
    for col in ("ARMCD", "ARM", "ACTARMCD", "ACTARM"):
        if col in dm.columns:
            says |= dm[col].fillna("").astype(str).str.upper().str.contains(_SCREEN_WORDS, regex=True)
    bad = says & ~dm["ARMCD"].fillna("").astype(str).str.upper().isin(codes)
    off = pd.DataFrame({"USUBJID": dm.loc[bad, "USUBJID"],
                        "VALUE": "ARMCD=" + dm.loc[bad, "ARMCD"].map(value_text).astype(str)
                        + (" ARM=" + dm.loc[bad, "ARM"].map(value_text).astype(str) if "ARM" in dm.columns else "")
                        + " (not_enrolled_armcd: " + ", ".join(sorted(codes)) + ")"})
    yield result("X-030", "critical", "DM", "ARMCD", text, off, source=dm)


def rule_studyid_as_in_params(sdtm, params):
    """X-031 (critical): STUDYID in every domain equals study.studyid of the parameter file:
    data of another study (or of another delivery) analysed under this study's title would make
    every number of the report wrong. SDTMIG 3.3 §4.1.2.1. NOT RUN when the file gives none."""
    text = "STUDYID equals study.studyid of the parameter file"
    if params is None:
        yield result("X-031", "critical", "ALL", "STUDYID", text, None, NO_PARAMS)
        return
    study = params["study"].get("studyid")
    if not study:
        yield result("X-031", "critical", "ALL", "STUDYID", text, None, "no study.studyid in the parameter file")
        return
    yield from _studyid_findings(sdtm, "X-031", text, str(study), "parameters")


def rule_numeric_covariates(sdtm, params):
    """X-034 (critical): a SUPPDM covariate declared ``type: number`` in adsl.covariates has a
    numeric QVAL, parsed as ADSL parses it (``pandas.to_numeric``): "2,5" (decimal comma) or
    "<1" stops ``mpm derive`` (mpmlib.derive.adsl._suppdm_value). SDTMIG 3.3 §8.4: QVAL is text,
    so the type is the study's declaration."""
    text = "covariate declared type: number in adsl.covariates has a numeric QVAL"
    if params is None:
        yield result("X-034", "critical", "SUPPDM", "QVAL", text, None, NO_PARAMS)
        return
    supp = sdtm.get("suppdm")
    numeric = {spec["qnam"] for spec in _mapping(params["adsl"].get("covariates")).values()
               if isinstance(spec, dict) and str(spec.get("source", "")).upper() == "SUPPDM"
               and spec.get("type") == "number" and spec.get("qnam")}
    if supp is None or not {"QNAM", "QVAL"} <= set(supp.columns) or not numeric:
        return
    rows = supp["QNAM"].isin(numeric) & supp["QVAL"].notna()
    bad = rows & pd.to_numeric(supp["QVAL"].where(rows), errors="coerce").isna()
    off = pd.DataFrame({"USUBJID": supp.loc[bad, "USUBJID"], "VALUE": supp.loc[bad, "QVAL"].map(value_text).astype(str)})
    yield result("X-034", "critical", "SUPPDM", "QVAL", text, off, source=supp)


STUDY_RULES = [rule_qnam_as_in_params, rule_extrt_is_study_drug, rule_dose_plausible, rule_no_date_after_cutoff,
               rule_screen_failure_code, rule_studyid_as_in_params, rule_numeric_covariates]
