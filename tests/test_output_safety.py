"""Output safety (issue 14): text from the parameter file and from the data is shown as written on
every report page, never as markup, and no CSV the report writes can start a spreadsheet formula.

References:
* OWASP Cross Site Scripting Prevention Cheat Sheet, rule 1 (HTML-encode untrusted data put in
  element content): a ``<script>`` or ``<img onerror>`` in a study title shows as text;
* CommonMark 0.31 sections 2.4 (backslash escapes), 6.3-6.6 (links, images, autolinks) and the GFM
  autolink extension: Markdown in parameter text makes no link, image or autolink (a
  ``javascript:`` link, or an image fetched from the network, which would also break "reports
  open offline");
* OWASP CSV Injection: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading
  apostrophe; numbers stay numbers (``mpmlib.csvsafe``);
* issue 14: invisible characters in identifiers and values are shown escaped (``\\u200b``,
  ``mpmlib.text.visible``).

One full report (module fixture, ~20 s) runs on a copy of the demo with a hostile parameter file
(title, description, factors question, a study-drug code, a covariate name and a factor label
holding HTML, Markdown links, images, autolinks and TeX math: a ``$\\frac$`` in a figure label
stopped the factors page with a mathtext error before ``notebook.setup`` turned math text off) and
hostile data (AE terms holding a script, an ``<img onerror>``, ``=HYPERLINK(...)`` and
``@SUM(...)``; subject H101-MPM-201-01-0001 with a zero-width space after its USUBJID in every
domain, a QC warning, X-018). The other tests call the renderers directly.
"""

from __future__ import annotations

import csv
import html
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mpmlib.settings.load import DEFAULTS, PROJECT_ROOT

MPM = [sys.executable, "-m", "mpmlib.cli"]
ZWSP = "\u200b"
PAYLOAD = ("<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) "
           "![pic](http://evil.example/x.png) http://evil.example/y www.evil.example a@evil.example $x$ _em_ *b*")
TITLE, DESCRIPTION, QUESTION = f"T {PAYLOAD}", f"D {PAYLOAD}\n# heading\n- item", f"Q {PAYLOAD}"
DRUG = "PD1<b>x</b>"                                   # a study-drug code (adsl.study_drugs key)
FACTOR = "Histology <img src=x onerror=alert(5)> $\\frac$ [l](javascript:alert(6))"
COVARIATE = "HIST<b>2</b>"                              # an ADSL covariate name (adsl.covariates key)
SUBJECT = "H101-MPM-201-01-0001"                       # dies in the demo: in the deaths listing
AE_TERMS = {  # (USUBJID, AESEQ) -> hostile AEDECOD / AETERM
    ("H101-MPM-201-01-0014", "8"): '=HYPERLINK("http://evil.example")',     # outside the TEAE window
    ("H101-MPM-201-01-0002", "1"): "<script>alert(7)</script>",
    ("H101-MPM-201-01-0003", "1"): "<img src=x onerror=alert(8)>",
    ("H101-MPM-201-01-0004", "1"): "@SUM(1+1)",
}


def run_env(tmp: Path) -> dict:
    """Jupyter, IPython and matplotlib state in the test's folder (HOME untouched)."""
    env = dict(os.environ, MPLBACKEND="Agg", JUPYTER_PLATFORM_DIRS="1")
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl")):
        env.setdefault(var, str(tmp / "jupyter-home" / sub))
        Path(env[var]).mkdir(parents=True, exist_ok=True)
    return env


def hostile_sdtm(folder: Path) -> Path:
    """The demo SDTM with hostile AE terms and a zero-width space after one USUBJID everywhere."""
    shutil.copytree(PROJECT_ROOT / "data" / "demo", folder)
    for path in sorted(folder.glob("*.csv")):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "USUBJID" in df.columns:
            df.loc[df["USUBJID"].eq(SUBJECT), "USUBJID"] = SUBJECT + ZWSP
        if path.stem == "ae":
            for (subject, seq), term in AE_TERMS.items():
                row = df["USUBJID"].eq(subject) & df["AESEQ"].eq(seq)
                assert row.sum() == 1, (subject, seq)
                df.loc[row, ["AETERM", "AEDECOD"]] = term
        df.to_csv(path, index=False)
    return folder


