"""Data-QC findings: the one shape every rule reports in (GX suites and cross-domain rules).

A finding names the rule, its severity, the domain and variable, the subjects (USUBJID) and the
values concerned; a detail row names one offending record by the variables that identify it in
SDTM (:func:`record_variables`). Both the GX runner (:mod:`mpmlib.qc.gate`) and the cross-domain
rules (:mod:`mpmlib.qc.rules`) build their rows here, so neither imports the other's internals.
"""

from __future__ import annotations

import pandas as pd

from mpmlib.text import visible

FINDING_COLUMNS = ["RULE_ID", "SEVERITY", "DOMAIN", "VARIABLE", "RULE", "STATUS", "N_FAIL",
                   "SUBJECTS", "VALUES", "DOWNGRADED"]
RECORD_COLUMNS = ["SEQ", "TESTCD", "VISITNUM", "VISIT"]
DETAIL_COLUMNS = ["RULE_ID", "DOMAIN", "VARIABLE", "USUBJID", *RECORD_COLUMNS, "RECORD", "VALUE"]
MAX_DETAILS_PER_RULE = 200
MAX_SHOWN = 10


def finding_row(meta: dict, severity: str, domain: str, variable, status: str, subjects=(), values=(),
            n_fail=None) -> dict:
    """One row of the findings table (:data:`FINDING_COLUMNS`) for rule ``meta`` (``rule_id``,
    ``text``): subjects and values distinct, sorted, shown as text (:func:`value_text`) and
    shortened to :data:`MAX_SHOWN`; ``N_FAIL`` the count given, else the number of values."""
    subjects = [s for s in subjects if s is not None and s == s]
    unique_subjects = sorted(set(map(visible, subjects)))
    unique_values = sorted({value_text(v) for v in values})
    return {
        "RULE_ID": meta["rule_id"], "SEVERITY": severity, "DOMAIN": domain.upper(),
        "VARIABLE": variable or "", "RULE": meta["text"], "STATUS": status,
        "N_FAIL": int(n_fail) if n_fail is not None else (0 if status == "PASS" else len(values) or None),
        "SUBJECTS": shorten(unique_subjects), "VALUES": shorten(unique_values), "DOWNGRADED": "",
    }


def record_variables(domain: str, columns) -> dict[str, str]:
    """The variables that identify a record of ``domain`` besides USUBJID, those present, as
    ``{detail column: variable}``: the domain's --SEQ (unique per subject within a domain,
    SDTMIG 3.3 §4.1.2.5 "Sequence number"), --TESTCD, VISITNUM and VISIT. A SUPP-- record has
    neither --SEQ nor --TESTCD: its QNAM goes in TESTCD and its parent record (IDVAR = IDVARVAL,
    SDTMIG 3.3 §8.4) into the RECORD text (:func:`record_text`).

    >>> record_variables("qs", ["USUBJID", "QSSEQ", "QSTESTCD", "VISITNUM", "VISIT"])
    {'SEQ': 'QSSEQ', 'TESTCD': 'QSTESTCD', 'VISITNUM': 'VISITNUM', 'VISIT': 'VISIT'}
    >>> record_variables("suppae", ["USUBJID", "IDVAR", "IDVARVAL", "QNAM"])
    {'TESTCD': 'QNAM'}
    """
    prefix = domain.upper()
    wanted = ({"TESTCD": "QNAM"} if prefix.startswith("SUPP") else
              {"SEQ": f"{prefix}SEQ", "TESTCD": f"{prefix}TESTCD"}) | {"VISITNUM": "VISITNUM", "VISIT": "VISIT"}
    return {col: var for col, var in wanted.items() if var in columns}


def record_text(domain: str, rows: pd.DataFrame) -> pd.Series:
    """The identifying variables of each record as text, e.g. ``QSSEQ=12 QSTESTCD=EOR0103
    VISIT=WEEK 6`` (VISITNUM only where VISIT is blank; SUPP--: ``AESEQ=3 QNAM=AERELH1``; a
    domain without --SEQ, such as SV, adds its --STDTC or --DTC: ``VISIT=UNSCHEDULED 9.2
    SVSTDTC=2013-06-22``); blank when the domain has none (DM: USUBJID alone names the record).
    Vectorised."""
    found = record_variables(domain, rows.columns)
    parts = []
    if domain.upper().startswith("SUPP") and {"IDVAR", "IDVARVAL"} <= set(rows.columns):
        given = rows["IDVAR"].notna() & rows["IDVARVAL"].notna()
        parts.append((rows["IDVAR"].astype(str) + "=" + rows["IDVARVAL"].map(value_text).astype(str)).where(given, ""))
    def named(var: str) -> pd.Series:
        values = rows[var]
        return (var + "=" + values.map(value_text).astype(str)).where(values.notna(), "")

    parts += [named(found[col]) for col in ("SEQ", "TESTCD") if col in found]
    visit = pd.Series("", index=rows.index, dtype=object)
    for col in ("VISITNUM", "VISIT"):               # VISIT wins where both are given
        if col in found:
            visit = named(col).where(rows[col].notna(), visit)
    parts.append(visit)
    prefix = domain.upper()
    if "SEQ" not in found and prefix not in ("DM",) and not prefix.startswith("SUPP"):
        parts += [named(var) for var in (f"{prefix}STDTC", f"{prefix}DTC") if var in rows.columns][:1]
    text = pd.Series("", index=rows.index, dtype=object)
    for part in parts:
        text = text.where(part.eq(""), text.where(text.eq(""), text + " ") + part)
    return text


def record_details(rule_id: str, domain: str, variable, rows: pd.DataFrame, values) -> list[dict]:
    """Detail rows (:data:`DETAIL_COLUMNS`) for the offending ``rows`` of ``domain`` (records with
    their domain's columns) and their ``values`` (one per row): the record named by USUBJID and
    :func:`record_variables`."""
    if rows.empty:
        return []
    found = record_variables(domain, rows.columns)
    blank = pd.Series("", index=rows.index, dtype=object)
    table = pd.DataFrame({
        "RULE_ID": rule_id, "DOMAIN": domain.upper(), "VARIABLE": variable or "",
        "USUBJID": rows["USUBJID"].map(lambda v: visible(v) if pd.notna(v) else "")
        if "USUBJID" in rows.columns else blank,
        **{col: rows[found[col]].map(value_text).where(rows[found[col]].notna(), "") if col in found else blank
           for col in RECORD_COLUMNS},
        "RECORD": record_text(domain, rows),
        "VALUE": [value_text(v) for v in values],
    }, index=rows.index)
    return table[DETAIL_COLUMNS].to_dict("records")


def value_text(value) -> str:
    """A value as shown in a message: ``<missing>``, integral floats without decimals, invisible
    characters escaped (:func:`mpmlib.text.visible`, e.g. ``01-0003\\u200b``)."""
    if value is None or (isinstance(value, float) and value != value):
        return "<missing>"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return visible(value)


def shorten(items: list[str]) -> str:
    """The first :data:`MAX_SHOWN` items, comma-separated, with how many more there are."""
    shown = ", ".join(items[:MAX_SHOWN])
    return shown + (f" (+{len(items) - MAX_SHOWN} more)" if len(items) > MAX_SHOWN else "")
