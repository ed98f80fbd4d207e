"""Analysis parameter files (``params/*.yaml``): load, fill defaults, resolve paths.

A parameter file names the input, the output and every setting a statistician might argue
about; the defaults live here, each with its reason. Relative paths in a parameter file are
resolved against the project root (so a notebook opened in JupyterLab, whose working directory is
``notebooks/``, reads the same folders as ``make``); folders given on the command line
(``--sdtm``, ``--out``) against the directory the command runs from. ``${VAR}`` is expanded from
the environment, with ``MPM_EXTERNAL`` defaulting to ``../shared/external`` beside the project
(public CDISC data used by tests and the external parameter files).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import yaml

from mpmlib.errors import ParamsError

PROJECT_ROOT = Path(__file__).resolve().parents[2]

DEFAULTS: dict = {
    "study": {
        "title": None, "studyid": None,
        # What the trial tests, in one sentence, for page headers (e.g. "H101 intrapleural injection
        # with a PD-1 inhibitor"); text that describes the study comes from here, never from code,
        # so the same page is right on another trial. null = the title alone.
        "description": None,
        # The question the influencing-factors page explores, in the study's words (the demo:
        # reversing resistance to PD-1 inhibitors when H101 is added); null = a generic sentence
        # about baseline factors and the endpoints analysed.
        "factors_question": None,
    },
    "sdtm": {
        "dir": None, "files": {},
        # Largest domain file read (MB); a larger one is refused before it is read. The largest
        # domain of a 10,000-subject synthetic trial (QS) is 205 MB: 1024 is five times that
        # (mpmlib.sdtm.read, "Bounded resources"). Raise it for a trial that really is larger.
        "max_file_mb": 1024,
    },
    "output": {"dir": None},            # default: outputs/<parameter file stem>
    "data_cutoff": None,                # ISO date; default: latest complete date in the data
    "adsl": {
        # Time-to-event origin: first dose of any study drug (single-arm trial; FDA 2018 endpoint
        # guidance uses randomisation in randomised trials -> "RANDDT").
        "reference_date": "TRTSDT",
        # Study drugs and the EXTRT values that belong to each (ADSL: <CODE>SDT / <CODE>EDT).
        "study_drugs": {},
        # EX record without EXENDTC: "start" = single-day administration (end = start);
        # "ignore" = not used for the last dose date (admiral ad_adsl.R behaviour).
        "ex_missing_end": "start",
        # ARMCD values of subjects who were not enrolled (SDTMIG 3.3 DM assumptions).
        "not_enrolled_armcd": ["SCRNFAIL", "NOTASSGN"],
        # ADSL variable -> {source: SUPPDM, qnam: ..., type: text|number}
        "covariates": {},
        # Age groups for tables: cut points (years); "<65" / ">=65" by default (ICH E7).
        "age_groups": [65],
        # Baseline laboratory values and ratios from SDTM LB (mpmlib.derive.adsl.merge_lab_baseline):
        # baseline = last non-missing LBSTRESN on or before the first dose (TRTSDT), the ADaM
        # ABLFL rule of admiral (derive_var_extreme_flag, mode "last"); SDTM LBBLFL is not used.
        # tests: ADSL variable -> LBTESTCD; ratios: ADSL variable -> [numerator, denominator]
        # LBTESTCD, computed within one sample in one standard unit. NLR = neutrophils /
        # lymphocytes: prognostic in mesothelioma (Kao et al., Clin Cancer Res 2010;16:5805-13).
        # A file's own tests / ratios replace these (give {} for none).
        "lab_baseline": {
            "tests": {"NEUTBL": "NEUT", "LYMBL": "LYM", "ALBBL": "ALB", "LDHBL": "LDH"},
            "ratios": {"NLRBL": ["NEUT", "LYM"]},
        },
    },
    # Efficacy (mpmlib.derive.adrs / adtte, mpmlib.analysis.efficacy): RECIST 1.1 and FDA 2018 rules.
    "efficacy": {
        # RS evaluator whose responses are analysed (RSEVAL); the protocol's primary assessment.
        "evaluator": "INVESTIGATOR",
        # ADSL date that response windows and time to event count from; null = adsl.reference_date.
        "reference_date": None,
        # RECIST 1.1 §4.4: a CR/PR is confirmed by an assessment no less than 4 weeks later.
        "confirmation_days": 28,
        # RECIST 1.1 §4.4: SD must be met at least once no less than 6 weeks after the reference
        # date (the protocol's first scan); admiralonco uses 42 days.
        "sd_min_days": 42,
        # Assessments allowed between a response and its confirmation (admiralonco defaults).
        "max_ne_between": 1,
        "max_sd_between": 0,
        # Partial RSDTC (missing day): last day of the month (admiralonco ad_adrs.R template).
        "response_date_imputation": "last",
        # Denominator of response rates: ADSL flag (efficacy population: treated, measurable disease).
        "population": "EFFFL",
        # Null response rate for the one-sided exact binomial test of ORR (no worthwhile activity
        # after PD-1 failure; re-challenge with PD-1 alone gives about 5 %).
        "orr_null_rate": 0.05,
        "alpha": 0.05,
        # Kaplan-Meier CI transform: log-log (SAS PROC LIFETEST default) or log (R survival) or plain.
        "km_conf_type": "log-log",
        "landmark_months": [6, 12],
        # Protocol tumour assessment schedule [from study day, interval in days] and window, for
        # the FDA 2018 "event after two or more missed assessments" censoring rule (null: off).
        "assessment_schedule": [[1, 42], [169, 63]],
        "assessment_window_days": 7,
        "missed_assessments": 2,
        # FDA 2018: censor PFS at the last adequate assessment before new anticancer therapy (CM).
        "new_therapy_censoring": True,
        "new_therapy_cmcat": ["SUBSEQUENT ANTI-CANCER THERAPY"],
        # Responders for duration of response: CRSP (confirmed) or RSP (unconfirmed).
        "dor_response": "CRSP",
    },
    # Safety (mpmlib.derive.adae, mpmlib.analysis.safety).
    "safety": {
        # End of the treatment-emergent window: last dose of this study drug code (protocol:
        # "through 30 (+7) days after the last administration of H101"); null = last dose of any
        # study drug (TRTEDT). window_days null = no end window (the CDISC pilot's rule).
        "window_anchor": None,
        "window_days": 30,
        "grace_days": 7,
        # Second end of the window: last dose of ANY study drug + this many days (ICH E9-style
        # "30 days after the last dose of study treatment"). The window ends at the LATER of the
        # two ends, so AEs while a subject still receives another drug (the PD-1 inhibitor after
        # the last H101 dose) stay treatment-emergent. null = not applied.
        "window_any_drug_days": 30,
        # Immune-related AEs: sensitivity window, last dose of any study drug + this many days
        # (irAEs of PD-1 inhibitors may start months after the last dose; 90 days is the usual
        # immunotherapy reporting period). null = no sensitivity analysis.
        "immune_window_days": 90,
        # Relationship to each study drug: {CODE: {qnam: SUPPAE QNAM}} or {CODE: {variable: AEREL}}.
        "relationship": {},
        # Immune-related AE flag: {qnam: SUPPAE QNAM} (Y/N), or null when not collected.
        "immune_related": None,
        # Relationship values that count as related (the rest, e.g. NOT RELATED, UNLIKELY, REMOTE,
        # NONE, do not).
        "related_values": ["RELATED", "POSSIBLE", "PROBABLE", "DEFINITE", "POSSIBLY RELATED",
                           "PROBABLY RELATED", "DEFINITELY RELATED"],
        # AEACN values that mean the AE led to discontinuation of study treatment.
        "discontinuation_acn": ["DRUG WITHDRAWN"],
        # Table columns: actual (TRT01A) or planned (TRT01P) treatment; the population flag.
        "by": "TRT01A",
        "population": "SAFFL",
        # Most frequent TEAEs shown in the bar chart.
        "top_terms": 15,
        # Planned dose per administration and interval, for relative dose intensity in ADEX:
        # {CODE: {dose: 240, interval_days: 21}} (protocol schedule; drugs not listed get no RDI).
        "planned_dosing": {},
    },
    # Quality of life (mpmlib.derive.adqs, mpmlib.analysis.qol): EORTC QLQ-C30.
    "qol": {
        # Analysis visits: every interval_weeks weeks (target study day 7w + 1) +- window_days;
        # the protocol's questionnaire schedule follows the q6w tumour assessments.
        "interval_weeks": 6,
        "window_days": 14,
        # Clinically meaningful change (points): Osoba et al., J Clin Oncol 1998;16:139-144.
        "meaningful_change": 10,
        # Visits with fewer observations are left out of the mixed model.
        "min_n_model": 5,
        # By-visit summaries (tables and figures): no confidence interval for fewer observations.
        "min_n_ci": 3,
        # Scales shown in figures, the model and time to deterioration (all 15 + SUMSC in tables).
        "key_scales": ["QL2", "PF2", "RF2", "FA", "DY", "PA", "SUMSC"],
        "population": "SAFFL",
        # Questionnaires are expected until: "progression" (the protocol: at each tumour
        # assessment up to the first PD; death / last contact / cut-off end it earlier) or "study".
        "expected_until": "progression",
    },
    # Influencing factors (mpmlib.analysis.factors, mpmlib.analysis.models): ADSL variables explored against
    # response, PFS and OS. Continuous factors are analysed per `unit` and at the pre-specified
    # `cuts`; `map` pools or relabels levels; `reference` is the comparison level. Factors not in
    # ADSL are listed as absent. Baseline laboratory ratios (e.g. NLRBL) enter when ADSL has them.
    "factors": {
        "variables": [
            {"var": "HISTOL", "label": "Histology", "kind": "categorical", "reference": "Epithelioid",
             "map": {"EPITHELIOID": "Epithelioid", "BIPHASIC": "Non-epithelioid", "SARCOMATOID": "Non-epithelioid"}},
            {"var": "ECOGBL", "label": "ECOG performance status", "kind": "categorical", "reference": "0"},
            {"var": "PDL1TPS", "label": "PD-L1 tumour proportion score (%)", "kind": "continuous", "unit": 10,
             "cuts": [1, 50]},
            {"var": "PD1RES", "label": "PD-1 resistance", "kind": "categorical", "reference": "Primary",
             "map": {"PRIMARY": "Primary", "ACQUIRED": "Acquired"}},
            {"var": "PRIORLN", "label": "Prior systemic lines", "kind": "continuous", "unit": 1, "cuts": [2]},
            {"var": "H101RTE", "label": "H101 route", "kind": "categorical", "reference": "Intrapleural",
             "map": {"INTRAPLEURAL": "Intrapleural", "INTRATUMOR": "Intratumoral"}},
            {"var": "AGE", "label": "Age (years)", "kind": "continuous", "unit": 10, "cuts": [65]},
            {"var": "SEX", "label": "Sex", "kind": "categorical", "reference": "Male",
             "map": {"F": "Female", "M": "Male"}},
            # NLR < 5 vs >= 5: the cut-point of Kao et al., Clin Cancer Res 2010;16:5805-13 (173 MM
            # patients on systemic therapy; HR 2.7 for NLR >= 5), used in later MPM studies.
            {"var": "NLRBL", "label": "Neutrophil-to-lymphocyte ratio", "kind": "continuous", "unit": 1, "cuts": [5]},
        ],
        # Pre-specified multivariable model (few factors: ~40 subjects support very few).
        "multivariable": ["HISTOL", "ECOGBL", "PD1RES"],
        # Rule of thumb (Peduzzi et al. 1996): at least 10 events per model parameter.
        "min_events_per_variable": 10,
    },
    "report": {"notebooks": ["00_data_overview", "10_data_qc", "20_efficacy", "30_safety", "40_qol",
                             "50_influencing_factors"],
               # Listings show USUBJID (a study code, not a direct identifier) so a data manager can
               # find the record; true replaces it by "Subject 001".. (rank in ADSL) for external
               # circulation (mpmlib.tables.format.subject_ids).
               "mask_subject_ids": False},
    # Data QC (mpmlib.qc.gate): rule ids downgraded from critical to warning, for exploration
    # only; a locked run (locked: true) refuses any downgrade.
    "qc": {"downgrade": [], "locked": False},
}


def load_params(path: str | Path) -> dict:
    """Read a parameter YAML file, fill defaults and resolve paths.

    Adds ``_path`` (absolute path of the file) and ``_name`` (its stem, the run name).
    Raises :class:`ParamsError` with the key at fault for anything malformed.
    """
    path = Path(path)
    if path.is_dir():
        raise ParamsError(f"parameter file is a folder: {path}")
    if not path.is_file():
        raise ParamsError(f"parameter file not found: {path}")
    raw = yaml_mapping(path)
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: must be a mapping of keys to values")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ParamsError(f"{path}: unknown key(s) {', '.join(unknown)}; "
                          f"allowed: {', '.join(sorted(DEFAULTS))}")
    params = _merge(copy.deepcopy(DEFAULTS), raw, str(path))
    params["_path"] = str(path.resolve())
    params["_name"] = path.stem
    if not params["sdtm"]["dir"]:
        raise ParamsError(f"{path}: sdtm.dir is required (the folder holding the SDTM files)")
    check_sdtm(params["sdtm"], params["output"], str(path))
    params["sdtm"]["dir"] = str(resolve_path(params["sdtm"]["dir"], PROJECT_ROOT))
    out = params["output"]["dir"] or f"outputs/{path.stem}"
    params["output"]["dir"] = str(resolve_path(out, PROJECT_ROOT))
    params["data_cutoff"] = check_cutoff(params["data_cutoff"], str(path))
    if params["adsl"]["reference_date"] not in ("TRTSDT", "RANDDT"):
        raise ParamsError(f"{path}: adsl.reference_date must be TRTSDT or RANDDT")
    if not isinstance(params["qc"]["downgrade"], list):
        raise ParamsError(f"{path}: qc.downgrade must be a list of rule ids")
    if params["qc"]["locked"] and params["qc"]["downgrade"]:
        raise ParamsError(f"{path}: qc.downgrade is not allowed in a locked run (qc.locked: true)")
    for key in ("title", "studyid", "description", "factors_question"):
        if params["study"][key] is not None and not isinstance(params["study"][key], str):
            raise ParamsError(f"{path}: study.{key} must be text")
    if not isinstance(params["report"]["mask_subject_ids"], bool):
        raise ParamsError(f"{path}: report.mask_subject_ids must be true or false")
    if params["adsl"]["ex_missing_end"] not in ("start", "ignore"):
        raise ParamsError(f"{path}: adsl.ex_missing_end must be start or ignore")
    check_efficacy(params["efficacy"], str(path))
    check_safety(params["safety"], params["adsl"]["study_drugs"], str(path))
    check_qol(params["qol"], str(path))
    check_factors(params["factors"], str(path))
    check_lab_baseline(params["adsl"], str(path))
    for code, values in params["adsl"]["study_drugs"].items():
        if not isinstance(values, list) or not values:
            raise ParamsError(f"{path}: adsl.study_drugs.{code} must be a list of EXTRT values")
    return params


def yaml_mapping(path: Path):
    """The YAML document of ``path``: UTF-8 text (a leading byte-order mark allowed), else a
    :class:`ParamsError` naming the file, the byte offset and the line of the first byte that is
    not UTF-8; a YAML syntax error is one line with its line and column."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParamsError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ParamsError(f"{path}: not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
                          f"(line {line}); save the file as UTF-8") from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ParamsError(f"{path}: not valid YAML{where}: {' '.join(str(problem).split())}") from None