def hostile_params(path: Path, sdtm: Path) -> Path:
    raw = yaml.safe_load((PROJECT_ROOT / "params" / "demo.yaml").read_text())
    raw["sdtm"]["dir"] = str(sdtm.resolve())
    raw["study"].update(title=TITLE, description=DESCRIPTION, factors_question=QUESTION)
    raw["adsl"]["study_drugs"] = {"H101": ["H101"], DRUG: ["TORIPALIMAB"]}
    raw["adsl"]["covariates"][COVARIATE] = {"source": "SUPPDM", "qnam": "HISTOL"}   # a baseline row of page 00
    raw["safety"]["relationship"] = {"H101": {"qnam": "AERELH1"}, DRUG: {"qnam": "AERELPD"}}
    raw["safety"]["planned_dosing"] = {DRUG: raw["safety"]["planned_dosing"]["PD1"]}
    variables = [dict(v) for v in DEFAULTS["factors"]["variables"]]
    variables[0]["label"] = FACTOR                      # HISTOL: also a forest-plot label ($...$ is text)
    raw["factors"] = {"variables": variables}
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    params = hostile_params(tmp / "hostile.yaml", hostile_sdtm(tmp / "sdtm"))
    done = subprocess.run([*MPM, "report", "--params", str(params), "--out", str(tmp / "out")],
                          cwd=PROJECT_ROOT, env=run_env(tmp), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp / "out"


class Page(HTMLParser):
    """A page as a browser builds it: the elements with their attributes, and the text shown."""

    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.elements, self.scripts, self.chunks, self._in = [], [], [], None
        self.feed(source)
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)
        elif self._in != "style":
            self.chunks.append(data)


def pages(out: Path) -> dict[str, Page]:
    return {p.name: Page(p.read_text(encoding="utf-8")) for p in sorted((out / "report").glob("*.html"))}


def shown(value: str) -> str:
    return " ".join(value.split())


def test_no_page_runs_markup_from_parameters_or_data(hostile_report):
    """Every page: no script from the payloads, no event-handler attribute, no javascript: URL,
    no link to or resource from another host (the payloads' http://evil.example links, image
    and autolinks), no raw zero-width space."""
    found = pages(hostile_report)
    assert len(found) == 7, sorted(found)
    for name, page in found.items():
        raw = (hostile_report / "report" / name).read_text(encoding="utf-8")
        assert "<script>alert" not in raw and ZWSP not in raw, name
        assert not [s for s in page.scripts if "alert(" in s], name
        for tag, attrs in page.elements:
            assert not [a for a in attrs if a.startswith("on")], (name, tag, attrs)
            for key in ("href", "src"):
                url = (attrs.get(key) or "").strip().lower()
                assert not url.startswith(("javascript:", "http:", "https:", "//", "mailto:")), (name, tag, attrs)
        assert not re.search(r"<(a|img)\b[^>]*evil\.example", raw), name


def test_parameter_text_shows_as_written_on_every_page(hostile_report):
    """The title on the index and every page that names the study, the description on the
    index, the overview and the safety page (one line), the factors question on the factors
    page, the study-drug code, the covariate name and the factor label where they are used: all
    as typed."""
    found = pages(hostile_report)
    one_line = shown(DESCRIPTION)
    for name in ("index.html", "00_data_overview.html", "10_data_qc.html", "20_efficacy.html", "30_safety.html",
                 "40_qol.html"):
        assert shown(TITLE) in found[name].text, name
    for name in ("index.html", "00_data_overview.html", "30_safety.html"):
        assert one_line in found[name].text, name
    assert shown(QUESTION) in found["50_influencing_factors.html"].text
    assert f"Any TEAE related to {DRUG}" in found["30_safety.html"].text
    assert f"{DRUG}: administrations" in found["00_data_overview.html"].text
    assert shown(FACTOR) in found["50_influencing_factors.html"].text
    assert COVARIATE in found["00_data_overview.html"].text
    assert "index.html" in found and found["index.html"].elements[0][0] == "html"


def test_data_text_and_invisible_characters_are_escaped_on_the_pages(hostile_report):
    """AE terms with HTML show as text in the safety tables; the USUBJID with a zero-width space
    reads ``...0001\\u200b`` in the deaths listing and on the QC page (X-018, a warning)."""
    found = pages(hostile_report)
    safety, qc = found["30_safety.html"].text, found["10_data_qc.html"].text
    for term in AE_TERMS.values():
        assert term in safety, term
    assert SUBJECT + "\\u200b" in safety
    assert SUBJECT + "\\u200b" in qc and "X-018" in qc


