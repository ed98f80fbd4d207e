"""Data QC: Great Expectations suites per SDTM domain plus cross-domain rules, one findings table.

* ``expectations/<domain>.json`` hold GX 1.x suites. Every expectation carries a ``severity``
  (``critical`` stops the run, locked or exploratory; ``warning`` is reported) and ``meta.rule_id`` /
  ``meta.text`` / ``meta.variable``. GX silently drops an expectation whose type is misspelt, so
  :func:`load_suites` checks the count after loading.
* Suites run in an *ephemeral* context (``gx.get_context(mode="ephemeral")``: without ``mode`` GX
  looks for a ``gx/`` folder in parent directories) with progress bars off (they would put
  timings into the report).
* Rules that span domains are in :mod:`mpmlib.qc.rules` and report in the same shape; the
  study-aware ones need the parameter file (``validate_sdtm(..., params=...)``).
* :func:`validate_run` is the QC of a run (``mpm validate`` and ``mpm report``): all rules, then
  a dry run of the ADaM derivation whose errors are the critical finding DERIVE-001.
* Identifiers and values in messages show invisible characters escaped (:mod:`mpmlib.text`).
* Every finding names the domain, the variable, the rule, the severity, and the subjects
  (USUBJID) and values concerned, never row numbers; every offending record is named by the
  variables that identify it in SDTM (:func:`record_variables`: USUBJID, the domain's --SEQ,
  --TESTCD, VISITNUM / VISIT; SUPP-- by its parent record IDVAR = IDVARVAL and QNAM).

Result tables (:class:`QCResult`):

``findings``  one row per rule evaluated: RULE_ID, SEVERITY, DOMAIN, VARIABLE, RULE, STATUS
              (PASS / FAIL / NOT RUN), N_FAIL, SUBJECTS (text), VALUES (text), DOWNGRADED
``details``   one row per offending record (capped per rule): RULE_ID, DOMAIN, VARIABLE,
              USUBJID, SEQ (the domain's --SEQ), TESTCD (--TESTCD; QNAM for SUPP--), VISITNUM,
              VISIT (each blank when the domain has no such variable), RECORD (the same as text,
              e.g. ``QSSEQ=12 QSTESTCD=EOR0103 VISIT=WEEK 6``), VALUE
``received``  one row per domain file: DOMAIN, FILE, RECORDS, SUBJECTS, STATUS
``missing``   one row per domain variable with missing values: DOMAIN, VARIABLE, RECORDS,
              MISSING, PCT_MISSING
"""

from __future__ import annotations

import copy
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mpmlib.sdtm import read as io
from mpmlib.csvsafe import restore, write_csv
from mpmlib.errors import DataError, MpmError, ParamsError
from mpmlib.settings.load import PROJECT_ROOT
from mpmlib.qc.findings import (DETAIL_COLUMNS, FINDING_COLUMNS, MAX_DETAILS_PER_RULE, RECORD_COLUMNS,
                                 finding_row, record_details)
from mpmlib.text import visible

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SEVERITIES = ("critical", "warning")
TABLES = ("findings", "details", "received", "missing")
#: Offending records printed per failed rule by :func:`summary_text` (all are in details.csv).
MAX_RECORDS_PRINTED = 5

#: Domains the analyses need: missing -> finding with this severity.
DOMAIN_NEEDED = {"dm": "critical", "ex": "critical", "ds": "critical", "ae": "warning",
                 "rs": "warning", "tu": "warning", "tr": "warning", "qs": "warning"}


