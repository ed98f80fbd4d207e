"""Locked analyses: what produced a report, frozen next to its parameter file.

``mpm lock --params params/<run>.yaml`` writes ``params/<run>.lock.json`` holding

* the SHA-256 of every input file (by SDTM domain),
* the parameter values (as loaded, defaults filled; the output folder excluded),
* the environment: SHA-256 of ``requirements.lock``, the Python version and every installed
  package version,
* the code commit (with ``+modified`` when the tree was dirty) and the lock date.

A run whose parameter file has a lock is a *locked run*: ``mpm report`` first compares the
current inputs, parameters and packages with the lock and refuses to run, naming each
difference, when anything differs; data-QC rules cannot be downgraded in a locked run. A run
without a lock is *exploratory*. The report's provenance says which (``provenance``).
"""

from __future__ import annotations

import copy
import datetime
import json
import platform
from importlib import metadata
from pathlib import Path

from mpmlib.sdtm import read as io
from mpmlib.errors import MpmError
from mpmlib.settings.load import PROJECT_ROOT

LOCK_VERSION = 1


def lock_path(params: dict) -> Path:
    """``params/<run>.lock.json`` beside the parameter file."""
    path = Path(params["_path"])
    return path.with_name(path.stem + ".lock.json")


def comparable_parameters(params: dict) -> dict:
    """Parameter values that define the analysis: without the private keys and the output
    folder (where results go does not change them); the input folder as written."""
    values = copy.deepcopy({k: v for k, v in params.items() if not k.startswith("_")})
    values.pop("output", None)
    values["sdtm"] = {"files": values["sdtm"].get("files", {})}
    return json.loads(json.dumps(values, sort_keys=True, default=str))


def environment() -> dict:
    """requirements.lock hash, Python version and every installed distribution's version."""
    requirements = PROJECT_ROOT / "requirements.lock"
    packages = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name:
            packages[name] = dist.version
    return {"requirements_lock_sha256": io.sha256_file(requirements) if requirements.is_file() else None,
            "python": platform.python_version(), "packages": dict(sorted(packages.items()))}


def input_hashes(params: dict) -> dict:
    files = io.find_domain_files(params["sdtm"]["dir"], params["sdtm"]["files"])
    return {domain.upper(): {"file": path.name, "sha256": io.sha256_file(path)} for domain, path in sorted(files.items())}


def build_lock(params: dict, today: datetime.date | None = None) -> dict:
    from mpmlib.report.pipeline import git_commit

    return {"lock_version": LOCK_VERSION, "locked_on": str(today or datetime.date.today()),
            "parameter_file": Path(params["_path"]).name, "code_commit": git_commit(),
            "inputs": input_hashes(params), "parameters": comparable_parameters(params),
            "environment": environment()}


def write_lock(params: dict) -> Path:
    """Write the lock (refusing QC downgrades: a locked analysis uses every rule as written)."""
    if params["qc"]["downgrade"]:
        raise MpmError(f"cannot lock {Path(params['_path']).name}: qc.downgrade "
                       f"({', '.join(params['qc']['downgrade'])}) is for exploration only")
    path = lock_path(params)
    path.write_text(json.dumps(build_lock(params), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_lock(params: dict) -> dict | None:
    path = lock_path(params)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MpmError(f"{path.name}: not a valid lock file ({exc.msg})") from None


def differences(params: dict, lock: dict) -> list[str]:
    """Every way the current run differs from its lock, one line each."""
    found = []
    current = input_hashes(params)
    for domain in sorted(set(lock["inputs"]) | set(current)):
        was, now = lock["inputs"].get(domain), current.get(domain)
        if was is None:
            found.append(f"input {now['file']} ({domain}) is new since the lock")
        elif now is None:
            found.append(f"input {was['file']} ({domain}) is missing")
        elif was != now:
            found.append(f"input {now['file']} ({domain}) changed: SHA-256 {now['sha256'][:12]}... "
                         f"(locked {was['sha256'][:12]}...)")
    found += [f"parameter {key} changed: {now!r} (locked {was!r})"
              for key, was, now in _diff_dicts(lock["parameters"], comparable_parameters(params))]
    env, locked_env = environment(), lock["environment"]
    if env["requirements_lock_sha256"] != locked_env["requirements_lock_sha256"]:
        found.append("requirements.lock changed since the lock")
    if env["python"] != locked_env["python"]:
        found.append(f"Python {env['python']} (locked {locked_env['python']})")
    for name in sorted(set(locked_env["packages"]) | set(env["packages"])):
        was, now = locked_env["packages"].get(name), env["packages"].get(name)
        if was != now:
            found.append(f"package {name} {now or 'not installed'} (locked {was or 'not installed'})")
    if params["qc"]["downgrade"]:
        found.append(f"qc.downgrade ({', '.join(params['qc']['downgrade'])}) is not allowed in a locked run")
    return found


def check_locked_run(params: dict) -> dict | None:
    """None for an exploratory run; the lock for a locked run whose inputs, parameters and
    packages all equal the lock; :class:`MpmError` listing every difference otherwise."""
    lock = read_lock(params)
    if lock is None:
        return None
    found = differences(params, lock)
    if found:
        shown = "\n  ".join(found[:20]) + (f"\n  (+{len(found) - 20} more)" if len(found) > 20 else "")
        raise MpmError(f"locked run refused: {lock_path(params).name} does not match this run:\n  {shown}\n"
                       f"Restore the locked inputs, or make a new lock (mpm lock) if the change is intended.")
    return lock


def _diff_dicts(old, new, prefix: str = ""):
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from _diff_dicts(old.get(key), new.get(key), f"{prefix}{key}.")
    elif old != new:
        yield prefix.rstrip("."), old, new
