"""Display tables: ADaM in, a formatted DataFrame out (read -> filter -> count -> render).

Conventions (as in most CSR shells, e.g. pycsr / PhUSE "Analysis and Display White Papers"):

* columns are the treatment groups plus ``Total``, each headed with its N;
* the denominator of every percentage is the column N of the population shown, so every
  subject in the population is counted (a ``Missing`` row appears when a value is missing);
* numbers are rounded half away from zero (as SAS ``ROUND``), not half to even; means and medians
  get one decimal more than the data, standard deviations two (``decimals`` = the data's).
"""

from __future__ import annotations

import html
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from .text import has_invisible, visible

MISSING = "Missing"


def round_half_up(value: float | Fraction, decimals: int) -> str:
    """Format ``value`` with ``decimals`` places, halves rounded away from zero.

    Exact for fractions (percentages are computed as ``Fraction(100 * n, N)``); floats are
    taken at their shortest repr, e.g. 2.675 -> "2.68" (Python's ``round`` gives 2.67).
    """
    if isinstance(value, Fraction):
        dec = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        dec = Decimal(repr(float(value)))
    quantum = Decimal(1).scaleb(-decimals)
    text = str(dec.quantize(quantum, rounding=ROUND_HALF_UP))
    return "0" + text[2:] if text.startswith("-0") and Decimal(text) == 0 else text


def ci_level(alpha: float) -> str:
    """The two-sided confidence level of ``alpha`` as printed on every page: 100 (1 - alpha) % to
    at most two decimals, trailing zeros dropped, computed in decimal so 0.1 never prints as
    89.99...% (0.05 -> "95%", 0.1 -> "90%", 0.025 -> "97.5%"). The one label rule of the
    efficacy, QoL and factors pages (no hard-coded "95%" where alpha is a parameter).

    >>> [ci_level(a) for a in (0.05, 0.1, 0.025)]
    ['95%', '90%', '97.5%']
    """
    if not 0 < float(alpha) < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    level = ((Decimal(1) - Decimal(str(alpha))) * 100).quantize(Decimal("0.01")).normalize()
    return f"{level:f}%"


def fmt_estimate(value, decimals: int = 1, missing: str = "NE") -> str:
    """An estimate rounded half up, or ``missing`` ("NE", not estimable) when it is None, NaN or
    infinite (a median not reached, a CI limit that does not exist)."""
    if value is None or not np.isfinite(value):
        return missing
    return round_half_up(value, decimals)


def n_pct(n: int, denominator: int, decimals: int = 1) -> str:
    """``"n (p%)"`` with p = 100 n / N rounded half up; ``"0"`` when n is 0."""
    if n == 0 or denominator == 0:
        return "0"
    return f"{n} ({round_half_up(Fraction(100 * n, denominator), decimals)})"


def column_populations(adsl: pd.DataFrame, by: str, total: bool = True) -> dict[str, pd.DataFrame]:
    """Subjects per display column: one per group of ``by`` (sorted), plus ``Total``."""
    columns = {str(g): rows for g, rows in adsl.groupby(by, sort=True)}
    if total:
        columns["Total"] = adsl
    return columns


def column_header(label: str, n: int) -> str:
    return f"{label} (N={n})"


def summary_table(adsl: pd.DataFrame, by: str, rows: list[dict], total: bool = True) -> pd.DataFrame:
    """Baseline-characteristics style table.

    ``rows``: ``{"var": "AGE", "label": "Age (years)", "kind": "continuous", "decimals": 0}`` or
    ``{"var": "SEX", "label": "Sex", "kind": "categorical", "levels": ["F", "M"],
    "labels": {"F": "Female"}}``. Levels not listed but present are added (sorted) so nothing is
    hidden; missing values get a ``Missing`` row.
    """
    pops = column_populations(adsl, by, total)
    out = []
    for spec in rows:
        if spec["var"] not in adsl.columns:
            continue
        if spec["kind"] == "continuous":
            block = _continuous_block(pops, spec)
        else:
            block = _categorical_block(adsl, pops, spec)
        out.append(block)
    table = pd.concat(out) if out else pd.DataFrame()
    table.columns = [column_header(label, len(rows)) for label, rows in pops.items()]
    return table


