"""Locked analyses: the lock refuses a one-byte change to an input and names the file, a changed
parameter and a QC downgrade; an unchanged locked run goes ahead and says it is locked.

Reference: issue 8's contract (README "Locked and exploratory runs")."""

from __future__ import annotations

import json
import shutil

import pytest

from mpmlib.errors import MpmError
from mpmlib.lock import check_locked_run, lock_path, write_lock
from mpmlib.settings.load import PROJECT_ROOT, load_params


@pytest.fixture()
def run(tmp_path):
    data = tmp_path / "sdtm"
    shutil.copytree(PROJECT_ROOT / "data" / "demo", data)
    text = (PROJECT_ROOT / "params" / "demo.yaml").read_text().replace("dir: data/demo", f"dir: {data}")
    path = tmp_path / "trial.yaml"
    path.write_text(text)
    return path, data


def test_unchanged_locked_run_passes(run):
    path, _ = run
    params = load_params(path)
    assert check_locked_run(params) is None                      # exploratory: no lock
    lock_file = write_lock(params)
    assert lock_file == lock_path(params) and lock_file.name == "trial.lock.json"
    lock = json.loads(lock_file.read_text())
    assert set(lock["inputs"]) >= {"DM", "AE", "RS", "QS"} and lock["environment"]["packages"]["pandas"]
    assert check_locked_run(load_params(path))["locked_on"] == lock["locked_on"]


def test_one_byte_change_to_an_input_is_refused_and_named(run):
    path, data = run
    write_lock(load_params(path))
    qs = data / "qs.csv"
    raw = bytearray(qs.read_bytes())
    raw[-2] = ord("3") if raw[-2] != ord("3") else ord("4")
    qs.write_bytes(bytes(raw))
    with pytest.raises(MpmError, match=r"locked run refused(.|\n)*input qs\.csv \(QS\) changed"):
        check_locked_run(load_params(path))


def test_changed_parameter_and_downgrade_are_refused(run):
    path, _ = run
    write_lock(load_params(path))
    path.write_text(path.read_text().replace("window_days: 30", "window_days: 28")
                    + "qc:\n  downgrade: [X-007]\n")
    with pytest.raises(MpmError) as err:
        check_locked_run(load_params(path))
    assert "parameter safety.window_days changed: 28 (locked 30)" in str(err.value)
    assert "qc.downgrade (X-007) is not allowed in a locked run" in str(err.value)


def test_a_run_with_downgrades_cannot_be_locked(run):
    path, _ = run
    path.write_text(path.read_text() + "qc:\n  downgrade: [X-007]\n")
    with pytest.raises(MpmError, match="exploration only"):
        write_lock(load_params(path))
