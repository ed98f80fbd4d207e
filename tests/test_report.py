"""The report pipeline end to end on the demo data: papermill -> normalise -> HTML -> index.

References: the reproducibility rules measured in ../shared/notes/toolchain.md §5 (two runs
must give byte-identical HTML), "reports open offline" (no network asset in any page), and
failure handling (a failing notebook exits non-zero, is named, and leaves no finished-looking
report).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mpmlib.errors import MpmError
from mpmlib.settings.load import PROJECT_ROOT, load_params, override_paths
from mpmlib.report.pipeline import build_report

MPM = [sys.executable, "-m", "mpmlib.cli"]


def run_env(tmp: Path) -> dict:
    env = dict(os.environ)
    local = tmp / "jupyter-home"
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl")):
        env.setdefault(var, str(local / sub))
        Path(env[var]).mkdir(parents=True, exist_ok=True)
    env["MPLBACKEND"] = "Agg"
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    return env


def local_jupyter(tmp_path: Path, monkeypatch) -> None:
    """Jupyter, IPython and matplotlib state in the test's own folder (HOME untouched)."""
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl")):
        (tmp_path / sub).mkdir(exist_ok=True)
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.fixture(scope="module")
def two_demo_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    outs = []
    for name in ("run1", "run2"):
        out = tmp / name
        done = subprocess.run([*MPM, "report", "--params", "params/demo.yaml", "--out", str(out)],
                              cwd=PROJECT_ROOT, env=run_env(tmp), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outs.append(out)
    return outs


def test_demo_report_is_complete(two_demo_runs):
    report = two_demo_runs[0] / "report"
    index = (report / "index.html").read_text()
    params = load_params(PROJECT_ROOT / "params" / "demo.yaml")
    for name in params["report"]["notebooks"]:
        assert f'href="{name}.html"' in index
        assert (report / f"{name}.html").stat().st_size > 10_000
    for needle in ("Data cut-off: <b>2026-03-31</b>", "git commit", "params/demo.yaml", "dm.csv", "pandas 2."):
        assert needle in index
    provenance = json.loads((report / "provenance.json").read_text())
    from mpmlib.sdtm.read import sha256_file
    assert provenance["inputs"]["DM"]["sha256"] == sha256_file(PROJECT_ROOT / "data" / "demo" / "dm.csv")
    assert (two_demo_runs[0] / "adam" / "adsl.parquet").is_file()


def test_reports_are_byte_identical_across_runs(two_demo_runs):
    first, second = (sorted(p.name for p in (run / "report").iterdir()) for run in two_demo_runs)
    assert first == second
    for name in first:
        assert (two_demo_runs[0] / "report" / name).read_bytes() == (two_demo_runs[1] / "report" / name).read_bytes(), name


def test_reports_open_offline_and_hide_code(two_demo_runs):
    for page in (two_demo_runs[0] / "report").glob("*.html"):
        text = page.read_text()
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?://", text), page.name
        assert "load_run(" not in text and "params_file =" not in text, page.name
        assert "Traceback" not in text and "Warning" not in text, page.name


def test_overview_counts_match_adsl(two_demo_runs):
    import pandas as pd

    adsl = pd.read_parquet(two_demo_runs[0] / "adam" / "adsl.parquet")
    html = (two_demo_runs[0] / "report" / "00_data_overview.html").read_text()
    enrolled = int(adsl["ENRLFL"].eq("Y").sum())
    treated = int(adsl["SAFFL"].eq("Y").sum())
    assert f"Total (N={enrolled})" in html
    assert f"{treated} ({100 * treated / enrolled:.1f})" in html


def test_failing_notebook_is_named_and_leaves_no_finished_report(tmp_path, monkeypatch):
    for var, value in run_env(tmp_path).items():
        monkeypatch.setenv(var, value)
    notebooks = tmp_path / "nbs"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("params_file = sdtm_dir = out_dir = adam_dir = None",
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("raise RuntimeError('deliberate failure')")]
    nbformat.write(nb, notebooks / "99_broken.ipynb")
    params = override_paths(load_params(PROJECT_ROOT / "params" / "demo.yaml"), out_dir=str(tmp_path / "out"))
    params["report"]["notebooks"] = ["99_broken"]
    (tmp_path / "out" / "report").mkdir(parents=True)
    (tmp_path / "out" / "report" / "index.html").write_text("stale")
    with pytest.raises(MpmError, match=r"notebook 99_broken failed in cell \d+: RuntimeError: deliberate failure"):
        build_report(params, notebooks_dir=notebooks)
    assert not (tmp_path / "out" / "report").exists()
    assert not (tmp_path / "out" / "report.partial").exists()
    assert (tmp_path / "out" / "failed" / "99_broken.ipynb").is_file()


def test_critical_qc_finding_stops_the_run_but_writes_the_qc_report(tmp_path):
    """The gate: a duplicate subject in DM is critical; the run exits non-zero, prints the
    finding (domain, variable, subject), writes the QC report and no analysis report."""
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    (sdtm / "dm.csv").write_text("STUDYID,USUBJID,ARMCD,ARM\nX,S1,A,Arm A\nX,S1,A,Arm A\n")
    done = subprocess.run([*MPM, "report", "--params", "params/demo.yaml", "--sdtm", str(sdtm),
                           "--out", str(tmp_path / "out")], cwd=PROJECT_ROOT, env=run_env(tmp_path),
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "CRITICAL" in done.stdout and "DM.USUBJID" in done.stdout and "S1" in done.stdout
    assert "data QC failed" in done.stderr and "Traceback" not in done.stderr + done.stdout
    report = tmp_path / "out" / "report"
    assert sorted(p.name for p in report.iterdir()) == ["10_data_qc.html", "index.html", "provenance.json"]
    assert "STOPPED" in (report / "index.html").read_text()
    assert "STOP: " in (report / "10_data_qc.html").read_text()
    assert not (tmp_path / "out" / "adam").exists()


def test_derive_cli_on_cdisc_pilot(tmp_path):
    """`mpm derive --params params/cdiscpilot01.yaml`: safety population 86 / 84 / 84 (published)."""
    import pandas as pd

    from tests.conftest import external

    external("cdiscpilot01", "sdtm")
    done = subprocess.run([*MPM, "derive", "--params", "params/cdiscpilot01.yaml", "--out", str(tmp_path)],
                          cwd=PROJECT_ROOT, env=run_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    adsl = pd.read_parquet(tmp_path / "adam" / "adsl.parquet")
    assert adsl[adsl["SAFFL"] == "Y"]["TRT01P"].value_counts().to_dict() == {
        "Placebo": 86, "Xanomeline High Dose": 84, "Xanomeline Low Dose": 84}


def test_efficacy_and_qol_reports_say_so_without_their_data(tmp_path, monkeypatch):
    """The CDISC pilot has no RS/TU/TR and no QS: the efficacy page is written, says so in each
    response section and still shows overall survival by arm; the QoL page says so."""
    local_jupyter(tmp_path, monkeypatch)
    from conftest import external

    external("cdiscpilot01", "sdtm")
    params = override_paths(load_params(PROJECT_ROOT / "params" / "cdiscpilot01.yaml"), None, str(tmp_path / "out"))
    params["report"]["notebooks"] = ["20_efficacy", "40_qol"]
    build_report(params)
    qol = (tmp_path / "out" / "report" / "40_qol.html").read_text()
    assert "No QS domain in this input" in qol and "Traceback" not in qol
    html = (tmp_path / "out" / "report" / "20_efficacy.html").read_text()
    assert "No tumour response data (RS) in this input" in html
    assert html.count("Not available: this input has no tumour response data (RS)") >= 4
    assert "Overall survival" in html and "Xanomeline High Dose" in html
    assert "Traceback" not in html


def test_every_page_opens_offline_in_chromium_without_errors(two_demo_runs):
    """Headless Chromium, networking off (every host unresolvable, proxy dead): each report page
    loads with no request to another host and no console error (issue 8; reviewers in hospitals
    open reports without network). .ci/run installs Debian's chromium and sets
    MPM_REQUIRE_BROWSER=1, so CI cannot skip this."""
    from browser import browser_or_skip, foreign_requests

    browser = browser_or_skip()
    try:
        for page in sorted((two_demo_runs[0] / "report").glob("*.html")):
            seen = browser.visit(page.resolve().as_uri())
            foreign = foreign_requests(seen)
            assert not foreign, f"{page.name} requests {foreign}"
            assert not seen["errors"], f"{page.name}: {seen['errors']}"
            assert any(u.startswith("file://") for u in seen["requests"]), page.name
    finally:
        browser.close()


def test_every_page_carries_provenance(two_demo_runs):
    report = two_demo_runs[0] / "report"
    for page in report.glob("*.html"):
        text = page.read_text()
        assert "EXPLORATORY" in text, page.name
        if page.name != "index.html":
            assert 'class="mpm-provenance"' in text and "pandas 2." in text and "dm.csv" in text, page.name


def test_incremental_report_reruns_only_what_a_qs_change_touches(tmp_path, monkeypatch, capsys):
    """A change to one QLQ-C30 answer changes ADQS only (QC findings stay the same): the quality-of-
    life page is executed again, every other page is carried over with the same content and a new
    provenance footer naming the changed input (issue 8, incremental runs)."""
    import shutil

    local_jupyter(tmp_path, monkeypatch)
    data = tmp_path / "sdtm"
    shutil.copytree(PROJECT_ROOT / "data" / "demo", data)
    params = override_paths(load_params(PROJECT_ROOT / "params" / "demo.yaml"), str(data), str(tmp_path / "out"))
    build_report(params)
    first = {p.name: p.read_bytes() for p in (tmp_path / "out" / "report").iterdir()}
    capsys.readouterr()
    qs = (data / "qs.csv").read_text().splitlines()
    row = next(i for i, line in enumerate(qs) if ",EOR0101," in line and ",1,1,," in line)
    qs[row] = qs[row].replace(",1,1,,", ",2,2,,", 1).replace("Not at All", "A Little", 1)
    (data / "qs.csv").write_text("\n".join(qs) + "\n")
    build_report(params)
    printed = capsys.readouterr().out
    executed = {line.split(":")[0].strip() for line in printed.splitlines() if ": executed (" in line}
    carried = {line.split(":")[0].strip() for line in printed.splitlines() if "carried over" in line}
    assert executed == {"40_qol"}, printed
    assert carried == {"00_data_overview", "10_data_qc", "20_efficacy", "30_safety", "50_influencing_factors"}
    second = {p.name: p.read_bytes() for p in (tmp_path / "out" / "report").iterdir()}

    def content(page: bytes) -> bytes:
        return re.sub(rb"<footer.*?</footer>", b"", page, flags=re.S)

    assert content(second["30_safety.html"]) == content(first["30_safety.html"])
    assert second["30_safety.html"] != first["30_safety.html"]          # the footer names the new QS hash
    assert content(second["40_qol.html"]) != content(first["40_qol.html"])
    assert second["30_safety_overview.csv"] == first["30_safety_overview.csv"]


@pytest.mark.parametrize("name", ["cdiscpilot01", "pharmaverse-onco", "pharmaverse-onco-full"])
def test_every_shipped_parameter_file_runs_end_to_end(name, tmp_path, monkeypatch):
    """Each parameter file for the public data in ../shared/external gives a complete report;
    notebooks whose domains are absent say so instead of failing (issue 8); no page or table of
    these other trials says anything about H101, PD-1, toripalimab or mesothelioma (text that
    describes the study comes from the parameter file: issue 13)."""
    local_jupyter(tmp_path, monkeypatch)
    params = load_params(PROJECT_ROOT / "params" / f"{name}.yaml")
    if not Path(params["sdtm"]["dir"]).is_dir():
        pytest.skip(f"external data not available: {params['sdtm']['dir']} (set MPM_EXTERNAL)")
    params = override_paths(params, None, str(tmp_path / "out"))
    index = build_report(params)
    report = index.parent
    for notebook in params["report"]["notebooks"]:
        page = (report / f"{notebook}.html").read_text()
        assert "Traceback" not in page and "Error" not in re.sub(r"<style.*?</style>", "", page, flags=re.S), notebook
    trial_words = re.compile(r"H101|PD-?1\b|toripalimab|mesothelioma", re.I)
    for path in sorted(report.glob("*.html")) + sorted(report.glob("*.csv")):
        text = re.sub(r"<style.*?</style>|<script.*?</script>|data:image/[^\"']+", "", path.read_text(), flags=re.S)
        found = sorted(set(trial_words.findall(text)))
        assert not found, f"{path.name}: {found}"


def test_notebooks_run_as_they_open_in_jupyterlab(tmp_path, monkeypatch):
    """An analyst opens a notebook in JupyterLab (working directory notebooks/) and runs it on
    its defaults: no injected parameters, ADaM derived in memory. Every notebook must run."""
    from mpmlib.report.pipeline import NOTEBOOKS_DIR, NotebookRunner

    local_jupyter(tmp_path, monkeypatch)
    names = load_params(PROJECT_ROOT / "params" / "demo.yaml")["report"]["notebooks"]
    with NotebookRunner(NOTEBOOKS_DIR) as runner:
        for name in names:
            nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
            runner.run(nb, name, tmp_path / f"{name}.ipynb", tmp_path / "failed")   # MpmError names a failing cell
            errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
            assert not errors and any(c.get("outputs") for c in nb.cells), name
    assert not list(NOTEBOOKS_DIR.glob("*.csv")), "a notebook on its defaults must not write into notebooks/"


def test_latest_data_date_takes_complete_dates_only():
    """The index's 'date of data': latest complete ISO 8601 date in any --DTC variable; partial
    dates and missing values are not dates of data; the time part is ignored."""
    import pandas as pd

    from mpmlib.report.pipeline import latest_data_date

    sdtm = {"ae": pd.DataFrame({"AESTDTC": ["2025-03-01", "2025-12", None, "2025-03-01"],
                                "AETERM": ["2099-01-01", "x", "y", "z"]}),
            "rs": pd.DataFrame({"RSDTC": ["2025-06-30T10:15", "2025", "2025-06-29"]})}
    assert latest_data_date(sdtm) == "2025-06-30"
    assert latest_data_date({"dm": pd.DataFrame({"RFSTDTC": [None, "2024-05"]})}) is None


def test_kernel_plan_is_fixed_and_balanced(monkeypatch):
    """Longest-processing-time-first over the kernels (Graham 1969), fixed by the notebook list:
    the same report always runs the same notebooks together; one kernel runs everything in
    report order; MPM_KERNELS overrides the core count, never beyond the number of notebooks."""
    from mpmlib.report.pipeline import NOTEBOOK_COST, kernel_plan, report_kernels

    names = ["00_data_overview", "10_data_qc", "20_efficacy", "30_safety", "40_qol", "50_influencing_factors"]
    plan = kernel_plan(names, 2)
    assert plan == kernel_plan(list(names), 2)
    assert sorted(n for p in plan for n in p) == sorted(names)
    assert all(p == sorted(p, key=names.index) for p in plan)
    loads = [sum(NOTEBOOK_COST[n] for n in p) for p in plan]
    assert max(loads) - min(loads) <= max(NOTEBOOK_COST.values())
    assert kernel_plan(names, 1) == [names]
    assert kernel_plan(["10_data_qc"], 2) == [["10_data_qc"]]
    monkeypatch.setenv("MPM_KERNELS", "3")
    assert report_kernels(6) == 3 and report_kernels(1) == 1


def test_a_page_does_not_depend_on_what_ran_before_it_in_its_kernel(two_demo_runs, tmp_path, monkeypatch):
    """The kernel pool runs several notebooks per kernel (KernelPool): each page must be the same
    when its notebook runs alone in a fresh kernel. Second implementation of the run: every
    notebook executed on its own kernel, against the pages of the full report, byte for byte."""
    from mpmlib.report.pipeline import NOTEBOOKS_DIR, collect_provenance, provenance_footer, render_notebook
    from mpmlib.sdtm import read as io

    local_jupyter(tmp_path, monkeypatch)
    run = two_demo_runs[0]
    params = override_paths(load_params(PROJECT_ROOT / "params" / "demo.yaml"), None, str(run))
    files = io.find_domain_files(params["sdtm"]["dir"], params["sdtm"]["files"])
    footer = provenance_footer(collect_provenance(params, files))
    for name in ("50_influencing_factors", "30_safety"):       # each shares a kernel in the full run
        render_notebook(name, NOTEBOOKS_DIR, tmp_path, tmp_path, tmp_path / "failed", params, run, footer)
        alone = (tmp_path / f"{name}.html").read_bytes()
        assert alone == (run / "report" / f"{name}.html").read_bytes(), name


# ---- data-QC verdict, index and the QC / overview pages (issue 13) ----------------------------------

def _qc(rows: list[tuple[str, str, str, str]]):
    """A hand-made QC result from (RULE_ID, DOMAIN, SEVERITY as applied, DOWNGRADED) of failed rules."""
    import pandas as pd

    from mpmlib.qc.findings import DETAIL_COLUMNS, FINDING_COLUMNS
    from mpmlib.qc.gate import QCResult

    findings = pd.DataFrame([{"RULE_ID": r, "SEVERITY": sev, "DOMAIN": d, "VARIABLE": "", "RULE": "rule text",
                              "STATUS": "FAIL", "N_FAIL": 1, "SUBJECTS": "S1", "VALUES": "v", "DOWNGRADED": down}
                             for r, d, sev, down in rows] + [
        {"RULE_ID": "DM-001", "SEVERITY": "critical", "DOMAIN": "DM", "VARIABLE": "USUBJID", "RULE": "present",
         "STATUS": "PASS", "N_FAIL": 0, "SUBJECTS": "", "VALUES": "", "DOWNGRADED": ""}], columns=FINDING_COLUMNS)
    return QCResult(findings, pd.DataFrame(columns=DETAIL_COLUMNS), pd.DataFrame(), pd.DataFrame(), {})


DOWN = "critical -> warning (qc.downgrade)"


def test_index_verdict_names_downgraded_critical_rules_apart_from_warnings():
    """README "Data QC and the gate": a critical rule downgraded by the parameter file is shown as a
    downgraded critical rule, not as a warning (the pilot's parameter file downgrades X-003 and
    X-007, the first failing in two domains); a stopped run names its critical rules."""
    from mpmlib.report.pipeline import qc_verdict, verdict_class

    pilot = _qc([("X-003", "SV", "warning", DOWN), ("X-003", "TV", "warning", DOWN), ("X-007", "SV", "warning", DOWN),
                 ("QS-000", "QS", "warning", "")])
    text = qc_verdict(pilot)
    assert text == ("Data QC passed: 2 critical rule(s) downgraded to warnings by the parameter file (X-003, X-007), "
                    "1 warning rule(s) failed; see the QC report.")
    assert verdict_class(text) == "warn"
    warnings_only = qc_verdict(_qc([("QS-000", "QS", "warning", "")]))
    assert warnings_only == "Data QC passed: 1 warning rule(s) failed; see the QC report."
    assert qc_verdict(_qc([])) == "Data QC passed." and verdict_class("Data QC passed.") == "ok"
    stopped = qc_verdict(_qc([("X-007", "AE", "critical", ""), ("QS-000", "QS", "warning", "")]))
    assert stopped == "STOPPED: 1 critical data-QC rule(s) failed (X-007); only the QC report was produced."
    assert verdict_class(stopped) == "stop"


def test_qc_page_tables_show_downgraded_critical_rules_as_such():
    """The QC page's banner and tables say the same as the index (README "Data QC and the gate"):
    the downgraded rules named in the banner, 'critical, downgraded' in the tables, listed after
    the critical and before the warning rules."""
    from mpmlib import tables

    qc = _qc([("QS-000", "QS", "warning", ""), ("X-007", "SV", "warning", DOWN), ("X-003", "SV", "warning", DOWN)])
    banner = tables.qc_verdict_html(qc.findings)
    assert ("PASS with downgraded critical rules: 2 critical rule(s) downgraded to warnings by the parameter file "
            "(X-003, X-007), 1 warning rule(s) failed") in banner
    failed = tables.qc_failed_table(qc.findings)
    assert failed[["Rule", "Severity"]].values.tolist() == [["X-007", "critical, downgraded"],
                                                            ["X-003", "critical, downgraded"], ["QS-000", "warning"]]
    rules = tables.qc_rules_table(qc.findings).set_index("Rule_Id")["Severity"]
    assert rules["X-007"] == "critical, downgraded" and rules["DM-001"] == "critical"
    stop = tables.qc_verdict_html(_qc([("X-007", "AE", "critical", "")]).findings)
    assert "STOP: 1 critical rule(s) failed" in stop
    # text listings left-aligned and wrapped; other tables keep the template's number layout
    listing = tables.html_table(failed, text=True)
    assert 'class="dataframe mpm-text"' in listing and "table.mpm-text tbody td" in listing
    assert "<style>" not in tables.html_table(failed) and "mpm-text" not in tables.html_table(failed)


GATE = "A failed critical rule stops the run, locked or exploratory"


def test_qc_gate_is_described_as_the_code_applies_it():
    """What the code does (mpmlib.report.pipeline.build_report: the gate is QCResult.passed whatever the
    run; test_critical_qc_finding_stops_the_run_but_writes_the_qc_report stops an exploratory demo
    run; tests/test_lock.py refuses qc.downgrade in a locked run): the README, the QC notebook and
    the QC page's STOP banner say the same, and that a locked run refuses any downgrade."""
    from mpmlib import tables

    readme = " ".join((PROJECT_ROOT / "README.md").read_text().split())
    notebook = " ".join(line.lstrip("# ") for line in (PROJECT_ROOT / "notebooks" / "10_data_qc.py").read_text().splitlines())
    banner = tables.qc_verdict_html(_qc([("X-007", "AE", "critical", "")]).findings)
    for where, text in (("README.md", readme), ("10_data_qc.py", notebook), ("STOP banner", banner)):
        assert GATE in text, where
    assert "A locked run (a lock file, or `qc: {locked: true}`) refuses any downgrade" in readme
    assert "A locked run refuses any downgrade" in " ".join(notebook.split())
    assert "stops a locked" not in readme + notebook and "locked analysis will not run" not in banner


def test_index_escapes_every_text_from_the_parameter_file():
    """OWASP output encoding: the title, description, data cut-off and run name come from the
    parameter file and are HTML-escaped on the index (html.escape), as are the notebook titles
    and the verdict."""
    from mpmlib.report.pipeline import index_html

    evil = "<script>alert(1)</script>"
    params = {"study": {"title": f"T {evil}", "description": f"D {evil} & <b>x</b>"}, "data_cutoff": f"2026 {evil}",
              "_name": f"run{evil}"}
    provenance = {"run": f"EXPLORATORY {evil}", "git_commit": evil, "parameter_file": evil,
                  "parameter_file_sha256": evil, "sdtm_dir": evil, "python": "3.11",
                  "packages": {"pandas": evil}, "inputs": {"DM": {"file": evil, "sha256": evil}}}
    page = index_html(params, [{"file": "10_data_qc.html", "title": f"QC {evil}"}], provenance, None,
                      f"Data QC passed: {evil}")
    assert "<script" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<p class="description">D &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;x&lt;/b&gt;</p>' in page
    assert '<p class="warn">' in page
    assert 'class="description"' not in index_html(dict(params, study={"title": "T", "description": None}),
                                                   [], provenance, None, "Data QC passed.")


TRIAL_WORDS = re.compile(r"H101|PD-?1|mesothelioma|toripalimab", re.I)


def test_overview_and_qc_notebooks_say_nothing_trial_specific():
    """Index link titles are the notebooks' first level-1 headings (report.notebook_title); the
    prose of notebooks 00 and 10 must fit any trial: trial text comes from the parameter file
    (study.title / description, factors.variables labels), never from the notebook."""
    from mpmlib.report.pipeline import NOTEBOOKS_DIR, notebook_title

    for name in ("00_data_overview", "10_data_qc"):
        nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
        title = notebook_title(nb)
        assert title and not TRIAL_WORDS.search(title), title
        for cell in nb.cells:
            text = cell.source if cell.cell_type == "markdown" else " ".join(re.findall(r'"[^"]*"', cell.source))
            assert not TRIAL_WORDS.search(text), f"{name}: {TRIAL_WORDS.search(text).group()} in {cell.source[:80]!r}"


def test_overview_and_qc_pages_escape_parameter_text_and_show_usubjid_for_qc(tmp_path, monkeypatch):
    """Notebooks 00 and 10 on a parameter file whose study text holds HTML and Markdown (OWASP
    output encoding: shown as written, never as markup; tables.md_text), with
    report.mask_subject_ids true and one planted QC warning (AEDECOD 'Fatige' not a CTCAE v5.0
    term, AESEQ 3 of 01-0003): the QC page still names the record by USUBJID and says why."""
    import shutil

    import pandas as pd
    import yaml

    from mpmlib.report.pipeline import NOTEBOOKS_DIR, render_notebook

    local_jupyter(tmp_path, monkeypatch)
    sdtm = tmp_path / "sdtm"
    shutil.copytree(PROJECT_ROOT / "data" / "demo", sdtm)
    ae = pd.read_csv(sdtm / "ae.csv", dtype=str, keep_default_na=False)
    ae.loc[ae["USUBJID"].eq("H101-MPM-201-01-0003") & ae["AESEQ"].eq("3"), "AEDECOD"] = "Fatige"
    ae.to_csv(sdtm / "ae.csv", index=False)
    raw = yaml.safe_load((PROJECT_ROOT / "params" / "demo.yaml").read_text())
    raw["study"].update(title="Trial <script>alert(1)</script> *A*", description="Tests <b>drug</b> [x](y)")
    raw["sdtm"]["dir"] = str(sdtm)
    raw["report"]["mask_subject_ids"] = True
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump(raw))
    params = override_paths(load_params(tmp_path / "evil.yaml"), None, str(tmp_path / "out"))
    for name in ("00_data_overview", "10_data_qc"):
        render_notebook(name, NOTEBOOKS_DIR, tmp_path, tmp_path, tmp_path / "failed", params, tmp_path / "out")
        page = (tmp_path / f"{name}.html").read_text()
        assert "<script>alert" not in page and "<b>drug</b>" not in page and "<em>A</em>" not in page, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt; *A*" in page, name
    assert "Tests &lt;b&gt;drug&lt;/b&gt; [x](y)" in (tmp_path / "00_data_overview.html").read_text()
    qc = (tmp_path / "10_data_qc.html").read_text()
    assert "this page always shows USUBJID" in qc and "report.mask_subject_ids" in qc
    assert "H101-MPM-201-01-0003" in qc and "AESEQ=3" in qc and "Fatige" in qc


def test_safety_page_key_follows_the_death_domains(tmp_path):
    """The safety page reads DS and DD (cause of death) besides ADaM: a change to either changes
    its cache key, so a corrected cause of death re-runs the page; a QS change does not."""
    from mpmlib.report.pipeline import NOTEBOOKS_DIR, notebook_key

    params = override_paths(load_params(PROJECT_ROOT / "params" / "demo.yaml"), None, str(tmp_path / "out"))
    files = {}
    for domain in ("ds", "dd", "qs"):
        files[domain] = tmp_path / f"{domain}.csv"
        files[domain].write_text("a\n1\n")
    key = lambda: notebook_key("30_safety", NOTEBOOKS_DIR, params, tmp_path / "out", files)  # noqa: E731
    first = key()
    files["qs"].write_text("a\n2\n")
    assert key() == first
    files["dd"].write_text("a\n2\n")
    second = key()
    assert second != first
    files["ds"].write_text("a\n2\n")
    assert key() != second


@pytest.mark.parametrize("notebook", sorted(p.stem for p in (PROJECT_ROOT / "notebooks").glob("*.ipynb")))
def test_notebook_cells_are_short_and_committed_without_outputs(notebook):
    """DEVELOPERS.md: every code cell <= 15 lines (logic belongs in mpmlib), notebooks committed
    without outputs, and the .ipynb in step with its jupytext .py pair."""
    import jupytext

    path = PROJECT_ROOT / "notebooks" / f"{notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    too_long = [c.source.splitlines()[0] for c in code if len(c.source.splitlines()) > 15]
    assert not too_long, too_long
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    paired = jupytext.read(path.with_suffix(".py"))
    assert [c.source for c in paired.cells] == [c.source for c in nb.cells]
