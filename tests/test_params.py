"""Parameter files: defaults, path resolution, overrides and clear errors."""

import pytest

from mpmlib.errors import ParamsError
from mpmlib.settings.load import DEFAULTS, PROJECT_ROOT, load_params, override_paths


def write(tmp_path, text, name="run.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_and_output_named_after_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = load_params(write(tmp_path, "sdtm:\n  dir: data\n", "trial_x.yaml"))
    assert params["_name"] == "trial_x"
    assert params["output"]["dir"] == str(PROJECT_ROOT / "outputs" / "trial_x")
    assert params["sdtm"]["dir"] == str(PROJECT_ROOT / "data")
    assert params["adsl"]["reference_date"] == DEFAULTS["adsl"]["reference_date"] == "TRTSDT"


def test_relative_paths_in_a_parameter_file_are_from_the_project_root(monkeypatch):
    """A notebook opened in JupyterLab runs in notebooks/ with params_file="../params/demo.yaml":
    it must read the same SDTM folder as make does from the project root."""
    monkeypatch.chdir(PROJECT_ROOT / "notebooks")
    from_notebooks = load_params("../params/demo.yaml")
    monkeypatch.chdir(PROJECT_ROOT)
    from_root = load_params("params/demo.yaml")
    assert from_notebooks["sdtm"]["dir"] == from_root["sdtm"]["dir"] == str(PROJECT_ROOT / "data" / "demo")
    assert from_notebooks["output"]["dir"] == from_root["output"]["dir"] == str(PROJECT_ROOT / "outputs" / "demo")


def test_override_replaces_input_and_drops_file_mapping(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = load_params(write(tmp_path, "sdtm:\n  dir: a\n  files: {rs: rs_onco.rda}\n"))
    new = override_paths(params, sdtm_dir="b", out_dir="o")
    assert new["sdtm"]["dir"] == str(tmp_path / "b") and new["sdtm"]["files"] == {}
    assert new["output"]["dir"] == str(tmp_path / "o")
    assert params["sdtm"]["files"] == {"rs": "rs_onco.rda"}     # the original is untouched


def test_override_with_the_files_own_folder_keeps_the_mapping(tmp_path, monkeypatch):
    """mpm report hands every notebook the run's SDTM folder: naming the parameter file's own
    folder must not drop its per-file mapping (rs: rs_onco.rda), or notebooks would lose RS."""
    monkeypatch.chdir(tmp_path)
    params = load_params(write(tmp_path, "sdtm:\n  dir: a\n  files: {rs: rs_onco.rda}\n"))
    same = override_paths(params, sdtm_dir=params["sdtm"]["dir"])
    assert same["sdtm"]["files"] == {"rs": "rs_onco.rda"}


def test_efficacy_parameters_are_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text, message in (("efficacy: {km_conf_type: arcsin}", "km_conf_type"),
                          ("efficacy: {confirmation_days: -1}", "confirmation_days"),
                          ("efficacy: {assessment_schedule: [[1]]}", "assessment_schedule"),
                          ("efficacy: {dor_response: BOR}", "dor_response")):
        with pytest.raises(ParamsError, match=message):
            load_params(write(tmp_path, "sdtm: {dir: a}\n" + text + "\n"))


def test_environment_variables_in_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("MPM_EXTERNAL", str(tmp_path / "ext"))
    params = load_params(write(tmp_path, "sdtm:\n  dir: ${MPM_EXTERNAL}/pilot\n"))
    assert params["sdtm"]["dir"] == str(tmp_path / "ext" / "pilot")


@pytest.mark.parametrize("text, message", [
    ("sdtm: {dir: a}\nunknown_key: 1\n", "unknown key"),
    ("sdtm: {dir: a}\nadsl: {referense_date: TRTSDT}\n", "unknown key.*under adsl"),
    ("sdtm: {dir: a}\nadsl: {reference_date: FIRSTVISIT}\n", "reference_date must be"),
    ("adsl: {}\n", "sdtm.dir is required"),
    ("sdtm: [a, b\n", "not valid YAML"),
    ("sdtm:\n  dir: ${NOT_SET_ANYWHERE_X}/x\n", "undefined environment variable"),
    ("sdtm: {dir: a}\nadsl: {study_drugs: {H101: H101}}\n", "must be a list"),
    ("sdtm: {dir: a}\nadsl: {lab_baseline: {ratios: {NLRBL: NEUT}}}\n", "ratios must map"),
    ("sdtm: {dir: a}\nadsl: {lab_baseline: {tests: {AGE: AGE}}, covariates: {AGE: {source: SUPPDM, qnam: A}}}\n",
     "used elsewhere: AGE"),
    ("sdtm: {dir: a}\nadsl: {lab_baseline: {test: {}}}\n", "unknown key.*lab_baseline"),
    ("sdtm: {dir: a}\nstudy: {title: [a, b]}\n", "study.title must be text"),
    ("sdtm: {dir: a}\nreport: {mask_subject_ids: maybe}\n", "mask_subject_ids must be true or false"),
    ("sdtm: {dir: a}\nsafety: {immune_window_days: -1}\n", "immune_window_days must be null or"),
    ("sdtm: {dir: a}\nsafety: {window_any_drug_days: 2.5}\n", "window_any_drug_days must be null or"),
    ("sdtm: {dir: a}\nqol: {min_n_ci: 0}\n", "min_n_ci must be"),
])
def test_bad_parameter_files(tmp_path, text, message):
    with pytest.raises(ParamsError, match=message):
        load_params(write(tmp_path, text))


def test_lab_baseline_defaults_and_replacement(tmp_path):
    """A file's own lab tests / ratios replace the defaults (a mapping of the user's own names is
    not merged key by key); {} means none."""
    default = load_params(write(tmp_path, "sdtm: {dir: a}\n"))["adsl"]["lab_baseline"]
    assert default["ratios"] == {"NLRBL": ["NEUT", "LYM"]} and default["tests"]["NEUTBL"] == "NEUT"
    own = load_params(write(tmp_path, "sdtm: {dir: a}\nadsl:\n  lab_baseline: {tests: {PLATBL: PLAT}, ratios: {}}\n"))
    assert own["adsl"]["lab_baseline"] == {"tests": {"PLATBL": "PLAT"}, "ratios": {}}


def test_missing_file(tmp_path):
    with pytest.raises(ParamsError, match="parameter file not found"):
        load_params(tmp_path / "nope.yaml")


def test_shipped_parameter_files_load(project_root):
    for path in sorted((project_root / "params").glob("*.yaml")):
        assert load_params(path)["_name"] == path.stem


def test_factor_specifications_are_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = "sdtm: {dir: a}\nfactors:\n  multivariable: []\n  variables:\n"
    for spec, message in (("    - {var: AGE, label: Age, kind: continuous, cuts: 65}", "cuts must be a list"),
                          ("    - {var: SEX, label: Sex, kind: categorical, map: [F, M]}", "map must map"),
                          ("    - {var: AGE, label: Age, kind: continuous, unit: 0}", "unit must be a number > 0"),
                          ("    - {var: AGE, label: Age, kind: ordinal}", "kind must be categorical or continuous")):
        with pytest.raises(ParamsError, match=message):
            load_params(write(tmp_path, base + spec + "\n"))


@pytest.mark.parametrize("adsl_ref, eff_ref, expected", [
    ("TRTSDT", None, "first dose"), ("RANDDT", None, "randomisation"), ("RANDDT", "TTEREFDT", "randomisation"),
    ("RANDDT", "TRTSDT", "first dose"), ("TRTSDT", "RANDDT", "randomisation")])
def test_time_origin_in_words_follows_the_settings(tmp_path, adsl_ref, eff_ref, expected):
    """Run.time_origin: efficacy.reference_date, else (or when TTEREFDT) adsl.reference_date."""
    from mpmlib.notebook import Run

    eff = "" if eff_ref is None else f"\nefficacy: {{reference_date: {eff_ref}}}"
    params = load_params(write(tmp_path, f"sdtm: {{dir: a}}\nadsl: {{reference_date: {adsl_ref}}}{eff}\n"))
    assert Run(params=params, sdtm={}).time_origin == expected


# ---- unreadable files, dates and text keys (issue 14) -------------------------------------------

@pytest.mark.parametrize("content, offset, line", [
    ('study:\n  title: "Caf\xe9 trial"\n'.encode("cp1252"), 20, 2),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), 0, 1),
    (b"sdtm: {dir: a}\n# r\xc3\xa9sum\xc3\xa9 \xff\n", 26, 2),
])
def test_parameter_file_not_utf8_names_file_offset_and_line(tmp_path, content, offset, line):
    path = tmp_path / "run.yaml"
    path.write_bytes(content)
    with pytest.raises(ParamsError) as err:
        load_params(path)
    message = str(err.value)
    assert message.startswith(f"{path}: not UTF-8 text: byte 0x{content[offset]:02x} at offset {offset} (line {line})")
    assert "\n" not in message


