"""Analysis parameter files (``params/*.yaml``): load into :class:`~mpmlib.settings.model.Settings`.

A parameter file names the input, the output and every setting a statistician might argue
about; the defaults live in the model (:mod:`mpmlib.settings.model`), each with its reason.
Relative paths in a parameter file are resolved against the project root (so a notebook opened in JupyterLab, whose working directory is
``notebooks/``, reads the same folders as ``make``); folders given on the command line
(``--sdtm``, ``--out``) against the directory the command runs from. ``${VAR}`` is expanded from
the environment, with ``MPM_EXTERNAL`` defaulting to ``../shared/external`` beside the project
(public CDISC data used by tests and the external parameter files).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from mpmlib.errors import ParamsError
from mpmlib.settings.model import SECTIONS, Settings, default_values

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def load_settings(path: str | Path) -> Settings:
    """Read a parameter YAML file, fill defaults, check every value and resolve paths.

    Parameters
    ----------
    path : str or Path
        The parameter file (``params/<run>.yaml``).

    Returns
    -------
    Settings
        With ``path`` (absolute path of the file) and ``name`` (its stem, the run name);
        ``sdtm.dir`` and ``output.dir`` absolute (``output.dir`` default: ``outputs/<name>``).

    Raises
    ------
    ParamsError
        Naming the file and the key at fault for anything malformed.
    """
    path = Path(path)
    if path.is_dir():
        raise ParamsError(f"parameter file is a folder: {path}")
    if not path.is_file():
        raise ParamsError(f"parameter file not found: {path}")
    raw = yaml_mapping(path)
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: must be a mapping of keys to values")
    unknown = sorted(set(raw) - set(SECTIONS) - {"data_cutoff"})
    if unknown:
        raise ParamsError(f"{path}: unknown key(s) {', '.join(unknown)}; "
                          f"allowed: {', '.join(sorted([*SECTIONS, 'data_cutoff']))}")
    settings = Settings.model_validate({**raw, "path": str(path.resolve()), "name": path.stem},
                                       context={"where": str(path)})
    if not settings.sdtm.dir:
        raise ParamsError(f"{path}: sdtm.dir is required (the folder holding the SDTM files)")
    settings.sdtm.dir = str(resolve_path(settings.sdtm.dir, PROJECT_ROOT))
    settings.output.dir = str(resolve_path(settings.output.dir or f"outputs/{path.stem}", PROJECT_ROOT))
    return settings


#: TRANSITIONAL (issue 15): the old name; removed once every caller uses load_settings.
load_params = load_settings

#: TRANSITIONAL (issue 15): the defaults as the old nested dict, computed from the model
#: (held once, there); removed once every caller uses ``Settings()``.
DEFAULTS: dict = default_values()


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


def override_paths(settings: Settings, sdtm_dir: str | None = None, out_dir: str | None = None) -> Settings:
    """Apply ``--sdtm`` / ``--out``: a folder named on the command line replaces the file's
    input (and drops its per-file mapping, unless it is the file's own folder) or output root.
    Returns a copy; ``settings`` is untouched."""
    settings = settings.model_copy(deep=True)
    if sdtm_dir and str(resolve_path(sdtm_dir)) != settings.sdtm.dir:
        settings.sdtm.dir = str(resolve_path(sdtm_dir))
        settings.sdtm.files = {}
    if out_dir:
        settings.output.dir = str(resolve_path(out_dir))
    return settings


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