def continuous_summary(values: pd.Series, decimals: int = 0) -> dict[str, str]:
    """n, Mean (SD), Median, Min, Max of the non-missing values."""
    x = values.dropna().astype(float)
    if x.empty:
        return {"n": "0", "Mean (SD)": "", "Median": "", "Min, Max": ""}
    sd = round_half_up(x.std(ddof=1), decimals + 2) if len(x) > 1 else "NE"
    return {
        "n": str(len(x)),
        "Mean (SD)": f"{round_half_up(x.mean(), decimals + 1)} ({sd})",
        "Median": round_half_up(float(np.median(x)), decimals + 1),
        "Min, Max": f"{round_half_up(x.min(), decimals)}, {round_half_up(x.max(), decimals)}",
    }


def _continuous_block(pops, spec) -> pd.DataFrame:
    stats = {label: continuous_summary(rows[spec["var"]], spec.get("decimals", 0))
             for label, rows in pops.items()}
    block = pd.DataFrame(stats)
    missing = {label: int(rows[spec["var"]].isna().sum()) for label, rows in pops.items()}
    if any(missing.values()):
        block.loc[MISSING] = [str(missing[label]) for label in pops]
    block.index = pd.MultiIndex.from_product([[spec["label"]], block.index])
    return block


def _categorical_block(adsl, pops, spec) -> pd.DataFrame:
    var = spec["var"]
    values = adsl[var].astype("object")
    listed = [lvl for lvl in spec.get("levels", [])]
    present = sorted({_level(v) for v in values.dropna()} - set(map(str, listed)))
    levels = [str(lvl) for lvl in listed] + present
    labels = spec.get("labels", {})
    data = {}
    for label, rows in pops.items():
        col = rows[var].map(lambda v: MISSING if pd.isna(v) else _level(v))
        counts = col.value_counts()
        entries = [n_pct(int(counts.get(lvl, 0)), len(rows)) for lvl in levels]
        data[label] = entries + ([n_pct(int(counts.get(MISSING, 0)), len(rows))]
                                 if values.isna().any() else [])
    index = [labels.get(lvl, lvl) for lvl in levels] + ([MISSING] if values.isna().any() else [])
    block = pd.DataFrame(data, index=index)
    block.index = pd.MultiIndex.from_product([[spec["label"]], block.index])
    return block