def check_cutoff(value, where: str) -> str | None:
    """``data_cutoff``: null, a YAML date or the text of a complete ISO 8601 calendar date
    (``YYYY-MM-DD``, ISO 8601-1:2019 section 5.2.2), returned as that text. Anything else
    (``31/03/2026``, ``2026-02-30``, ``2026``, a date-time) is a :class:`ParamsError`: a cut-off
    read the wrong way would move events in or out of every analysis without a finding."""
    import datetime
    import re

    if value is None:
        return None
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    text = value if isinstance(value, str) else None
    if text is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        raise ParamsError(f"{where}: data_cutoff must be a date written YYYY-MM-DD (ISO 8601), "
                          f"got {value!r}")
    try:
        return datetime.date.fromisoformat(text.strip()).isoformat()
    except ValueError as exc:
        raise ParamsError(f"{where}: data_cutoff {value!r} is not a calendar date ({exc})") from None


def check_sdtm(sdtm: dict, output: dict, where: str) -> None:
    """``sdtm.dir`` / ``output.dir`` are text, ``sdtm.files`` maps domains to file names,
    ``sdtm.max_file_mb`` is a number > 0."""
    for key, value in (("sdtm.dir", sdtm["dir"]), ("output.dir", output["dir"])):
        if value is not None and not isinstance(value, str):
            raise ParamsError(f"{where}: {key} must be text (a folder)")
    for domain, name in sdtm["files"].items():
        if not isinstance(domain, str) or not isinstance(name, str) or not name:
            raise ParamsError(f"{where}: sdtm.files must map a domain to a file name (got {domain!r}: {name!r})")
    limit = sdtm["max_file_mb"]
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0:
        raise ParamsError(f"{where}: sdtm.max_file_mb must be a number > 0 (megabytes)")