def read_csv_cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_report_csvs_cannot_start_a_formula_and_keep_numbers(hostile_report):
    """Every CSV of the report (safety tables) and of qc/: no cell starts a formula; the hostile
    terms start with an apostrophe; numeric columns of the listings still parse as numbers."""
    starts = ("=", "+", "-", "@", "\t", "\r")
    number = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
    files = sorted((hostile_report / "report").glob("*.csv")) + sorted((hostile_report / "qc").glob("*.csv"))
    assert len(files) > 15
    for path in files:
        for row in read_csv_cells(path):
            bad = [c for c in row if c.startswith(starts) and not number.match(c)]
            assert not bad, (path.name, bad)
    cells = {path.name: {c for row in read_csv_cells(path) for c in row} for path in files}
    assert "'=HYPERLINK(\"http://evil.example\")" in cells["30_safety_outside_window.csv"]
    assert "'@SUM(1+1)" in cells["30_safety_soc_pt.csv"]
    assert "<script>alert(7)</script>" in cells["30_safety_soc_pt.csv"]     # text, as delivered
    listing = pd.read_csv(hostile_report / "report" / "30_safety_outside_window.csv")
    for column in ("#", "AESEQ", "Study day", "Grade"):
        assert pd.api.types.is_integer_dtype(listing[column]), column
    deaths = pd.read_csv(hostile_report / "report" / "30_safety_deaths.csv")
    assert pd.api.types.is_integer_dtype(deaths["Day of death"])
    assert (hostile_report / "report" / "30_safety_related_pd1_b_x__b_.csv").is_file()   # safety.table_name


def test_hostile_pages_request_nothing_from_the_network(hostile_report):
    """Headless Chromium, networking off (tests/browser.py): the index and the pages showing the
    payloads load without a request to another host (an image from the payload would be one)."""
    from browser import browser_or_skip, foreign_requests

    browser = browser_or_skip()
    try:
        for name in ("index.html", "00_data_overview.html", "30_safety.html", "50_influencing_factors.html"):
            seen = browser.visit((hostile_report / "report" / name).resolve().as_uri())
            foreign = foreign_requests(seen)
            assert not foreign, (name, foreign)
            assert not seen["errors"], (name, seen["errors"])
    finally:
        browser.close()


# ---- the renderers, directly ---------------------------------------------------------------------

