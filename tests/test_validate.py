"""Data QC engine: suites load completely, rules report in one shape, downgrades obey locking,
and real quirks of the public data are found.

References: the public data's documented quirks (../shared/notes/external-data.md: the
response value "CHECK" in pharmaversesdtm rs_onco for 01-711-1143), and facts checked by hand in
the pilot SDTM (SV visit on 2013-08-03 for 01-710-1083 who died on 2013-08-02).
"""

import json

import pandas as pd
import pytest

from mpmlib.errors import ParamsError
from mpmlib.qc.findings import DETAIL_COLUMNS, FINDING_COLUMNS, record_details, record_text
from mpmlib.qc.gate import (EXPECTATIONS_DIR, QCResult, apply_downgrades, build_gx_suite, gx_context, load_suites,
                            summary_text, validate_run, validate_sdtm)
from mpmlib.settings.load import load_params, override_paths
from tests.conftest import external

DOMAINS = {"dm", "suppdm", "ex", "ae", "suppae", "rs", "tr", "tu", "qs", "ds", "cm", "lb", "dd"}


def test_one_suite_per_domain_and_every_expectation_survives_gx():
    suites = load_suites()
    assert set(suites) == DOMAINS
    context = gx_context()
    for domain, suite in suites.items():
        columns = sorted({e["kwargs"].get("column") for e in suite["expectations"] if "column" in e["kwargs"]}
                         | {"USUBJID", "QNAM", "RSTESTCD", "TRTESTCD", "QSTESTCD", "QSCAT", "LBTESTCD", "LBSTRESN", "DDTESTCD"})
        gx_suite, skipped = build_gx_suite(context, suite, columns)
        assert not skipped and len(gx_suite.expectations) == len(suite["expectations"]), domain
        for exp in gx_suite.expectations:
            assert exp.severity.value in ("critical", "warning") and exp.meta["rule_id"] and exp.meta["text"]


def test_a_misspelt_expectation_type_is_caught(tmp_path):
    suite = json.loads((EXPECTATIONS_DIR / "dm.json").read_text())
    suite["expectations"][0]["type"] = "expect_column_to_exits"
    with pytest.raises(ParamsError, match="GX dropped"):
        build_gx_suite(gx_context(), suite, ["USUBJID", "STUDYID", "ARMCD", "ARM"])


def test_suite_without_severity_is_rejected(tmp_path):
    suite = json.loads((EXPECTATIONS_DIR / "ae.json").read_text())
    del suite["expectations"][3]["severity"]
    (tmp_path / "ae.json").write_text(json.dumps(suite))
    with pytest.raises(ParamsError, match="severity"):
        load_suites(tmp_path)


def test_demo_is_clean(project_root):
    params = load_params(project_root / "params" / "demo.yaml")
    result = validate_sdtm(project_root / "data" / "demo", params=params)
    assert result.passed and result.failed.empty
    assert set(result.received["DOMAIN"]) == {d.upper() for d in DOMAINS | {"sv"}}
    assert (result.findings["STATUS"] == "NOT RUN").sum() == 0


def test_pilot_quirks_are_reported(project_root):
    result = validate_sdtm(external("cdiscpilot01", "sdtm"))
    death = result.failed[(result.failed["RULE_ID"] == "X-007") & (result.failed["DOMAIN"] == "SV")]
    assert death["SUBJECTS"].tolist() == ["01-710-1083"] and death["SEVERITY"].tolist() == ["critical"]
    assert "2013-08-03 > death 2013-08-02" in death["VALUES"].iloc[0]
    # the records by hand in the pilot SV: the visit after death, and the two visits numbered 9.2
    details = result.details[result.details["DOMAIN"].eq("SV")]
    assert details.loc[details["RULE_ID"].eq("X-007"), "RECORD"].tolist() == ["VISIT=WEEK 2 SVSTDTC=2013-08-03"]
    assert sorted(details.loc[details["RULE_ID"].eq("X-003"), "RECORD"]) == [
        "VISIT=UNSCHEDULED 9.2 SVSTDTC=2013-06-22", "VISIT=UNSCHEDULED 9.2 SVSTDTC=2013-09-22"]
    assert not result.passed
    absent = set(result.failed.loc[result.failed["RULE_ID"].str.endswith("-000"), "DOMAIN"])
    assert absent == {"RS", "TR", "TU", "QS"}                     # not an oncology trial