def check_efficacy(eff: dict, where: str) -> None:
    """The efficacy settings a statistician may change, checked before any data are read."""
    from mpmlib.analysis.stats import CONF_TYPES

    if eff["km_conf_type"] not in CONF_TYPES:
        raise ParamsError(f"{where}: efficacy.km_conf_type must be one of {', '.join(CONF_TYPES)}")
    if eff["reference_date"] not in (None, "TRTSDT", "RANDDT", "TTEREFDT"):
        raise ParamsError(f"{where}: efficacy.reference_date must be null, TRTSDT, RANDDT or TTEREFDT")
    if eff["dor_response"] not in ("CRSP", "RSP"):
        raise ParamsError(f"{where}: efficacy.dor_response must be CRSP or RSP")
    if eff["response_date_imputation"] not in ("first", "last", None):
        raise ParamsError(f"{where}: efficacy.response_date_imputation must be first, last or null")
    for key in ("confirmation_days", "sd_min_days", "max_ne_between", "max_sd_between", "assessment_window_days"):
        if not isinstance(eff[key], int) or eff[key] < 0:
            raise ParamsError(f"{where}: efficacy.{key} must be a whole number >= 0")
    if eff["missed_assessments"] is not None and (not isinstance(eff["missed_assessments"], int)
                                                  or eff["missed_assessments"] < 1):
        raise ParamsError(f"{where}: efficacy.missed_assessments must be null or a whole number >= 1")
    if not 0 < float(eff["orr_null_rate"]) < 1 or not 0 < float(eff["alpha"]) < 1:
        raise ParamsError(f"{where}: efficacy.orr_null_rate and efficacy.alpha must be between 0 and 1")
    schedule = eff["assessment_schedule"]
    if (not isinstance(schedule, list) or not schedule
            or not all(isinstance(r, list) and len(r) == 2 and all(isinstance(v, int) and v > 0 for v in r)
                       for r in schedule)):
        raise ParamsError(f"{where}: efficacy.assessment_schedule must be a list of [from study day, interval days]")