@dataclass
class QCResult:
    findings: pd.DataFrame
    details: pd.DataFrame
    received: pd.DataFrame
    missing: pd.DataFrame
    sdtm: dict
    #: the ADaM datasets derived by :func:`validate_run` (None when not derived), so that the
    #: report does not derive twice
    adam: dict | None = None

    @property
    def failed(self) -> pd.DataFrame:
        return self.findings[self.findings["STATUS"].eq("FAIL")]

    @property
    def critical(self) -> pd.DataFrame:
        return self.failed[self.failed["SEVERITY"].eq("critical")]

    @property
    def downgraded(self) -> pd.DataFrame:
        """Failed rules that are critical as written but downgraded to warnings (qc.downgrade)."""
        return self.failed[self.failed["DOWNGRADED"].astype(str).ne("")]

    @property
    def passed(self) -> bool:
        """True when no critical rule fails: the gate of every run, locked or exploratory (a
        locked run cannot downgrade a rule)."""
        return self.critical.empty

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            write_csv(getattr(self, name), folder / f"{name}.csv")

    @classmethod
    def load(cls, folder: Path) -> "QCResult":
        read = {name: restore(pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False))
                for name in TABLES}
        for name, col in (("findings", "N_FAIL"), ("missing", "PCT_MISSING"), ("missing", "MISSING"),
                          ("missing", "RECORDS")):
            read[name][col] = pd.to_numeric(read[name][col], errors="coerce")
        return cls(**read, sdtm={})


# ---- suites ------------------------------------------------------------------------------------

def load_suites(directory: Path = EXPECTATIONS_DIR) -> dict[str, dict]:
    """Read every suite JSON; check each expectation names a rule and a valid severity.

    Returns ``{domain (lower-case): suite dict}``. A malformed suite is a :class:`ParamsError`
    (it is project configuration, not data).
    """
    suites = {}
    for path in sorted(Path(directory).glob("*.json")):
        try:
            suite = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ParamsError(f"{path}: not valid JSON ({exc})") from None
        seen = set()
        for i, exp in enumerate(suite.get("expectations", [])):
            meta = exp.get("meta", {})
            if not meta.get("rule_id") or not meta.get("text"):
                raise ParamsError(f"{path}: expectation {i} has no meta.rule_id / meta.text")
            if exp.get("severity") not in SEVERITIES:
                raise ParamsError(f"{path}: {meta['rule_id']} severity must be critical or warning")
            if meta["rule_id"] in seen:
                raise ParamsError(f"{path}: rule id {meta['rule_id']} used twice")
            seen.add(meta["rule_id"])
        suites[path.stem.lower()] = suite
    return suites