def test_pharmaverse_check_response_is_reported(project_root):
    result = validate_sdtm(external("pharmaversesdtm"), {"rs": "rs_onco.rda", "tu": "tu_onco.rda", "tr": "tr_onco.rda"})
    check = result.failed[result.failed["RULE_ID"] == "RS-007"]
    assert check["VALUES"].tolist() == ["CHECK"] and check["SUBJECTS"].tolist() == ["01-711-1143"]
    assert int(check["N_FAIL"].iloc[0]) == 3
    details = result.details[result.details["RULE_ID"] == "RS-007"]
    assert set(details["USUBJID"]) == {"01-711-1143"} and set(details["VALUE"]) == {"CHECK"}


def test_downgrade_only_for_exploration():
    findings = pd.DataFrame({"RULE_ID": ["X-007", "DM-003"], "SEVERITY": ["critical", "critical"],
                             "STATUS": ["FAIL", "PASS"], "DOWNGRADED": ["", ""]})
    out = apply_downgrades(findings, ["X-007"], locked=False)
    assert out["SEVERITY"].tolist() == ["warning", "critical"] and "qc.downgrade" in out["DOWNGRADED"][0]
    with pytest.raises(ParamsError, match="locked"):
        apply_downgrades(findings, ["X-007"], locked=True)
    with pytest.raises(ParamsError, match="unknown rule"):
        apply_downgrades(findings, ["X-999"], locked=False)


def test_results_round_trip_and_summary(tmp_path, project_root):
    result = validate_sdtm(project_root / "data" / "demo")
    result.save(tmp_path)
    back = QCResult.load(tmp_path)
    assert len(back.findings) == len(result.findings) and back.passed
    assert summary_text(result).startswith("Data QC: ") and "OK to analyse" in summary_text(result)


def test_valid_laboratory_data_outside_the_analysed_tests_is_not_a_finding(project_root, tmp_path):
    """SDTMIG LB: base excess may be negative and has no unit problem; a pH has no unit; the same
    test in two specimens (serum and urine glucose) at one visit and time is two records, not a
    duplicate (natural key includes LBSPEC). None of these may stop the analysis."""
    import shutil

    shutil.copytree(project_root / "data" / "demo", tmp_path / "sdtm")
    lb = pd.read_csv(tmp_path / "sdtm" / "lb.csv", dtype=str, keep_default_na=False)
    base = lb[lb["LBTESTCD"].eq("NEUT")].iloc[0]
    extra = []
    for seq, (code, value, unit, spec) in enumerate([("BE", "-3.5", "mmol/L", "BLOOD"), ("PH", "6.0", "", "URINE"),
                                                     ("GLUC", "5.4", "mmol/L", "SERUM"), ("GLUC", "0.0", "mmol/L", "URINE")]):
        extra.append(base.to_dict() | {"LBSEQ": str(900 + seq), "LBTESTCD": code, "LBTEST": code, "LBORRES": value,
                                       "LBSTRESC": value, "LBSTRESN": value, "LBORRESU": unit, "LBSTRESU": unit,
                                       "LBSPEC": spec, "LBORNRLO": "", "LBORNRHI": "", "LBSTNRLO": "", "LBSTNRHI": "",
                                       "LBNRIND": "", "LBBLFL": ""})
    pd.concat([lb, pd.DataFrame(extra)]).to_csv(tmp_path / "sdtm" / "lb.csv", index=False)
    result = validate_sdtm(tmp_path / "sdtm")
    assert result.passed, result.critical[["RULE_ID", "DOMAIN", "VARIABLE"]].to_dict("records")
    lb_failed = result.failed[result.failed["DOMAIN"].eq("LB")]
    assert not lb_failed["RULE_ID"].isin(["LB-009", "LB-010", "X-003"]).any(), lb_failed["RULE_ID"].tolist()


