"""Analysis parameter files (``params/*.yaml``): load, fill defaults, resolve paths.

A parameter file names the input, the output and every setting a statistician might argue
about; the defaults live here, each with its reason. Relative paths are resolved against the
directory the command runs from (the project root for ``make``); ``${VAR}`` is expanded from
the environment, with ``MPM_EXTERNAL`` defaulting to ``../shared/external`` beside the project
(public CDISC data used by tests and the external parameter files).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import yaml

from .errors import ParamsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict = {
    "study": {"title": None, "studyid": None},
    "sdtm": {"dir": None, "files": {}},
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
    },
    "report": {"notebooks": ["00_data_overview", "10_data_qc"]},
    # Data QC (mpmlib.validate): rule ids downgraded from critical to warning, for exploration
    # only; a locked run (locked: true) refuses any downgrade.
    "qc": {"downgrade": [], "locked": False},
}


def load_params(path: str | Path) -> dict:
    """Read a parameter YAML file, fill defaults and resolve paths.

    Adds ``_path`` (absolute path of the file) and ``_name`` (its stem, the run name).
    Raises :class:`ParamsError` with the key at fault for anything malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"parameter file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
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
    params["sdtm"]["dir"] = str(resolve_path(params["sdtm"]["dir"]))
    out = params["output"]["dir"] or f"outputs/{path.stem}"
    params["output"]["dir"] = str(resolve_path(out))
    if params["data_cutoff"] is not None:
        params["data_cutoff"] = str(params["data_cutoff"])
    if params["adsl"]["reference_date"] not in ("TRTSDT", "RANDDT"):
        raise ParamsError(f"{path}: adsl.reference_date must be TRTSDT or RANDDT")
    if not isinstance(params["qc"]["downgrade"], list):
        raise ParamsError(f"{path}: qc.downgrade must be a list of rule ids")
    if params["qc"]["locked"] and params["qc"]["downgrade"]:
        raise ParamsError(f"{path}: qc.downgrade is not allowed in a locked run (qc.locked: true)")
    if params["adsl"]["ex_missing_end"] not in ("start", "ignore"):
        raise ParamsError(f"{path}: adsl.ex_missing_end must be start or ignore")
    for code, values in params["adsl"]["study_drugs"].items():
        if not isinstance(values, list) or not values:
            raise ParamsError(f"{path}: adsl.study_drugs.{code} must be a list of EXTRT values")
    return params


def override_paths(params: dict, sdtm_dir: str | None = None, out_dir: str | None = None) -> dict:
    """Apply ``--sdtm`` / ``--out``: a folder named on the command line replaces the file's
    input (and drops its per-file mapping) or output root."""
    params = copy.deepcopy(params)
    if sdtm_dir:
        params["sdtm"]["dir"] = str(resolve_path(sdtm_dir))
        params["sdtm"]["files"] = {}
    if out_dir:
        params["output"]["dir"] = str(resolve_path(out_dir))
    return params


def resolve_path(value: str | Path) -> Path:
    """Expand ``${VAR}`` (``MPM_EXTERNAL`` has a default) and make the path absolute."""
    env = dict(os.environ)
    env.setdefault("MPM_EXTERNAL", str(external_data_dir()))
    text = str(value)
    for key, val in env.items():
        text = text.replace("${" + key + "}", val)
    if "${" in text:
        raise ParamsError(f"undefined environment variable in path: {value}")
    return Path(text).expanduser().resolve()


def external_data_dir() -> Path:
    """Folder with the public CDISC data (``MPM_EXTERNAL`` or ``../shared/external``)."""
    return Path(os.environ.get("MPM_EXTERNAL", PROJECT_ROOT.parent / "shared" / "external")).resolve()


def _merge(base: dict, update: dict, where: str, prefix: str = "") -> dict:
    for key, value in update.items():
        if key in base and isinstance(base[key], dict) and base[key] and not isinstance(value, dict):
            raise ParamsError(f"{where}: {prefix}{key} must be a mapping")
        if key in base and isinstance(base[key], dict) and isinstance(value, dict) and base[key]:
            known = set(base[key])
            extra = sorted(set(value) - known)
            if extra and prefix + key not in ("adsl.study_drugs", "adsl.covariates", "sdtm.files"):
                raise ParamsError(f"{where}: unknown key(s) under {prefix}{key}: {', '.join(extra)}")
            _merge(base[key], value, where, f"{prefix}{key}.")
        else:
            base[key] = value
    return base
