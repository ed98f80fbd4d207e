"""The checks of a parameter file's values, each error naming the file and the key.

They run once, on the values merged into the defaults, before the typed model is built
(:meth:`mpmlib.settings.model.Settings._merge_and_check`): a statistician reads
"efficacy.km_conf_type must be one of log-log, log, plain", not a pydantic type error. The rule
"no QC downgrade in a locked run" is not here: it is :meth:`mpmlib.settings.model.QcSettings.locked_refusal`.
"""

from __future__ import annotations

from mpmlib.errors import ParamsError
from mpmlib.settings.vocabulary import FREE_FORM, KM_CONF_TYPES


def check_all(params: dict, where: str) -> dict:
    """Every check, in the order a parameter file has always been checked; ``params`` are the
    values merged into the defaults (``data_cutoff`` is normalised to its ISO text in place)."""
    check_sdtm(params["sdtm"], params["output"], where)
    params["data_cutoff"] = check_cutoff(params["data_cutoff"], where)
    if params["adsl"]["reference_date"] not in ("TRTSDT", "RANDDT"):
        raise ParamsError(f"{where}: adsl.reference_date must be TRTSDT or RANDDT")
    if not isinstance(params["qc"]["downgrade"], list):
        raise ParamsError(f"{where}: qc.downgrade must be a list of rule ids")
    if not isinstance(params["qc"]["locked"], bool):
        raise ParamsError(f"{where}: qc.locked must be true or false")
    for key in ("title", "studyid", "description", "factors_question"):
        if params["study"][key] is not None and not isinstance(params["study"][key], str):
            raise ParamsError(f"{where}: study.{key} must be text")
    if not isinstance(params["report"]["mask_subject_ids"], bool):
        raise ParamsError(f"{where}: report.mask_subject_ids must be true or false")
    if params["adsl"]["ex_missing_end"] not in ("start", "ignore"):
        raise ParamsError(f"{where}: adsl.ex_missing_end must be start or ignore")
    check_efficacy(params["efficacy"], where)
    check_safety(params["safety"], params["adsl"]["study_drugs"], where)
    check_qol(params["qol"], where)
    check_factors(params["factors"], where)
    check_lab_baseline(params["adsl"], where)
    for code, values in params["adsl"]["study_drugs"].items():
        if not isinstance(values, list) or not values:
            raise ParamsError(f"{where}: adsl.study_drugs.{code} must be a list of EXTRT values")
    return params


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
    if eff["km_conf_type"] not in KM_CONF_TYPES:
        raise ParamsError(f"{where}: efficacy.km_conf_type must be one of {', '.join(KM_CONF_TYPES)}")
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


#: The keys of one factor (mpmlib.settings.model.FactorSpec).
FACTOR_KEYS = {"var", "label", "kind", "reference", "map", "unit", "cuts"}


def check_factors(factors: dict, where: str) -> None:
    """Each factor names an ADSL variable, a label and a kind; continuous cuts are numbers."""
    names = []
    for i, spec in enumerate(factors["variables"]):
        if not isinstance(spec, dict) or not {"var", "label", "kind"} <= set(spec):
            raise ParamsError(f"{where}: factors.variables[{i}] needs var, label and kind")
        extra = sorted(map(str, set(spec) - FACTOR_KEYS))
        if extra:
            raise ParamsError(f"{where}: factors.variables[{i}]: unknown key(s) {', '.join(extra)}; "
                              f"allowed: {', '.join(sorted(FACTOR_KEYS))}")
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


def merge(base: dict, update: dict, where: str, prefix: str = "") -> dict:
    """Merge ``update`` (a parameter file's values) into ``base`` (the defaults) in place: nested
    sections key by key (an unknown key refused, named), FREE_FORM mappings replaced whole."""
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
            merge(base[key], value, where, f"{prefix}{key}.")
        else:
            base[key] = value
    return base