def render_markdown(text: str) -> str:
    """Markdown as nbconvert renders a notebook's Markdown output (mistune, the report pages)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(text)


@pytest.mark.parametrize("raw", [
    "[click](javascript:alert(1))", "![pic](http://evil.example/x.png)", "see http://evil.example/y",
    "www.evil.example", "mail a@evil.example", "<http://evil.example>", "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>", "[x]: http://evil.example", "`code`", "$x<y$ and $$z$$",
    "- item", "1. item", "# heading", "a\n# heading\n- item\n\n---", "x | y | z", "~~gone~~", "&#60;b&#62;",
])
@pytest.mark.parametrize("prefix", ["", "**Study:** "])
def test_md_text_makes_no_markup_in_nbconverts_renderer(raw, prefix):
    """tables.md_text through nbconvert's own Markdown renderer, at the start of a line and after
    a label: one paragraph whose text is the input (line breaks as spaces), no other element."""
    from mpmlib.tables.format import md_text

    out = render_markdown(prefix + md_text(raw))
    page = Page(out)
    assert [tag for tag, _ in page.elements] == ["p"] + (["strong"] if prefix else []), out
    assert page.text == shown(("Study: " if prefix else "") + raw), out


def test_html_text_and_md_code():
    """html_text escapes quotes and shows invisibles; md_code keeps a plain name as code and
    falls back to escaped text when a backtick could end the code span."""
    from mpmlib.tables.format import html_text, md_code

    assert html_text('"<b>" & x\u200b') == "&quot;&lt;b&gt;&quot; &amp; x\\u200b"
    assert html_text("a\nb") == "a b"
    assert render_markdown(md_code("<b>NLR</b>")) == "<p><code>&lt;b&gt;NLR&lt;/b&gt;</code></p>\n"
    assert Page(render_markdown(md_code("a`<b>x</b>`"))).elements == [("p", {})]


def test_visible_frame_escapes_invisible_characters_once_and_leaves_clean_tables_alone():
    """Cells, index (also MultiIndex levels) and column names; numbers untouched; a table with
    nothing to escape is returned as is (its HTML byte-identical); long columns take the
    vectorised path."""
    from mpmlib.tables.format import frame_html, visible_frame

    clean = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "n": [1, -2.5]},
                         index=pd.MultiIndex.from_tuples([("SOC", "PT 1"), ("SOC", "PT 2")]))
    assert visible_frame(clean) is clean and frame_html(clean) == clean._repr_html_()
    index = pd.MultiIndex.from_tuples([("SOC\ufeff", "PT"), ("SOC\ufeff", "PT\u200b")])
    dirty = pd.DataFrame({"USUBJID\u00a0": ["S-1\u200b", None], "n": [1, 2]}, index=index)
    out = visible_frame(dirty)
    assert out.iloc[:, 0].tolist() == ["S-1\\u200b", None] and out["n"].tolist() == [1, 2]
    assert list(out.columns) == ["USUBJID\\xa0", "n"]
    assert out.index.tolist() == [("SOC\\ufeff", "PT"), ("SOC\\ufeff", "PT\\u200b")]
    assert dirty.iloc[0, 0] == "S-1\u200b"                                  # input unchanged
    long = pd.DataFrame({"ID": [f"S-{i}" for i in range(200)] + ["S-x\u200b"]})
    assert visible_frame(long)["ID"].iloc[-1] == "S-x\\u200b" and visible_frame(long)["ID"].iloc[0] == "S-0"
    html_out = frame_html(pd.DataFrame({"AETERM": ["<script>alert(1)</script>\u200b"]}))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\u200b" in html_out and "<script>" not in html_out


def test_listing_renderers_show_escaped_ids():
    """tables.subject_ids (every listing's subject column) and tables.html_table (the QC page)."""
    from mpmlib.tables.format import html_table, subject_ids

    ids = pd.Series([SUBJECT + ZWSP, "H101-MPM-201-01-0002"])
    assert subject_ids(ids, ids).tolist() == [SUBJECT + "\\u200b", "H101-MPM-201-01-0002"]
    assert subject_ids(ids, ids, mask=True).tolist() == ["Subject 001", "Subject 002"]
    table = html_table(pd.DataFrame({"USUBJID": ids, "VALUE": ["<img src=x onerror=alert(1)>", "=1+1"]}), text=True)
    assert SUBJECT + "\\u200b" in table and ZWSP not in table
    assert "&lt;img src=x onerror=alert(1)&gt;" in table and "<img" not in table


def test_export_csv_neutralises_formulas_and_keeps_clean_tables_byte_identical(tmp_path):
    """safety.export_csv writes through csvsafe: a formula cell or label gets an apostrophe,
    numbers (also negative ones, and text that is just a number) stay as they were; a table
    without such cells is written exactly as pandas' to_csv writes it."""
    from mpmlib.analysis.safety import export_csv

    clean = pd.DataFrame({"Total (N=3)": ["1 (33.3)", "-2.5"], "n": [-12.5, 3]},
                         index=pd.MultiIndex.from_tuples([("SOC", "All terms"), ("SOC", "Cough")]))
    hostile = pd.DataFrame({"Term": ['=HYPERLINK("http://x")', "+1+1", "-1", "@A1"], "Day": [-3, 0, 4, 5]},
                           index=pd.Index(["=cmd", "b", "c", "d"], name="-x"))
    paths = export_csv({"clean": clean, "hostile": hostile}, tmp_path)
    assert paths[0].read_bytes() == clean.to_csv(lineterminator="\n").encode()
    rows = read_csv_cells(paths[1])
    assert rows[0] == ["'-x", "Term", "Day"]
    assert rows[1:] == [["'=cmd", "'=HYPERLINK(\"http://x\")", "-3"], ["b", "'+1+1", "0"], ["c", "-1", "4"],
                        ["d", "'@A1", "5"]]
    with pytest.raises(ValueError):
        export_csv({"../outside": clean}, tmp_path)
