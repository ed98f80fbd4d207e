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
from mpmlib.validate import (EXPECTATIONS_DIR, QCResult, apply_downgrades, build_gx_suite, gx_context,
                             load_suites, summary_text, validate_sdtm)
from tests.conftest import external

DOMAINS = {"dm", "suppdm", "ex", "ae", "suppae", "rs", "tr", "tu", "qs", "ds", "cm", "lb"}


def test_one_suite_per_domain_and_every_expectation_survives_gx():
    suites = load_suites()
    assert set(suites) == DOMAINS
    context = gx_context()
    for domain, suite in suites.items():
        columns = sorted({e["kwargs"].get("column") for e in suite["expectations"] if "column" in e["kwargs"]}
                         | {"USUBJID", "QNAM", "RSTESTCD", "TRTESTCD", "QSTESTCD", "QSCAT", "LBTESTCD", "LBSTRESN"})
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
    result = validate_sdtm(project_root / "data" / "demo")
    assert result.passed and result.failed.empty
    assert set(result.received["DOMAIN"]) == {d.upper() for d in DOMAINS | {"sv"}}
    assert (result.findings["STATUS"] == "NOT RUN").sum() == 0


def test_pilot_quirks_are_reported(project_root):
    result = validate_sdtm(external("cdiscpilot01", "sdtm"))
    death = result.failed[(result.failed["RULE_ID"] == "X-007") & (result.failed["DOMAIN"] == "SV")]
    assert death["SUBJECTS"].tolist() == ["01-710-1083"] and death["SEVERITY"].tolist() == ["critical"]
    assert "2013-08-03 > death 2013-08-02" in death["VALUES"].iloc[0]
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