def test_a_record_is_named_by_its_sdtm_identifiers():
    """SDTM v1.7 identifier variables: --SEQ is "given to ensure uniqueness of subject records
    within a domain", --TESTCD names the test and VISIT the visit (VISITNUM where VISIT is blank);
    SDTMIG 3.3 §8.4: a SUPP-- record points at its parent record by IDVAR / IDVARVAL and is its
    QNAM. Hand-built records; DM has one record per subject, so USUBJID alone names it."""
    qs = pd.DataFrame({"USUBJID": ["S1", "S2"], "QSSEQ": [12.0, 3.0], "QSTESTCD": ["Q03", "Q04"],
                       "VISITNUM": [6.0, 99.0], "VISIT": ["WEEK 6", None]}, index=[40, 7])
    assert record_text("qs", qs).tolist() == ["QSSEQ=12 QSTESTCD=Q03 VISIT=WEEK 6", "QSSEQ=3 QSTESTCD=Q04 VISITNUM=99"]
    supp = pd.DataFrame({"USUBJID": ["S1"], "IDVAR": ["AESEQ"], "IDVARVAL": ["3"], "QNAM": ["AERELH1"]})
    assert record_text("suppae", supp).tolist() == ["AESEQ=3 QNAM=AERELH1"]
    assert record_text("dm", pd.DataFrame({"USUBJID": ["S1"], "AGE": [70.0]})).tolist() == [""]
    # SV has no --SEQ (SDTMIG 3.3 SV): its start date tells two records of one visit apart
    sv = pd.DataFrame({"USUBJID": ["S1", "S1"], "VISITNUM": [9.2, 9.2], "VISIT": ["UNSCHEDULED 9.2", None],
                       "SVSTDTC": ["2013-06-22", None]})
    assert record_text("sv", sv).tolist() == ["VISIT=UNSCHEDULED 9.2 SVSTDTC=2013-06-22", "VISITNUM=9.2"]
    rows = record_details("QS-006", "qs", "QSSTRESN", qs, [9.0, float("nan")])
    assert [list(r) for r in rows] == [DETAIL_COLUMNS] * 2
    assert rows[0] == {"RULE_ID": "QS-006", "DOMAIN": "QS", "VARIABLE": "QSSTRESN", "USUBJID": "S1", "SEQ": "12",
                       "TESTCD": "Q03", "VISITNUM": "6", "VISIT": "WEEK 6",
                       "RECORD": "QSSEQ=12 QSTESTCD=Q03 VISIT=WEEK 6", "VALUE": "9"}
    assert rows[1]["VISIT"] == "" and rows[1]["VALUE"] == "<missing>"
    assert record_details("QS-006", "qs", "QSSTRESN", qs.iloc[:0], []) == []


def _qc_result(downgraded: str = "") -> QCResult:
    """A hand-made QC result: one QS item out of range in 7 records (the first at QSSEQ=12)."""
    findings = pd.DataFrame([{"RULE_ID": "QS-006", "SEVERITY": "warning" if downgraded else "critical", "DOMAIN": "QS",
                              "VARIABLE": "QSSTRESN", "RULE": "QLQ-C30 items 1-28 scored 1-4", "STATUS": "FAIL",
                              "N_FAIL": 7, "SUBJECTS": "S1", "VALUES": "9", "DOWNGRADED": downgraded}],
                            columns=FINDING_COLUMNS)
    details = pd.DataFrame([{"RULE_ID": "QS-006", "DOMAIN": "QS", "VARIABLE": "QSSTRESN", "USUBJID": "S1",
                             "SEQ": str(12 + i), "TESTCD": "Q03", "VISITNUM": "6", "VISIT": "WEEK 6",
                             "RECORD": f"QSSEQ={12 + i} QSTESTCD=Q03 VISIT=WEEK 6", "VALUE": "9"} for i in range(7)],
                           columns=DETAIL_COLUMNS)
    received = pd.DataFrame([{"DOMAIN": "QS", "FILE": "qs.csv", "RECORDS": 7, "SUBJECTS": 1, "STATUS": "read"}])
    missing = pd.DataFrame(columns=["DOMAIN", "VARIABLE", "RECORDS", "MISSING", "PCT_MISSING"])
    return QCResult(findings, details, received, missing, {})


