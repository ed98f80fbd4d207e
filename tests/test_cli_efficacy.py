"""`mpm derive` writes ADRS and ADTTE, also on the full pharmaverse rs_onco, whose one
non-RECIST value "CHECK" is left out with a warning naming the subject (as admiral does), and a
malformed RS gives one error line naming domain and variable, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from conftest import external
from mpmlib.settings.load import PROJECT_ROOT

MPM = [sys.executable, "-m", "mpmlib.cli"]


def test_derive_full_rs_onco_warns_about_check_and_writes_adrs(tmp_path):
    external("pharmaversesdtm", "rs_onco.rda")
    done = subprocess.run([*MPM, "derive", "--params", "params/pharmaverse-onco-full.yaml", "--out", str(tmp_path)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "warning: RS.RSSTRESC: 1 overall response record(s) not analysed" in done.stderr
    assert "CHECK [USUBJID: 01-711-1143]" in done.stderr
    adrs = pd.read_parquet(tmp_path / "adam" / "adrs.parquet")
    adtte = pd.read_parquet(tmp_path / "adam" / "adtte.parquet")
    assert adrs.query("PARAMCD == 'CBOR'")["AVALC"].value_counts()["CR"] == 8
    assert set(adtte["PARAMCD"]) == {"PFS", "OS", "DOR", "TTR"}


def test_rs_without_required_variable_is_one_clear_error(tmp_path):
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    for name in ("dm", "ex", "ds", "tu", "tr", "cm", "sv", "suppdm", "ae", "suppae", "qs"):
        source = PROJECT_ROOT / "data" / "demo" / f"{name}.csv"
        (sdtm / f"{name}.csv").write_bytes(source.read_bytes())
    rs = pd.read_csv(PROJECT_ROOT / "data" / "demo" / "rs.csv").drop(columns="RSSTRESC")
    rs.to_csv(sdtm / "rs.csv", index=False)
    done = subprocess.run([*MPM, "derive", "--params", "params/demo.yaml", "--sdtm", str(sdtm), "--out",
                           str(tmp_path / "out")], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "RS.RSSTRESC" in done.stderr
