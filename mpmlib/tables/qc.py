"""The data-QC page's tables: the verdict, the failed rules, the offending records, every rule."""

from __future__ import annotations

import pandas as pd


DOWNGRADED_SEVERITY = "critical, downgraded"


def _downgraded(failed: pd.DataFrame) -> pd.Series:
    return failed["DOWNGRADED"].fillna("").astype(str).ne("")


def qc_verdict_html(findings: pd.DataFrame) -> str:
    """The verdict banner at the top of the QC report: stop (a critical rule failed), pass with
    critical rules downgraded by the parameter file (named), pass with warnings, or pass."""
    import html

    failed = findings[findings["STATUS"].eq("FAIL")]
    down = _downgraded(failed)
    n_critical = int(failed["SEVERITY"].eq("critical").sum())
    n_warning = int((failed["SEVERITY"].eq("warning") & ~down).sum())
    down_ids = sorted(set(failed.loc[down, "RULE_ID"]))
    n_rules = len(findings)
    warnings = f"{n_warning} warning rule(s) failed"
    if n_critical:
        colour, title = "#c0392b", f"STOP: {n_critical} critical rule(s) failed"
        text = ("A failed critical rule stops the run, locked or exploratory: the analyses were not run. "
                "Fix the records listed below at the source.")
    elif down_ids:
        colour = "#b7791f"
        title = (f"PASS with downgraded critical rules: {len(down_ids)} critical rule(s) downgraded to warnings "
                 f"by the parameter file ({', '.join(down_ids)}), {warnings}")
        text = ("The analyses ran because the parameter file downgrades these critical rules (qc.downgrade, "
                "exploration only: a locked run refuses it). Review them below.")
    elif n_warning:
        colour, title = "#b7791f", f"PASS with warnings: {warnings}"
        text = "No critical finding: analyses can run. Review the warnings below."
    else:
        colour, title = "#2e7d32", "PASS: no rule failed"
        text = "Every data-QC rule passed."
    return (f'<div style="border-left:6px solid {colour};background:{colour}14;padding:.6em 1em;margin:.5em 0">'
            f'<div style="font-size:1.3em;font-weight:bold;color:{colour}">{html.escape(title)}</div>'
            f"<div>{html.escape(text)} {n_rules} rules evaluated.</div></div>")


def _severity_shown(findings: pd.DataFrame) -> pd.Series:
    """Severity as applied, with a downgraded critical rule shown as such."""
    return findings["SEVERITY"].where(~_downgraded(findings), DOWNGRADED_SEVERITY)


def qc_failed_table(findings: pd.DataFrame) -> pd.DataFrame:
    """Failed rules, critical first, then downgraded critical rules, then warnings: what a data
    manager needs to act on."""
    failed = findings[findings["STATUS"].eq("FAIL")].copy()
    rank = failed["SEVERITY"].map({"critical": 0}).fillna(2).where(~_downgraded(failed), 1)
    failed = failed.assign(_R=rank).sort_values("_R", kind="stable")
    failed["Where"] = failed["DOMAIN"] + failed["VARIABLE"].fillna("").map(lambda v: f".{v}" if v else "")
    failed["SEVERITY"] = _severity_shown(failed)
    table = failed[["SEVERITY", "RULE_ID", "Where", "RULE", "N_FAIL", "SUBJECTS", "VALUES"]]
    table = table.rename(columns={"SEVERITY": "Severity", "RULE_ID": "Rule", "RULE": "Rule text",
                                  "N_FAIL": "Records", "SUBJECTS": "Subjects (USUBJID)", "VALUES": "Values"})
    table["Records"] = table["Records"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    return table.reset_index(drop=True)


def qc_details_table(details: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """Every offending record (``qc/details.csv``), in the order of :func:`qc_failed_table`:
    rule, where, USUBJID, the record (its --SEQ, --TESTCD, VISIT as ``QSSEQ=12 QSTESTCD=EOR0103
    VISIT=WEEK 6``; for SUPP-- the parent record and QNAM) and the offending value. USUBJID is
    shown whatever ``report.mask_subject_ids`` says: data management must find the record."""
    order = qc_failed_table(findings)[["Rule", "Where"]].assign(_O=lambda d: range(len(d)))
    rows = details.assign(Where=details["DOMAIN"] + details["VARIABLE"].fillna("").map(lambda v: f".{v}" if v else ""))
    rows = rows.merge(order, left_on=["RULE_ID", "Where"], right_on=["Rule", "Where"], how="left")
    rows = rows.sort_values("_O", kind="stable", na_position="last")
    table = pd.DataFrame({
        "Rule": rows["RULE_ID"], "Where": rows["Where"], "USUBJID": rows["USUBJID"],
        "Record": rows["RECORD"], "Value": rows["VALUE"]})
    return table.reset_index(drop=True)


def qc_rules_table(findings: pd.DataFrame) -> pd.DataFrame:
    """Every rule evaluated, with its status, grouped by domain (a downgraded critical rule
    shown as such)."""
    table = findings.assign(SEVERITY=_severity_shown(findings))[
        ["DOMAIN", "RULE_ID", "VARIABLE", "RULE", "SEVERITY", "STATUS"]].sort_values(
        ["DOMAIN", "RULE_ID", "VARIABLE"], kind="stable")
    return table.rename(columns=str.title).reset_index(drop=True)


#: Text listings: cells left-aligned and wrapped (the page template right-aligns table cells for
#: numbers and keeps them on one line).