def gx_context():
    """An ephemeral GX context with progress bars off (nothing written to disk)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.CRITICAL)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def build_gx_suite(context, suite: dict, columns: list[str]):
    """The GX suite for one domain, keeping only expectations whose columns exist.

    Returns ``(gx_suite, skipped)`` where ``skipped`` are the expectations not run because
    their column is absent (reported as NOT RUN). Raises if GX dropped any expectation.
    """
    import great_expectations as gx

    present, skipped = [], []
    for exp in suite["expectations"]:
        needed = _columns_of(exp)
        if exp["type"] == "expect_column_to_exist" or all(c in columns for c in needed):
            present.append(exp)
        else:
            skipped.append(exp)
    spec = {"name": suite["name"], "expectations": copy.deepcopy(present)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        gx_suite = gx.ExpectationSuite(**spec)
    if len(gx_suite.expectations) != len(present):
        lost = {e["meta"]["rule_id"] for e in present} - {e.meta["rule_id"] for e in gx_suite.expectations}
        raise ParamsError(f"expectations/{suite['name']}.json: GX dropped {sorted(lost)} "
                          "(misspelt expectation type?)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return context.suites.add_or_update(gx_suite), skipped


def _columns_of(exp: dict) -> list[str]:
    kwargs = exp["kwargs"]
    cols = [kwargs["column"]] if "column" in kwargs else list(kwargs.get("column_list", []))
    condition = kwargs.get("row_condition") or ""
    cols += [word for word in ("QNAM", "RSTESTCD", "TRTESTCD", "QSTESTCD", "QSCAT", "LBTESTCD", "LBSTRESN", "DDTESTCD")
             if word in condition]
    return cols


def run_suite(context, domain: str, df: pd.DataFrame, suite: dict) -> tuple[list[dict], list[dict]]:
    """Validate one domain; return (findings rows, detail rows)."""
    gx_suite, skipped = build_gx_suite(context, suite, list(df.columns))
    if not df.index.is_unique:                               # offending rows are looked up by label
        df = df.reset_index(drop=True)
    used = {c for exp in suite["expectations"] for c in _columns_of(exp)}
    checked = df[[c for c in df.columns if c in used]]      # GX copies what it is given: keep it small
    asset = context.data_sources.add_or_update_pandas(f"src_{domain}").add_dataframe_asset(domain)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": checked})
    with warnings.catch_warnings():
        # GX 1.9+ deprecates string row conditions (removed in GX 2.0; the lock pins GX 1.x)
        warnings.simplefilter("ignore", DeprecationWarning)
        # without unexpected_index_column_names GX (pandas) lists the row labels of the offending
        # records; USUBJID and the record's identifying variables are then taken from ``df``
        result = batch.validate(gx_suite, result_format={"result_format": "COMPLETE",
                                                         "unexpected_index_column_names": []})
    findings, details = [], []
    for res in result.results:
        config = res.expectation_config
        meta = config.meta
        variable = meta.get("variable") or config.kwargs.get("column")
        if res.exception_info and res.exception_info.get("raised_exception"):
            findings.append(finding_row(meta, config.severity.value, domain, variable, "NOT RUN",
                                     values=[res.exception_info.get("exception_message", "")]))
            continue
        if config.type == "expect_column_to_exist":
            status = "PASS" if res.success else "FAIL"
            findings.append(finding_row(meta, config.severity.value, domain, variable, status,
                                     values=[] if res.success else ["column missing"]))
            continue
        if config.kwargs.get("row_condition") and res.result.get("element_count") == 0:
            # a rule on some records only (e.g. one QNAM) with no such record checked nothing
            findings.append(finding_row(meta, config.severity.value, domain, variable, "NOT RUN",
                                     values=["no record meets the rule's condition"]))
            continue
        labels = res.result.get("unexpected_index_list") or []
        values = res.result.get("unexpected_list") or []
        subjects = df.loc[labels, "USUBJID"].tolist() if "USUBJID" in df.columns else []
        findings.append(finding_row(meta, config.severity.value, domain, variable,
                                 "PASS" if res.success else "FAIL", subjects, values,
                                 res.result.get("unexpected_count")))
        if labels:
            shown = labels[:MAX_DETAILS_PER_RULE]
            details += record_details(meta["rule_id"], domain, variable, df.loc[shown],
                                      values[:len(shown)])
    for exp in skipped:
        findings.append(finding_row(exp["meta"], exp["severity"], domain, exp["meta"].get("variable"),
                                 "NOT RUN", values=["column absent"]))
    return findings, details


# ---- the whole check -----------------------------------------------------------------------------

def validate_sdtm(folder, file_map: dict | None = None, qc_params: dict | None = None,
                  suites: dict | None = None, params: dict | None = None) -> QCResult:
    """Read every domain (a file that cannot be read is a finding, not a crash), run the suites
    and the cross-domain rules, apply any downgrades, and return the :class:`QCResult`.

    ``params`` (the loaded parameter file, :func:`mpmlib.settings.load.load_params`) enables the
    study-aware rules (:data:`mpmlib.qc.rules.STUDY_RULES`: study drugs, cut-off, STUDYID,
    QNAMs, covariate types...); without it they are NOT RUN ("no parameter file")."""
    from mpmlib.qc.rules import cross_domain_findings

    qc_params = qc_params or {}
    suites = suites if suites is not None else load_suites()
    findings, details, received, sdtm = [], [], [], {}
    for domain, path in io.find_domain_files(folder, file_map).items():
        try:
            df = io.read_domain(path, domain, ((params or {}).get("sdtm") or {}).get("max_file_mb"))
        except DataError as exc:
            findings.append(finding_row({"rule_id": "READ-001", "text": "file can be read"}, "critical",
                                     domain, exc.variable, "FAIL", exc.subjects, [exc.rule + (f" - {exc.detail}" if exc.detail else "")],
                                     max(len(exc.subjects), 1)))
            received.append({"DOMAIN": domain.upper(), "FILE": path.name, "RECORDS": "", "SUBJECTS": "",
                             "STATUS": "unreadable"})
            continue
        if not df.index.is_unique:          # QC names offending records by their row label
            df = df.reset_index(drop=True)
        sdtm[domain] = df
        n_subjects = df["USUBJID"].nunique() if "USUBJID" in df.columns else ""
        received.append({"DOMAIN": domain.upper(), "FILE": path.name, "RECORDS": len(df),
                         "SUBJECTS": n_subjects, "STATUS": "read"})
    for domain, severity in DOMAIN_NEEDED.items():
        present = domain in sdtm or any(r["DOMAIN"] == domain.upper() for r in received)
        findings.append(finding_row({"rule_id": f"{domain.upper()}-000", "text": f"{domain.upper()} domain is provided"},
                                 severity, domain, "", "PASS" if present else "FAIL", values=[] if present else ["domain file absent"]))
    context = gx_context() if any(d in suites for d in sdtm) else None
    for domain, df in sorted(sdtm.items()):
        if domain in suites:
            f, d = run_suite(context, domain, df, suites[domain])
            findings += f
            details += d
    f, d = cross_domain_findings(sdtm, params)
    findings += f
    details += d
    table = pd.DataFrame(findings, columns=FINDING_COLUMNS)
    table = _ordered(apply_downgrades(table, qc_params.get("downgrade", []), qc_params.get("locked", False)))
    return QCResult(table, pd.DataFrame(details, columns=DETAIL_COLUMNS),
                    pd.DataFrame(received, columns=["DOMAIN", "FILE", "RECORDS", "SUBJECTS", "STATUS"]),
                    missing_overview(sdtm), sdtm)


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    """Failed rules first, critical before warning, then by domain and rule id."""
    order = table.assign(_S=table["STATUS"].map(_ORDER["STATUS"]), _V=table["SEVERITY"].map(_ORDER["SEVERITY"]))
    return (order.sort_values(["_S", "_V", "DOMAIN", "RULE_ID"], kind="stable")
            .drop(columns=["_S", "_V"]).reset_index(drop=True))


DERIVE_RULE = {"rule_id": "DERIVE-001", "text": "the ADaM derivation accepts the data"}


def validate_run(params: dict) -> QCResult:
    """The data QC of a run, as ``mpm validate`` and ``mpm report`` both call it: every rule
    (:func:`validate_sdtm` with the parameter file, so the study-aware rules run), then - when
    no critical rule fails - a dry run of the ADaM derivation on the same data
    (:func:`mpmlib.derive.pipeline.derive_all`). Any error the derivation raises (``DataError``,
    ``ParamsError``: the project's own errors) becomes the critical finding DERIVE-001 naming
    its domain, variable, subjects and rule, so "QC says OK" and "derive / report fail" cannot
    both happen. The derived datasets are kept in ``result.adam`` (None when not derived)."""
    from mpmlib.derive.pipeline import derive_all

    result = validate_sdtm(params["sdtm"]["dir"], params["sdtm"].get("files") or {}, params.get("qc") or {},
                           params=params)
    if not result.passed:
        result.findings = _ordered(pd.concat([result.findings, pd.DataFrame(
            [finding_row(DERIVE_RULE, "critical", "ALL", "", "NOT RUN", values=["critical findings: not derived"])],
            columns=FINDING_COLUMNS)], ignore_index=True))
        return result
    try:
        result.adam = derive_all(result.sdtm, params)
    except MpmError as exc:
        if isinstance(exc, DataError):
            domain, variable, subjects = exc.domain or "ALL", exc.variable or "", exc.subjects
            value = exc.rule + (f" - {exc.detail}" if exc.detail else "")
        else:
            domain, variable, subjects, value = "ALL", "", [], str(exc)
        finding = finding_row(DERIVE_RULE, "critical", domain, variable, "FAIL", subjects, [value],
                           max(len(subjects), 1))
        rows = [{"RULE_ID": DERIVE_RULE["rule_id"], "DOMAIN": domain.upper(), "VARIABLE": variable,
                 "USUBJID": visible(s), **{c: "" for c in RECORD_COLUMNS}, "RECORD": "", "VALUE": visible(value)}
                for s in (subjects or [""])[:MAX_DETAILS_PER_RULE]]
        result.findings = _ordered(pd.concat([result.findings, pd.DataFrame([finding], columns=FINDING_COLUMNS)],
                                             ignore_index=True))
        result.details = pd.concat([result.details, pd.DataFrame(rows, columns=DETAIL_COLUMNS)], ignore_index=True)
        result.adam = None
    else:
        result.findings = _ordered(pd.concat([result.findings, pd.DataFrame(
            [finding_row(DERIVE_RULE, "critical", "ALL", "", "PASS")], columns=FINDING_COLUMNS)], ignore_index=True))
    return result


def missing_overview(sdtm: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Variables with missing values per domain (blank text counts as missing)."""
    rows = []
    for domain, df in sorted(sdtm.items()):
        counts = df.isna().sum()
        for variable, n_missing in counts[counts > 0].items():
            rows.append({"DOMAIN": domain.upper(), "VARIABLE": variable, "RECORDS": len(df),
                         "MISSING": int(n_missing), "PCT_MISSING": round(100 * n_missing / len(df), 1)})
    return pd.DataFrame(rows, columns=["DOMAIN", "VARIABLE", "RECORDS", "MISSING", "PCT_MISSING"])


_ORDER = {"STATUS": {"FAIL": 0, "NOT RUN": 1, "PASS": 2}, "SEVERITY": {"critical": 0, "warning": 1}}


def apply_downgrades(findings: pd.DataFrame, rule_ids: list[str], locked: bool) -> pd.DataFrame:
    """Turn named critical rules into warnings, for exploration only (never in a locked run)."""
    if not rule_ids:
        return findings
    if locked:
        raise ParamsError(f"qc.downgrade ({', '.join(rule_ids)}) is not allowed in a locked run")
    unknown = sorted(set(rule_ids) - set(findings["RULE_ID"]))
    if unknown:
        raise ParamsError(f"qc.downgrade names unknown rule(s): {', '.join(unknown)}")
    hit = findings["RULE_ID"].isin(rule_ids) & findings["SEVERITY"].eq("critical")
    findings = findings.copy()
    findings.loc[hit, "SEVERITY"] = "warning"
    findings.loc[hit, "DOWNGRADED"] = "critical -> warning (qc.downgrade)"
    return findings


def summary_text(result: QCResult) -> str:
    """Plain-text summary for the terminal: verdict, then every failed rule with its first
    offending records, each named by USUBJID and its identifying variables, e.g.
    ``QS QSSEQ=12 QSTESTCD=EOR0103 VISIT=WEEK 6 USUBJID=...: 9`` (all of them in details.csv)."""
    failed = result.failed
    n_crit = int(failed["SEVERITY"].eq("critical").sum())
    n_warn = int(failed["SEVERITY"].eq("warning").sum())
    n_down = len(result.downgraded)
    lines = [f"Data QC: {len(result.findings)} rules, {n_crit} critical and {n_warn} warning rule(s) failed"
             + (f" (of which {n_down} critical rule(s) downgraded to warnings by qc.downgrade)" if n_down else "")
             + (" -> STOP: critical findings" if n_crit else " -> OK to analyse")]
    details = result.details
    keys = ["RULE_ID", "DOMAIN", "VARIABLE"]
    by_rule = {key: rows for key, rows in details.groupby(keys, sort=False)} if len(details) else {}
    for row in failed.itertuples():
        where = row.DOMAIN + (f".{row.VARIABLE}" if row.VARIABLE else "")
        n = f"{int(row.N_FAIL)} record(s)" if pd.notna(row.N_FAIL) else ""
        lines.append(f"  {row.SEVERITY.upper():8} {row.RULE_ID:9} {where}: {row.RULE}"
                     + (f" - {n}" if n else "")
                     + (f"; USUBJID: {row.SUBJECTS}" if row.SUBJECTS else "")
                     + (f"; values: {row.VALUES}" if row.VALUES else "")
                     + (f" [{row.DOWNGRADED}]" if row.DOWNGRADED else ""))
        records = by_rule.get((row.RULE_ID, row.DOMAIN, row.VARIABLE))
        if records is None:
            continue
        for rec in records.head(MAX_RECORDS_PRINTED).itertuples():
            lines.append(f"      {rec.DOMAIN}" + (f" {rec.RECORD}" if rec.RECORD else "")
                         + f" USUBJID={rec.USUBJID}: {rec.VALUE}")
        total = int(row.N_FAIL) if pd.notna(row.N_FAIL) else len(records)
        if total > MAX_RECORDS_PRINTED:
            lines.append(f"      (+{total - MAX_RECORDS_PRINTED} more record(s); qc/details.csv lists up to "
                         f"{MAX_DETAILS_PER_RULE} per rule)")
    return "\n".join(lines)