def check_safety(safety: dict, study_drugs: dict, where: str) -> None:
    """The safety settings, checked before any data are read."""
    anchor = safety["window_anchor"]
    if anchor is not None and anchor not in study_drugs:
        raise ParamsError(f"{where}: safety.window_anchor must be null or a code of adsl.study_drugs "
                          f"({', '.join(study_drugs) or 'none defined'})")
    for key in ("window_days", "grace_days", "window_any_drug_days", "immune_window_days"):
        value = safety[key]
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ParamsError(f"{where}: safety.{key} must be null or a whole number >= 0")
    for code, spec in (safety["relationship"] or {}).items():
        if not isinstance(spec, dict) or not ({"qnam"} <= set(spec) or {"variable"} <= set(spec)):
            raise ParamsError(f"{where}: safety.relationship.{code} must be {{qnam: QNAM}} or {{variable: AEREL}}")
    if safety["immune_related"] is not None and not (isinstance(safety["immune_related"], dict)
                                                      and "qnam" in safety["immune_related"]):
        raise ParamsError(f"{where}: safety.immune_related must be null or {{qnam: QNAM}}")
    for code, plan in (safety["planned_dosing"] or {}).items():
        if (code not in study_drugs or not isinstance(plan, dict)
                or not all(isinstance(plan.get(k), (int, float)) and plan.get(k) > 0 for k in ("dose", "interval_days"))):
            raise ParamsError(f"{where}: safety.planned_dosing.{code} must name a study drug and give dose > 0 "
                              "and interval_days > 0")
    if safety["by"] not in ("TRT01A", "TRT01P"):
        raise ParamsError(f"{where}: safety.by must be TRT01A or TRT01P")