def _level(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def population_table(adsl: pd.DataFrame, by: str = "TRT01P") -> pd.DataFrame:
    """Analysis populations among enrolled subjects: n (% of enrolled) per group and in total.

    Enrolled: ENRLFL; safety: SAFFL (any study drug); efficacy: EFFFL (treated with
    measurable disease at baseline).
    """
    enrolled = adsl[adsl["ENRLFL"].eq("Y")]
    pops = column_populations(enrolled, by)
    rows = {"Enrolled": "ENRLFL", "Safety population (any study drug)": "SAFFL",
            "Efficacy population (measurable disease, treated)": "EFFFL"}
    data = {label: [n_pct(int(sub[flag].eq("Y").sum()), len(sub)) for flag in rows.values()]
            for label, sub in pops.items()}
    table = pd.DataFrame(data, index=list(rows))
    table.columns = [column_header(label, len(sub)) for label, sub in pops.items()]
    return table


def disposition_counts(adsl: pd.DataFrame) -> dict[str, int]:
    """Counts for the CONSORT-style flow (CONSORT 2010 flow diagram boxes)."""
    enrolled = adsl["ENRLFL"].eq("Y")
    treated = adsl["SAFFL"].eq("Y")
    has_eot = adsl["EOTSTT"].notna().any()
    return {
        "screened": len(adsl),
        "not_enrolled": int((~enrolled).sum()),
        "enrolled": int(enrolled.sum()),
        "not_treated": int((enrolled & ~treated).sum()),
        "treated": int(treated.sum()),
        "no_measurable_disease": int((treated & adsl["EFFFL"].ne("Y")).sum()),
        "efficacy": int(adsl["EFFFL"].eq("Y").sum()),
        # None when DS holds no END OF TREATMENT records (e.g. the CDISC pilot)
        "treatment_ongoing": int((treated & adsl["EOTSTT"].eq("ONGOING")).sum()) if has_eot else None,
        "treatment_ended": int((treated & adsl["EOTSTT"].eq("DISCONTINUED")).sum()) if has_eot else None,
        "study_ongoing": int((enrolled & adsl["EOSSTT"].eq("ONGOING")).sum()),
        "study_ended": int((enrolled & adsl["EOSSTT"].isin(["DISCONTINUED", "COMPLETED"])).sum()),
        "deaths": int((enrolled & adsl["DTHFL"].eq("Y")).sum()),
    }


def disposition_table(adsl: pd.DataFrame, by: str = "TRT01P") -> pd.DataFrame:
    """End-of-treatment and end-of-study status with reasons, n (%) of enrolled subjects."""
    enrolled = adsl[adsl["ENRLFL"].eq("Y")].copy()
    enrolled["EOT"] = np.where(enrolled["SAFFL"].ne("Y"), "Not treated", enrolled["EOTSTT"])
    rows = []
    if enrolled["EOTSTT"].notna().any():
        rows += [{"var": "EOT", "label": "Study treatment", "kind": "categorical",
                  "levels": ["ONGOING", "DISCONTINUED"],
                  "labels": {"ONGOING": "Ongoing", "DISCONTINUED": "Discontinued"}},
                 {"var": "DCTREAS", "label": "Reason treatment ended", "kind": "categorical"}]
    rows += [{"var": "EOSSTT", "label": "Study participation", "kind": "categorical",
              "levels": ["ONGOING", "COMPLETED", "DISCONTINUED"],
              "labels": {"ONGOING": "Ongoing", "COMPLETED": "Completed", "DISCONTINUED": "Discontinued"}},
             {"var": "DCSREAS", "label": "Reason study participation ended", "kind": "categorical"}]
    table = summary_table(enrolled, by, rows)
    # reasons: a blank reason means "not applicable", not missing data
    return table[~((table.index.get_level_values(0).str.startswith("Reason"))
                   & (table.index.get_level_values(1) == MISSING))]


def exposure_table(adex: pd.DataFrame, adsl: pd.DataFrame, drug_labels: dict[str, str],
                   by: str = "TRT01A") -> pd.DataFrame:
    """Exposure per study drug in the safety population: administrations, duration, dose."""
    safety = adsl[adsl["SAFFL"].eq("Y")][["USUBJID", by]]
    wide = adex.pivot_table(index="USUBJID", columns=["PARCAT1", "PARAMCD"], values="AVAL",
                            aggfunc="first")
    wide.columns = [f"{drug}_{param}" for drug, param in wide.columns]
    data = safety.merge(wide, how="left", left_on="USUBJID", right_index=True)
    units = adex[adex["PARAMCD"].eq("CUMDOSE")].groupby("PARCAT1")["AVALU"].first()
    rows = []
    for code, label in drug_labels.items():
        rows += [
            {"var": f"{code}_NADMIN", "label": f"{label}: administrations", "kind": "continuous", "decimals": 0},
            {"var": f"{code}_DURD", "label": f"{label}: duration of exposure (days)", "kind": "continuous",
             "decimals": 0},
        ]
        dose = f"{code}_CUMDOSE"
        if dose in data.columns and data[dose].notna().any():
            unit = units.get(code)
            unit = unit if isinstance(unit, str) else "unit not recorded"
            if data[dose].max() >= 1e9:                 # viral particles: shown in 10^12
                data[dose] = data[dose] / 1e12
                unit = f"x10^12 {unit}"
            rows.append({"var": dose, "label": f"{label}: cumulative dose ({unit})", "kind": "continuous",
                         "decimals": 0 if data[dose].max() >= 100 else 1})
        rows.append({"var": f"{code}_RDI", "label": f"{label}: relative dose intensity (%)", "kind": "continuous",
                     "decimals": 0})
    return summary_table(data, by, rows)


# ---- data QC ---------------------------------------------------------------------------------------
#
# When a critical finding stops a run (mpmlib.report.build_report, README "Data QC and the gate"):
# a critical rule that fails stops every run, locked or exploratory: only the QC page is written.
# For exploration a parameter file may downgrade named critical rules to warnings (qc.downgrade);
# the analyses then run and the QC page and the index say which rules were downgraded. A locked
# run (a lock file, or qc.locked: true) refuses qc.downgrade, so there every critical rule stops it.

#: How a downgraded critical rule is shown in the QC tables.
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
_TEXT_LISTING_STYLE = ("<style>.jp-RenderedHTMLCommon table.mpm-text tbody td "
                       "{ text-align: left !important; white-space: normal; }</style>")


def html_table(df: pd.DataFrame, text: bool = False) -> str:
    """A listing without the row numbers pandas would show (deterministic HTML); ``text``: a
    listing of text (rules, records), left-aligned and wrapped. Every cell is HTML-escaped and
    shows invisible characters as escapes (:func:`visible_frame`: a USUBJID with a zero-width
    space reads ``...0003\\u200b``)."""
    classes = "mpm-text" if text else "dataframe"          # pandas adds "dataframe" itself
    table = visible_frame(df).to_html(index=False, border=0, classes=classes, na_rep="", escape=True)
    return _TEXT_LISTING_STYLE + table if text else table


def subject_ids(usubjid: pd.Series, all_subjects: pd.Series, mask: bool = False) -> pd.Series:
    """Subject identifiers for a listing (parameter ``report.mask_subject_ids``).

    Listings carry USUBJID, the study's own subject code (not a direct identifier: CDISC SDTMIG
    3.3 §2.2.4), so a data manager can find the record. With ``mask`` each USUBJID is replaced by
    ``"Subject 001"``, ``"Subject 002"``, ... numbered by its rank among the sorted unique
    ``all_subjects`` (ADSL USUBJID), so the same subject has the same number on every page of a
    run and the numbers do not depend on which listing is shown. A USUBJID missing from
    ``all_subjects`` is masked as ``"Subject ?"``, never shown. Shown USUBJIDs have invisible
    characters escaped (:func:`mpmlib.text.visible`), so two IDs that differ only by one do not
    look the same.

    >>> ids = pd.Series(["S-2", "S-1"])
    >>> subject_ids(ids, pd.Series(["S-1", "S-2", "S-3"]), mask=True).tolist()
    ['Subject 002', 'Subject 001']
    >>> subject_ids(ids, pd.Series(["S-1", "S-2"])).tolist()
    ['S-2', 'S-1']
    >>> subject_ids(pd.Series(["S-1\\u200b"]), pd.Series(["S-1"])).tolist()
    ['S-1\\\\u200b']
    """
    values = pd.Series(usubjid).astype(object)
    if not mask:
        return visible_series(values.where(values.isna(), values.astype(str)))
    ranks = {sid: i for i, sid in enumerate(sorted(pd.Series(all_subjects).dropna().astype(str).unique()), start=1)}
    width = max(3, len(str(len(ranks))))
    return values.map(lambda v: f"Subject {ranks[str(v)]:0{width}d}" if str(v) in ranks else "Subject ?")


#: Markdown's inline specials (emphasis, links and images, code, headings, tables, strike-through,
#: TeX math ``$``) and ``@``, without which no e-mail autolink forms; each is backslash-escaped
#: (CommonMark 0.31, section 2.4: any ASCII punctuation character may be backslash-escaped and
#: then shows as itself).
_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#|~$@"})
_LINE_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
_AUTOLINK = re.compile(r"(?i)(?<=\bwww)\.|:(?=//)")       # GFM extended autolinks: www. and scheme://
_LIST_START = re.compile(r"^(?:(?=[-+=])|\d+(?=[.)]))")    # bullet or ordered list item, setext rule


def html_text(value) -> str:
    """Text from the parameter file or the data for an HTML page: line breaks as spaces (as HTML
    shows them), other invisible characters shown as escapes (:func:`mpmlib.text.visible`), then
    HTML-escaped, quotes included (OWASP Cross Site Scripting Prevention Cheat Sheet, rule 1:
    HTML-encode before inserting untrusted data into element content or a quoted attribute).

    >>> html_text('<img src=x onerror="alert(1)">\\u200b')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;\\\\u200b'
    """
    return html.escape(visible(_LINE_BREAKS.sub(" ", "" if value is None else str(value))), quote=True)


def md_text(value) -> str:
    """Text from the parameter file or the data, safe inside ``IPython.display.Markdown`` and
    shown as written: one line (line breaks become spaces, so text cannot start a heading, list or
    table row), invisible characters as escapes (:func:`mpmlib.text.visible`), HTML-escaped
    (``<script>`` shows as text; :func:`html_text`), and Markdown's specials backslash-escaped, so
    that it makes no emphasis, link, image, autolink (``http://``, ``www.``, an e-mail address),
    code span, heading, table, math or list (CommonMark 0.31 and GFM 0.29: links and images need
    ``[``, autolinks ``<`` or ``://`` or ``@`` or ``www.``, lists a leading ``-``, ``+`` or ``1.``).
    nbconvert (mistune) and JupyterLab (marked) render the escapes as the characters.

    >>> md_text("<b>H101_*trial*</b>")
    '&lt;b&gt;H101\\\\_\\\\*trial\\\\*&lt;/b&gt;'
    >>> md_text("[x](javascript:alert(1)) www.x.org http://y")
    '\\\\[x\\\\](javascript:alert(1)) www\\\\.x.org http\\\\://y'
    >>> md_text("- a\\n# b"), md_text("1. a")
    ('\\\\- a \\\\# b', '1\\\\. a')
    """
    text = html_text(("" if value is None else str(value)).strip()).strip().translate(_MARKDOWN_SPECIAL)
    return _LIST_START.sub(lambda m: m.group() + "\\", _AUTOLINK.sub(lambda m: "\\" + m.group(), text), count=1)


def md_code(value) -> str:
    """A name from the parameter file or the data (a variable, a QNAM) as Markdown inline code:
    a code span shows its content literally and renderers HTML-escape it (CommonMark 0.31,
    section 6.1), so only a backtick or a line break could end it early; such a name is shown as
    plain escaped text (:func:`md_text`) instead. Invisible characters are shown as escapes.

    >>> md_code("NLRBL"), md_code("<b>"), md_code("a`b")
    ('`NLRBL`', '`<b>`', 'a\\\\`b')
    """
    text = visible("" if value is None else value)
    if not text or "`" in text or _LINE_BREAKS.search(text):
        return md_text(text)
    return f"`{text}`"


def visible_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell, column name and index label passed through
    :func:`mpmlib.text.visible` (a USUBJID ending in a zero-width space shows as
    ``...0003\\u200b``); ``df`` itself when nothing needs it, so a table without such
    characters renders byte for byte as before. Numbers are untouched. Vectorised: one regular
    expression per text column finds the few cells that need a look."""
    columns, index = _visible_index(df.columns), _visible_index(df.index)
    changed = {}
    for i in range(df.shape[1]):
        column = df.iloc[:, i]
        if (new := visible_series(column)) is not column:
            changed[i] = new
    if not changed and columns is df.columns and index is df.index:
        return df
    out = df.copy()
    for i, values in changed.items():
        out.isetitem(i, values)
    out.columns, out.index = columns, index
    return out


def visible_series(values: pd.Series) -> pd.Series:
    """A Series with invisible characters of its text cells escaped (:func:`mpmlib.text.visible`);
    ``values`` itself (the same object) when no cell has any."""
    if not (values.dtype == object or isinstance(values.dtype, (pd.StringDtype, pd.CategoricalDtype))):
        return values
    text = values.astype(object)
    if len(text) < 64:
        suspect = text.map(lambda v: isinstance(v, str) and has_invisible(v))
    else:                                    # one vectorised pass; few cells need a closer look
        suspect = text.str.contains(_NOT_PRINTABLE, na=False, regex=True)
    if not suspect.any():
        return values
    cells = text.to_numpy(copy=True)
    hit = suspect.to_numpy(dtype=bool)
    cells[hit] = [visible(v) for v in cells[hit]]
    return pd.Series(cells, index=values.index, name=values.name, dtype=object)


_NOT_PRINTABLE = r"[^\x20-\x7e]"


def _visible_index(index: pd.Index) -> pd.Index:
    """An index (or the columns) with invisible characters of its text labels escaped; the same
    object when none has any."""
    if isinstance(index, pd.MultiIndex):
        old = list(index.levels)                  # pandas builds new level objects on each access
        levels = [_visible_index(level) for level in old]
        if all(a is b for a, b in zip(levels, old)):
            return index
        return index.set_levels(levels, verify_integrity=False)
    if not (index.dtype == object or isinstance(index.dtype, (pd.StringDtype, pd.CategoricalDtype))):
        return index
    if not any(isinstance(v, str) and has_invisible(v) for v in index):
        return index
    return index.map(lambda v: visible(v) if isinstance(v, str) else v)


def frame_html(df: pd.DataFrame) -> str:
    """How a notebook shows a DataFrame (registered by :func:`mpmlib.notebook.setup` for
    ``text/html``): pandas' own HTML (cells escaped), with invisible characters of identifiers
    and values made visible first (:func:`visible_frame`)."""
    return visible_frame(df)._repr_html_()


def exposure_footnote(adex: pd.DataFrame, adsl: pd.DataFrame, ex_missing_end: str, by: str) -> str:
    """Footnote of the exposure table (Markdown), the same on every page that shows it: what the
    columns are (``by``: actual TRT01A or planned TRT01P), how administrations, duration and dose
    are counted (``mpmlib.derive.adex``), and, with ``adsl.ex_missing_end: ignore``, how many
    treated subjects have no countable EX record (their only records have no end date)."""
    columns = "actual (TRT01A)" if by == "TRT01A" else "planned (TRT01P)"
    text = (f"_Safety population, columns by {columns} treatment. Administrations: each EX record counts "
            "its dose frequency (EXDOSFRQ) times its days (QD over 14 days = 14; ONCE = 1); duration = last "
            "− first dose + 1 day; cumulative dose = EXDOSE × administrations._")
    if ex_missing_end == "ignore" and len(adex):
        nadmin = adex[adex["PARAMCD"].eq("NADMIN")].groupby("USUBJID")["AVAL"].sum()
        safety = adsl.loc[adsl["SAFFL"].eq("Y"), "USUBJID"]
        none = int(safety.map(nadmin).fillna(0).eq(0).sum())
        if none:
            text += (f" _{none} subject(s) of the safety population have only EX records without an end date: "
                     "with `adsl.ex_missing_end: ignore` (as admiral) such records are not counted, so these "
                     "subjects show 0 administrations and no duration or dose._")
    return text


#: Rows of a subject-level listing shown on an HTML page; the CSV next to the page holds them all.
LISTING_MAX_ROWS = 500


def listing_page(listing: pd.DataFrame, csv_name: str | None, max_rows: int = LISTING_MAX_ROWS
                 ) -> tuple[pd.DataFrame, str]:
    """The rows of a listing shown on the page and a note (Markdown, "" when all are shown): a
    listing longer than ``max_rows`` (10,000-subject trials) shows its first ``max_rows`` rows
    in its own order and says where every record is (``<csv_name>.csv`` beside the page, written
    by ``mpm report``), so no record is dropped, only not repeated in the HTML.

    >>> shown, note = listing_page(pd.DataFrame({"a": range(3)}), "x", max_rows=2)
    >>> len(shown), note
    (2, '_First 2 of 3 rows shown; every row is in `x.csv` beside this page._')
    """
    if len(listing) <= max_rows:
        return listing, ""
    where = f"`{csv_name}.csv` beside this page" if csv_name else "the CSV files written by `mpm report`"
    return listing.head(max_rows), f"_First {max_rows} of {len(listing)} rows shown; every row is in {where}._"