def test_parameter_file_with_byte_order_mark_loads(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_bytes("\ufeffsdtm: {dir: a}\nstudy: {title: Étude}\n".encode("utf-8"))
    assert load_params(path)["study"]["title"] == "Étude"


@pytest.mark.parametrize("text, where", [
    ("sdtm: [a, b\n", "line 2, column 1"),
    ("sdtm:\n  dir: a\n   x: 1\n", "line 3, column 5: mapping values are not allowed here"),
    ("sdtm: {dir: a}\n\tadsl: 1\n", "line 2, column 1"),
])
def test_yaml_syntax_error_is_one_line_with_its_position(tmp_path, text, where):
    with pytest.raises(ParamsError, match="not valid YAML at ") as err:
        load_params(write(tmp_path, text))
    assert where in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("value, message", [
    ('"31/03/2026"', "data_cutoff must be a date written YYYY-MM-DD (ISO 8601), got '31/03/2026'"),
    ('"2026-02-30"', "data_cutoff '2026-02-30' is not a calendar date"),
    ("2026", "data_cutoff must be a date written YYYY-MM-DD (ISO 8601), got 2026"),
    ('"2026-03"', "got '2026-03'"),
    ("2026-03-31 12:00:00", "data_cutoff must be a date"),
    ("[2026, 3, 31]", "data_cutoff must be a date"),
])
def test_unparseable_data_cutoff_names_the_key(tmp_path, value, message):
    """A cut-off read the wrong way ("31/03/2026" as 3 December?, 2026 as 1 January) would move
    events in or out of every analysis with no finding: refused, naming data_cutoff."""
    with pytest.raises(ParamsError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_params(write(tmp_path, f"sdtm: {{dir: a}}\ndata_cutoff: {value}\n"))


@pytest.mark.parametrize("value", ["2026-03-31", '"2026-03-31"', "'2026-03-31'", "null"])
def test_data_cutoff_as_yaml_date_or_iso_text(tmp_path, value):
    params = load_params(write(tmp_path, f"sdtm: {{dir: a}}\ndata_cutoff: {value}\n"))
    assert params["data_cutoff"] == (None if value == "null" else "2026-03-31")


@pytest.mark.parametrize("key", ["title", "studyid", "description", "factors_question"])
@pytest.mark.parametrize("value", ["123", "[a, b]", "{a: 1}", "2026-01-01", "true"])
def test_study_text_keys_must_be_text(tmp_path, key, value):
    with pytest.raises(ParamsError, match=f"study.{key} must be text"):
        load_params(write(tmp_path, f"sdtm: {{dir: a}}\nstudy: {{{key}: {value}}}\n"))


@pytest.mark.parametrize("text, message", [
    ("sdtm: {dir: a, files: {rs: 5}}\n", "sdtm.files must map a domain to a file name"),
    ("sdtm: {dir: [a, b]}\n", "sdtm.dir must be text"),
    ("sdtm: {dir: a}\noutput: {dir: 3}\n", "output.dir must be text"),
    ("sdtm: {dir: a, max_file_mb: 0}\n", "sdtm.max_file_mb must be a number > 0"),
    ("sdtm: {dir: a, max_file_mb: big}\n", "sdtm.max_file_mb must be a number > 0"),
    ("sdtm: {dir: a, max_file_mb: true}\n", "sdtm.max_file_mb must be a number > 0"),
])
def test_sdtm_and_output_keys_are_checked(tmp_path, text, message):
    with pytest.raises(ParamsError, match=message):
        load_params(write(tmp_path, text))


def test_max_file_mb_can_be_raised(tmp_path):
    assert load_params(write(tmp_path, "sdtm: {dir: a, max_file_mb: 4096}\n"))["sdtm"]["max_file_mb"] == 4096