def check_qol(qol: dict, where: str) -> None:
    """The quality-of-life settings, checked before any data are read."""
    for key in ("interval_weeks", "window_days", "meaningful_change", "min_n_model", "min_n_ci"):
        if not isinstance(qol[key], (int, float)) or qol[key] <= 0:
            raise ParamsError(f"{where}: qol.{key} must be a number > 0")
    if qol["expected_until"] not in ("progression", "study"):
        raise ParamsError(f"{where}: qol.expected_until must be progression or study")
    if 2 * qol["window_days"] >= 7 * qol["interval_weeks"]:
        raise ParamsError(f"{where}: qol.window_days must be less than half the visit interval")


def check_lab_baseline(adsl: dict, where: str) -> None:
    """``adsl.lab_baseline``: tests map ADSL names to an LBTESTCD, ratios to two LBTESTCDs; no
    name is used twice (nor by a covariate)."""
    lab = adsl["lab_baseline"]
    if not isinstance(lab, dict) or set(lab) - {"tests", "ratios"}:
        raise ParamsError(f"{where}: adsl.lab_baseline must be a mapping with tests and ratios")
    tests, ratios = lab.get("tests") or {}, lab.get("ratios") or {}
    if not isinstance(tests, dict) or not all(isinstance(v, str) and v for v in tests.values()):
        raise ParamsError(f"{where}: adsl.lab_baseline.tests must map ADSL variables to an LBTESTCD")
    if not isinstance(ratios, dict) or not all(isinstance(v, list) and len(v) == 2 and all(isinstance(c, str) for c in v)
                                               for v in ratios.values()):
        raise ParamsError(f"{where}: adsl.lab_baseline.ratios must map ADSL variables to [numerator, denominator] "
                          "LBTESTCDs")
    clash = sorted((set(tests) & set(ratios)) | ((set(tests) | set(ratios)) & set(adsl["covariates"])))
    if clash:
        raise ParamsError(f"{where}: adsl.lab_baseline names also used elsewhere: {', '.join(clash)}")