def test_summary_names_the_offending_records(tmp_path):
    """The printed message names each record (domain, --SEQ, --TESTCD, VISIT, USUBJID, value),
    the first five of a rule and how many more there are; the same after a CSV round trip
    (what `mpm validate` and `mpm report` print; hand-made result of 7 records)."""
    for result in (_qc_result(), None):
        if result is None:
            _qc_result().save(tmp_path)
            result = QCResult.load(tmp_path)
        text = summary_text(result)
        assert "QS QSSEQ=12 QSTESTCD=Q03 VISIT=WEEK 6 USUBJID=S1: 9" in text
        assert "QSSEQ=16 " in text and "QSSEQ=17 " not in text
        assert "(+2 more record(s); qc/details.csv lists up to 200 per rule)" in text
        assert "STOP" in text


def test_summary_counts_downgraded_critical_rules_apart():
    """A downgraded critical rule is reported as such, not as an ordinary warning (README, data QC:
    "shown as downgraded in the report")."""
    text = summary_text(_qc_result("critical -> warning (qc.downgrade)"))
    assert text.splitlines()[0] == ("Data QC: 1 rules, 0 critical and 1 warning rule(s) failed (of which 1 critical "
                                    "rule(s) downgraded to warnings by qc.downgrade) -> OK to analyse")


def test_a_rule_on_records_that_do_not_exist_is_not_run_not_passed(pilot_sdtm, project_root):
    """CDISC pilot SUPPAE/SUPPDM have none of the demo trial's QNAMs (AERELH1, AEIRFL, HISTOL,
    ECOG, PD1RES; plain check of QNAM below): rules limited to those records checked nothing and
    are NOT RUN, never PASS."""
    from mpmlib.settings.load import load_params
    from mpmlib.qc.gate import validate_sdtm

    present = set(pilot_sdtm["suppae"]["QNAM"]) | set(pilot_sdtm["suppdm"]["QNAM"])
    assert not {"AERELH1", "AEIRFL", "HISTOL", "ECOG", "PD1RES"} & present
    params = load_params(project_root / "params" / "cdiscpilot01.yaml")
    findings = validate_sdtm(params["sdtm"]["dir"], params["sdtm"]["files"], params["qc"]).findings.set_index("RULE_ID")
    for rule in ("SUPPAE-008", "SUPPAE-009", "SUPPDM-008", "SUPPDM-009", "SUPPDM-010"):
        assert findings.loc[rule, "STATUS"] == "NOT RUN", rule


# ---- the rule list in docs/data-spec.md, validate_run and DERIVE-001 -----------------------------

def documented_rules(project_root) -> dict[str, str]:
    """``{rule id: severity}`` from the table under "## Data-QC rules" in docs/data-spec.md."""
    text = (project_root / "docs" / "data-spec.md").read_text(encoding="utf-8")
    section = text.split("## Data-QC rules", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) >= 4 and cells[1] in ("critical", "warning"):
            assert cells[0] not in rows, f"{cells[0]} listed twice"
            rows[cells[0]] = cells[1]
    return rows


def test_the_documented_rule_list_equals_the_rules_in_code(project_root):
    """docs/data-spec.md lists every rule id with its severity (issue 14): the GX suites
    (expectations/*.json), the cross-domain X-nnn rules (mpmlib.qc.rules, from their
    docstrings), READ-001, the <DOMAIN>-000 "domain is provided" rules and DERIVE-001."""
    from mpmlib.qc.rules import rule_catalogue
    from mpmlib.qc.gate import DOMAIN_NEEDED

    in_code = {e["meta"]["rule_id"]: e["severity"] for suite in load_suites().values() for e in suite["expectations"]}
    in_code |= rule_catalogue()
    in_code |= {f"{d.upper()}-000": severity for d, severity in DOMAIN_NEEDED.items()}
    in_code |= {"READ-001": "critical", "DERIVE-001": "critical"}
    assert documented_rules(project_root) == in_code


def test_cross_domain_rules_report_the_severity_their_docstring_states(project_root):
    """Each X-nnn finding (PASS, FAIL or NOT RUN) has the severity of the rule catalogue, with
    and without parameters."""
    from mpmlib.qc.rules import rule_catalogue

    catalogue = rule_catalogue()
    params = load_params(project_root / "params" / "demo.yaml")
    for result in (validate_sdtm(project_root / "data" / "demo"),
                   validate_sdtm(project_root / "data" / "demo", params=params)):
        cross = result.findings[result.findings["RULE_ID"].str.startswith("X-")]
        assert set(cross["RULE_ID"]) == set(catalogue)
        assert (cross["SEVERITY"] == cross["RULE_ID"].map(catalogue)).all()