def check_factors(factors: dict, where: str) -> None:
    """Each factor names an ADSL variable, a label and a kind; continuous cuts are numbers."""
    names = []
    for i, spec in enumerate(factors["variables"]):
        if not isinstance(spec, dict) or not {"var", "label", "kind"} <= set(spec):
            raise ParamsError(f"{where}: factors.variables[{i}] needs var, label and kind")
        if spec["kind"] not in ("categorical", "continuous"):
            raise ParamsError(f"{where}: factors.variables[{i}].kind must be categorical or continuous")
        if not isinstance(spec.get("cuts", []), list) or not all(isinstance(c, (int, float)) for c in spec.get("cuts", [])):
            raise ParamsError(f"{where}: factors.variables[{i}].cuts must be a list of numbers")
        if not isinstance(spec.get("map", {}), dict):
            raise ParamsError(f"{where}: factors.variables[{i}].map must map data values to labels")
        if not isinstance(spec.get("unit", 1), (int, float)) or spec.get("unit", 1) <= 0:
            raise ParamsError(f"{where}: factors.variables[{i}].unit must be a number > 0")
        names.append(spec["var"])
    unknown = [v for v in factors["multivariable"] if v not in names]
    if unknown:
        raise ParamsError(f"{where}: factors.multivariable names factors not in factors.variables: {', '.join(unknown)}")