def test_validate_run_on_the_demo_derives_once(project_root):
    result = validate_run(load_params(project_root / "params" / "demo.yaml"))
    assert result.passed and result.failed.empty
    derive = result.findings[result.findings["RULE_ID"].eq("DERIVE-001")]
    assert derive["STATUS"].tolist() == ["PASS"]
    assert set(result.adam) == {"adsl", "adex", "adae", "adrs", "adtte", "adtr", "adqs"}
    assert int(result.adam["adsl"]["ENRLFL"].eq("Y").sum()) == 40


def test_a_derivation_error_is_the_critical_finding_DERIVE_001(project_root, monkeypatch):
    """Whatever stops `mpm derive` stops `mpm validate`: the DataError becomes a FAIL naming its
    domain, variable, subject and rule, and nothing is derived."""
    import mpmlib.derive.pipeline
    from mpmlib.errors import DataError

    def refuse(sdtm, params):
        raise DataError("QS", "QSSTRESN", "item response out of range 1-4", ["H101-MPM-201-01-0005\u200b"],
                        "values: 2.5")

    monkeypatch.setattr(mpmlib.derive.pipeline, "derive_all", refuse)
    result = validate_run(load_params(project_root / "params" / "demo.yaml"))
    assert result.passed is False and result.adam is None
    hit = result.failed[result.failed["RULE_ID"].eq("DERIVE-001")].iloc[0]
    assert (hit["SEVERITY"], hit["DOMAIN"], hit["VARIABLE"]) == ("critical", "QS", "QSSTRESN")
    assert hit["SUBJECTS"] == "H101-MPM-201-01-0005\\u200b"              # shown escaped
    assert "item response out of range 1-4 - values: 2.5" in hit["VALUES"]
    detail = result.details[result.details["RULE_ID"].eq("DERIVE-001")]
    assert detail["USUBJID"].tolist() == ["H101-MPM-201-01-0005\\u200b"]
    assert "DERIVE-001" in summary_text(result) and "STOP" in summary_text(result)


def test_a_downgraded_rule_does_not_let_a_failing_derivation_pass(project_root, tmp_path):
    """A real case: a fractional QLQ-C30 score (X-035) downgraded for exploration; the
    derivation then refuses it (ADQS) and validate_run reports that as DERIVE-001, so validate
    still does not say OK to a run that derive would stop."""
    import shutil

    folder = tmp_path / "sdtm"
    shutil.copytree(project_root / "data" / "demo", folder)
    qs = pd.read_csv(folder / "qs.csv", dtype=str, keep_default_na=False)
    row = qs.index[qs["USUBJID"].eq("H101-MPM-201-01-0005") & qs["QSTESTCD"].eq("EOR0109")][0]
    qs.loc[row, ["QSORRES", "QSSTRESC", "QSSTRESN"]] = "2.5"
    qs.to_csv(folder / "qs.csv", index=False)
    params = override_paths(load_params(project_root / "params" / "demo.yaml"), sdtm_dir=str(folder))
    params["qc"]["downgrade"] = ["X-035"]
    result = validate_run(params)
    assert result.passed is False and result.adam is None
    hit = result.failed[result.failed["RULE_ID"].eq("DERIVE-001")]
    assert hit["DOMAIN"].tolist() == ["QS"] and hit["SUBJECTS"].tolist() == ["H101-MPM-201-01-0005"]
    assert "2.5" in hit["VALUES"].iloc[0]


def test_messages_show_invisible_characters_escaped():
    rows = pd.DataFrame({"USUBJID": ["01-0003\u200b"], "AESEQ": [2.0], "AETERM": ["Fever\u00a0x"]})
    detail = record_details("X-017", "ae", "USUBJID", rows, ["01-0003\u200b"])[0]
    assert detail["USUBJID"] == "01-0003\\u200b" and detail["VALUE"] == "01-0003\\u200b"
    assert detail["RECORD"] == "AESEQ=2"