def override_paths(params: dict, sdtm_dir: str | None = None, out_dir: str | None = None) -> dict:
    """Apply ``--sdtm`` / ``--out``: a folder named on the command line replaces the file's
    input (and drops its per-file mapping, unless it is the file's own folder) or output root."""
    params = copy.deepcopy(params)
    if sdtm_dir and str(resolve_path(sdtm_dir)) != params["sdtm"]["dir"]:
        params["sdtm"]["dir"] = str(resolve_path(sdtm_dir))
        params["sdtm"]["files"] = {}
    if out_dir:
        params["output"]["dir"] = str(resolve_path(out_dir))
    return params


def resolve_path(value: str | Path, base: Path | None = None) -> Path:
    """Expand ``${VAR}`` (``MPM_EXTERNAL`` has a default) and make the path absolute (a relative
    path is taken from ``base``, by default the current directory)."""
    env = dict(os.environ)
    env.setdefault("MPM_EXTERNAL", str(external_data_dir()))
    text = str(value)
    for key, val in env.items():
        text = text.replace("${" + key + "}", val)
    if "${" in text:
        raise ParamsError(f"undefined environment variable in path: {value}")
    path = Path(text).expanduser()
    return (path if path.is_absolute() or base is None else Path(base) / path).resolve()


def external_data_dir() -> Path:
    """Folder with the public CDISC data (``MPM_EXTERNAL`` or ``../shared/external``)."""
    return Path(os.environ.get("MPM_EXTERNAL", PROJECT_ROOT.parent / "shared" / "external")).resolve()


#: Mappings whose keys are the user's own names: a parameter file's mapping replaces the default.
FREE_FORM = ("adsl.study_drugs", "adsl.covariates", "sdtm.files", "safety.relationship",
             "safety.planned_dosing", "adsl.lab_baseline.tests", "adsl.lab_baseline.ratios")


def _merge(base: dict, update: dict, where: str, prefix: str = "") -> dict:
    for key, value in update.items():
        if prefix + key in FREE_FORM:
            if value is not None and not isinstance(value, dict):
                raise ParamsError(f"{where}: {prefix}{key} must be a mapping")
            base[key] = value or {}
            continue
        if key in base and isinstance(base[key], dict) and base[key] and not isinstance(value, dict):
            raise ParamsError(f"{where}: {prefix}{key} must be a mapping")
        if key in base and isinstance(base[key], dict) and isinstance(value, dict) and base[key]:
            known = set(base[key])
            extra = sorted(set(value) - known)
            if extra:
                raise ParamsError(f"{where}: unknown key(s) under {prefix}{key}: {', '.join(extra)}")
            _merge(base[key], value, where, f"{prefix}{key}.")
        else:
            base[key] = value
    return base
