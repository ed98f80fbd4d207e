"""Bad input through the ``mpm`` command: one line naming what and where, exit status 2, never a
traceback (issue 14; DEVELOPERS.md "Bad input gets a clear error").

Each case writes one defect into a copy of the demo SDTM (data/demo, 40 enrolled subjects) or of
its parameter file and runs ``mpmlib.cli.main`` in this process (the Great Expectations import is
paid once); three of the worst cases also run as real processes. The reading rules are in the
docstrings of mpmlib.sdtm.read (files), mpmlib.settings.load (parameter files) and mpmlib.cli (paths, OSError).
Where a defect could have changed numbers instead of failing (typed dates, factors), the ADaM
datasets are compared with those derived from the CSV demo.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mpmlib.cli import main
from mpmlib.settings.load import PROJECT_ROOT

DEMO = PROJECT_ROOT / "data" / "demo"
SUBJECT = "H101-MPM-201-01-0003"


# ---- helpers ----------------------------------------------------------------------------------

def demo_copy(tmp_path: Path, name: str = "sdtm") -> Path:
    folder = tmp_path / name
    shutil.copytree(DEMO, folder)
    return folder


def params_copy(tmp_path: Path, **changes) -> Path:
    """The demo parameter file in ``tmp_path`` (a lock is written beside it, never in params/),
    with top-level keys replaced by ``changes``."""
    params = yaml.safe_load((PROJECT_ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
    params["sdtm"]["dir"] = str(DEMO)
    params.update(changes)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


def mpm(capsys, command: str, tmp_path: Path, sdtm: Path | None = None, params: Path | None = None,
        out: Path | None = None) -> tuple[int, str, str]:
    """Run ``mpm <command>`` in-process; no traceback may reach stdout or stderr."""
    argv = [command, "--params", str(params or params_copy(tmp_path)), "--out", str(out or tmp_path / "out")]
    if sdtm is not None:
        argv += ["--sdtm", str(sdtm)]
    status = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return status, captured.out, captured.err


def one_error_line(err: str, command: str) -> str:
    """stderr is exactly one line, ``mpm <command>: error: ...``; returned without the prefix."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"mpm {command}: error: ")
    return lines[0][len(f"mpm {command}: error: "):]


def adam_frames(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


@pytest.fixture(scope="module")
def csv_adam(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """ADaM derived from the CSV demo: the reference for the typed-format copies."""
    tmp = tmp_path_factory.mktemp("csv")
    assert main(["derive", "--params", str(params_copy(tmp)), "--out", str(tmp / "out")]) == 0
    return adam_frames(tmp / "out" / "adam")


def assert_same_adam(capsys, tmp_path, sdtm, csv_adam):
    status, out, _ = mpm(capsys, "validate", tmp_path, sdtm)
    assert status == 0, out
    status, _, err = mpm(capsys, "derive", tmp_path, sdtm)
    assert status == 0, err
    adam = adam_frames(tmp_path / "out" / "adam")
    assert set(adam) == set(csv_adam)
    for name, frame in csv_adam.items():
        pd.testing.assert_frame_equal(adam[name], frame, obj=name)


# ---- typed formats: the same numbers as the CSV demo ---------------------------------------------

def test_parquet_with_typed_dates_and_dictionaries_gives_the_csv_adam(tmp_path, capsys, csv_adam):
    """DM, AE, EX, DS and RS as Parquet with every complete --DTC typed (date32 or timestamp[ns])
    and text columns dictionary-encoded (pandas Categorical): validate passes, derive gives the
    ADaM of the CSV demo (before the fix: a traceback in validate, a DataError in derive)."""
    sdtm = demo_copy(tmp_path)
    typed = []
    for domain in ("dm", "ae", "ex", "ds", "rs"):
        df = pd.read_csv(sdtm / f"{domain}.csv", dtype=str, keep_default_na=False)
        for col in [c for c in df.columns if c.endswith("DTC")]:
            if df[col].str.len().isin([0, 10]).all():              # complete dates only can be typed
                stamps = pd.to_datetime(df[col].replace("", None))
                df[col] = stamps.dt.date if len(typed) % 2 else stamps      # date32 or timestamp[ns]
                typed.append(f"{col}:{df[col].dtype}")
        for col in ("DOMAIN", "STUDYID", f"{domain.upper()}TESTCD", "VISIT", "ARMCD"):
            if col in df.columns:
                df[col] = df[col].astype("category")
        (sdtm / f"{domain}.csv").unlink()
        df.to_parquet(sdtm / f"{domain}.parquet", index=False)
    assert "EXSTDTC:datetime64[ns]" in typed and "AEENDTC:object" in typed and len(typed) >= 6, typed
    assert_same_adam(capsys, tmp_path, sdtm, csv_adam)


def test_rda_with_factors_gives_the_csv_adam(tmp_path, capsys, csv_adam):
    """DM, AE, SUPPAE, SUPPDM and EX as R .rda files whose every column is a factor (R's
    stringsAsFactors = TRUE; written with pyreadr, which writes Categorical columns as factors):
    numeric SDTM variables (AGE, AESEQ, EXDOSE...) come from the factor levels as numbers."""
    import pyreadr

    sdtm = demo_copy(tmp_path)
    for domain in ("dm", "ae", "suppae", "suppdm", "ex"):
        df = pd.read_csv(sdtm / f"{domain}.csv", dtype=str, keep_default_na=False)
        pyreadr.write_rdata(str(sdtm / f"{domain}.rda"), df.astype("category"), df_name=domain)
        (sdtm / f"{domain}.csv").unlink()
    assert_same_adam(capsys, tmp_path, sdtm, csv_adam)


# ---- domain entries that are not files ------------------------------------------------------------

LINKS = {
    "symlink_loop": (lambda f: (f / "ae.csv").symlink_to("ae.csv"), "AE: ae.csv is a symbolic link loop"),
    "two_link_loop": (lambda f: ((f / "ae.csv").symlink_to("ae_v2.csv"), (f / "ae_v2.csv").symlink_to("ae.csv")),
                      "AE: ae.csv is a symbolic link loop"),
    "dangling_link": (lambda f: (f / "ae.csv").symlink_to("/nonexistent/ae.csv"),
                      "AE: ae.csv is a broken symbolic link (to /nonexistent/ae.csv"),
    "folder_as_domain": (lambda f: (f / "ae.csv").mkdir(), "AE: ae.csv is a folder, not a file"),
}


@pytest.mark.parametrize("command", ["validate", "derive", "lock"])
@pytest.mark.parametrize("case", sorted(LINKS))
def test_domain_entry_that_is_not_a_file(tmp_path, capsys, case, command):
    make, message = LINKS[case]
    sdtm = demo_copy(tmp_path)
    (sdtm / "ae.csv").unlink()
    make(sdtm)
    status, _, err = mpm(capsys, command, tmp_path, sdtm)
    assert status == 2
    assert one_error_line(err, command).startswith(message)
    assert not (tmp_path / "run.lock.json").exists()


def test_permission_denied_is_a_read_finding_and_a_derive_error(tmp_path, capsys, monkeypatch):
    """An input the operating system refuses (simulated: the tests may run as root, whom
    permissions do not stop): validate reports READ-001 for AE naming the file, derive stops with
    one line, lock (hashing) names the file."""
    import mpmlib.sdtm.read as mio

    sdtm = demo_copy(tmp_path)
    real_open = open

    def guarded_open(path, *args, **kwargs):
        if Path(path).name == "ae.csv":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(mio, "open", guarded_open, raising=False)    # the reader opens the header first
    status, out, _ = mpm(capsys, "validate", tmp_path, sdtm)
    assert status == 1
    assert "READ-001  AE: file can be read" in out and "cannot be read: ae.csv - Permission denied" in out
    status, _, err = mpm(capsys, "derive", tmp_path, sdtm)
    assert status == 2 and one_error_line(err, "derive") == "AE: cannot be read: ae.csv - Permission denied"
    status, _, err = mpm(capsys, "lock", tmp_path, sdtm)
    assert status == 2 and one_error_line(err, "lock") == f"cannot read {sdtm / 'ae.csv'}: Permission denied"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_permission_denied_for_real(tmp_path, capsys):
    sdtm = demo_copy(tmp_path)
    (sdtm / "ae.csv").chmod(0)
    status, _, err = mpm(capsys, "derive", tmp_path, sdtm)
    assert status == 2 and one_error_line(err, "derive").startswith("AE: ae.csv cannot be read (permission denied)")


# ---- bounded resources --------------------------------------------------------------------------------

def write_garbage(path: Path, megabytes: int) -> None:
    """Millions of lines of random-looking text (no SDTM header), written as a repeated block."""
    import base64

    block = b"\n".join(base64.b64encode(os.urandom(45)) for _ in range(1 << 14)) + b"\n"   # ~1 MiB
    with open(path, "wb") as handle:
        for _ in range(megabytes):
            handle.write(block)


def test_huge_garbage_csv_fails_fast(tmp_path, capsys):
    """~200 MB of text lines in lb.csv (before: a DataError after reading it all, 6.5 s and
    550 MB; other garbage: a traceback after 25 s): refused from its first line."""
    sdtm = demo_copy(tmp_path)
    write_garbage(sdtm / "lb.csv", 210)
    assert (sdtm / "lb.csv").stat().st_size > 200e6
    start = time.perf_counter()
    status, _, err = mpm(capsys, "derive", tmp_path, sdtm)
    assert time.perf_counter() - start < 10                  # a generous bound, not a benchmark
    assert status == 2
    assert one_error_line(err, "derive").startswith(
        "LB: lb.csv is not an SDTM table: its first line has none of the identifier variables")
    status, out, _ = mpm(capsys, "validate", tmp_path, sdtm)
    assert status == 1 and "READ-001  LB: file can be read" in out and "not an SDTM table" in out


@pytest.mark.parametrize("name", ["lb.csv", "lb.xpt", "lb.parquet", "lb.rda"])
def test_file_over_the_size_limit_is_refused_unread(tmp_path, capsys, name):
    """A 2 GiB sparse file (no disk used) with a valid CSV header, in each format: over
    sdtm.max_file_mb (default 1024), refused from its size before any reading."""
    sdtm = demo_copy(tmp_path)
    (sdtm / "lb.csv").unlink()
    with open(sdtm / name, "wb") as handle:
        handle.write(b"STUDYID,DOMAIN,USUBJID,LBSEQ\n")
        handle.truncate(2 << 30)
    start = time.perf_counter()
    status, _, err = mpm(capsys, "derive", tmp_path, sdtm)
    assert time.perf_counter() - start < 10
    assert status == 2
    assert one_error_line(err, "derive") == (
        f"LB: file is too large: {name} (2,048 MB) - the limit is sdtm.max_file_mb = 1024 MB, far above "
        "any trial's domain; raise it in the parameter file if this file is genuine")


def test_size_limit_comes_from_the_parameter_file(tmp_path, capsys):
    """sdtm.max_file_mb: 0.05 refuses the demo QS (0.9 MB), naming the file and the limit."""
    params = params_copy(tmp_path, sdtm={"dir": str(DEMO), "max_file_mb": 0.05})
    status, _, err = mpm(capsys, "derive", tmp_path, params=params)
    assert status == 2 and "sdtm.max_file_mb = 0.05 MB" in one_error_line(err, "derive")


@pytest.mark.parametrize("name, reader", [("tu.xpt", "XPT"), ("tu.parquet", "PARQUET"), ("tu.rda", "RDA")])
def test_large_binary_garbage_is_unreadable_at_once(tmp_path, capsys, name, reader):
    """300 MB of binary garbage (sparse zeros after a random head) named as another format:
    its own reader refuses it from the header."""
    sdtm = demo_copy(tmp_path)
    (sdtm / "tu.csv").unlink()
    with open(sdtm / name, "wb") as handle:
        handle.write(os.urandom(4096))
        handle.truncate(300 << 20)
    start = time.perf_counter()
    status, _, err = mpm(capsys, "derive", tmp_path, sdtm)
    assert time.perf_counter() - start < 10 and status == 2
    assert one_error_line(err, "derive").startswith(f"TU: cannot be read as {reader}: {name} - ")


def test_truncated_xpt_is_refused(tmp_path, capsys):
    """DM as SAS XPORT v5 cut by one record (80 bytes): pyreadstat reads 45 of 46 subjects; now
    a critical READ-001 naming DM and the file, and derive stops."""
    import pyreadstat

    sdtm = demo_copy(tmp_path)
    dm = pd.read_csv(sdtm / "dm.csv", dtype=str, keep_default_na=False)
    dm["AGE"] = dm["AGE"].astype(float)
    pyreadstat.write_xport(dm, str(sdtm / "dm.xpt"), file_format_version=5)
    (sdtm / "dm.csv").unlink()
    data = (sdtm / "dm.xpt").read_bytes()
    (sdtm / "dm.xpt").write_bytes(data[:-80])
    assert len(pyreadstat.read_xport(str(sdtm / "dm.xpt"))[0]) == len(dm) - 1
    status, out, _ = mpm(capsys, "validate", tmp_path, sdtm)
    assert status == 1 and "READ-001  DM: file can be read" in out and "file is truncated: dm.xpt" in out
    status, _, err = mpm(capsys, "derive", tmp_path, sdtm)
    assert status == 2
    assert one_error_line(err, "derive").startswith("DM: file is truncated: dm.xpt - its last observation is incomplete")


# ---- the parameter file -------------------------------------------------------------------------------

@pytest.mark.parametrize("content, expected", [
    ('study:\n  title: "Étude H101"\nsdtm:\n  dir: data/demo\n'.encode("cp1252"),
     "not UTF-8 text: byte 0xc9 at offset 17 (line 2); save the file as UTF-8"),
    (b"\x00\x01\x02\xfe\xff" * 400, "not UTF-8 text: byte 0xfe at offset 3 (line 1)"),
    (b"sdtm: {dir: data/demo\nstudy: [\n", "not valid YAML at line 2, column 6: expected ',' or '}', but got ':'"),
])
def test_unreadable_parameter_file(tmp_path, capsys, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    status, _, err = mpm(capsys, "validate", tmp_path, params=path)
    assert status == 2 and one_error_line(err, "validate").startswith(f"{path}: {expected}")


@pytest.mark.parametrize("value, expected", [
    ("31/03/2026", "data_cutoff must be a date written YYYY-MM-DD (ISO 8601), got '31/03/2026'"),
    ("2026-02-30", "data_cutoff '2026-02-30' is not a calendar date (day is out of range for month)"),
    (2026, "data_cutoff must be a date written YYYY-MM-DD (ISO 8601), got 2026"),
])
def test_unparseable_data_cutoff(tmp_path, capsys, value, expected):
    """Before: "31/03/2026" and 2026 were read as some date (2026 cut 17 responses with no
    finding) and "2026-02-30" was a traceback."""
    params = params_copy(tmp_path, data_cutoff=value)
    status, _, err = mpm(capsys, "derive", tmp_path, params=params)
    assert status == 2 and one_error_line(err, "derive") == f"{params}: {expected}"
    assert not (tmp_path / "out" / "adam").exists()


def test_data_cutoff_as_a_yaml_date_is_fine(tmp_path, capsys):
    import datetime

    status, out, _ = mpm(capsys, "derive", tmp_path, params=params_copy(tmp_path, data_cutoff=datetime.date(2026, 3, 31)))
    assert status == 0 and "ADaM written" in out


@pytest.mark.parametrize("key, value", [("title", ["H101", "MPM"]), ("studyid", 201), ("description", {"a": 1}),
                                        ("factors_question", True)])
def test_study_text_that_is_not_text(tmp_path, capsys, key, value):
    study = yaml.safe_load((PROJECT_ROOT / "params" / "demo.yaml").read_text())["study"]
    params = params_copy(tmp_path, study={**study, key: value})
    status, _, err = mpm(capsys, "validate", tmp_path, params=params)
    assert status == 2 and one_error_line(err, "validate") == f"{params}: study.{key} must be text"


def test_sdtm_or_params_that_is_a_file_or_a_folder(tmp_path, capsys):
    """--sdtm naming a file, --params naming a folder: said so, not "does not exist"."""
    status, _, err = mpm(capsys, "derive", tmp_path, sdtm=DEMO / "dm.csv")
    assert status == 2 and one_error_line(err, "derive") == f"SDTM: input folder is a file, not a folder: {DEMO / 'dm.csv'}"
    status, _, err = mpm(capsys, "validate", tmp_path, params=tmp_path)
    assert status == 2 and one_error_line(err, "validate") == f"parameter file is a folder: {tmp_path}"


# ---- output paths and operating-system errors -------------------------------------------------------

@pytest.mark.parametrize("command", ["validate", "derive", "report", "lock"])
def test_out_is_an_existing_file(tmp_path, capsys, command):
    target = tmp_path / "results.txt"
    target.write_text("not a folder")
    status, _, err = mpm(capsys, command, tmp_path, out=target)
    assert status == 2
    assert one_error_line(err, command) == (f"output folder is an existing file, not a folder: {target} "
                                            "(give --out or output.dir a folder)")
    assert target.read_text() == "not a folder" and not (tmp_path / "run.lock.json").exists()


def test_out_below_an_existing_file(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    status, _, err = mpm(capsys, "derive", tmp_path, out=tmp_path / "f" / "run")
    assert status == 2
    assert one_error_line(err, "derive") == (f"output folder {tmp_path / 'f' / 'run'} cannot be made: "
                                             f"{tmp_path / 'f'} is a file, not a folder")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_output_folder_the_system_refuses(tmp_path, capsys):
    """A real OSError from the operating system (no folder can be made in /proc, root or not)."""
    status, _, err = mpm(capsys, "derive", tmp_path, out=Path("/proc/mpm-test-out"))
    assert status == 2 and one_error_line(err, "derive").endswith(": /proc/mpm-test-out")


def test_disk_full_while_writing(tmp_path, capsys, monkeypatch):
    """ENOSPC while writing ADaM (simulated): one line with the reason and the file, exit 2."""
    import mpmlib.report.pipeline

    def full(adam, folder):
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(folder) / "adqs.parquet"))

    monkeypatch.setattr(mpmlib.report.pipeline, "write_adam", full)
    status, _, err = mpm(capsys, "derive", tmp_path)
    assert status == 2
    assert one_error_line(err, "derive") == f"No space left on device: {tmp_path / 'out' / 'adam' / 'adqs.parquet'}"


def test_programming_errors_keep_their_traceback(tmp_path, monkeypatch):
    """The OSError handler is narrow: a bug (here a TypeError) is not dressed up as bad input."""
    import mpmlib.cli

    def bug(args):
        raise TypeError("a bug")

    monkeypatch.setattr(mpmlib.cli, "cmd_derive", bug)
    with pytest.raises(TypeError, match="a bug"):
        main(["derive", "--params", str(params_copy(tmp_path)), "--out", str(tmp_path / "out")])


# ---- data values --------------------------------------------------------------------------------------

def test_invisible_character_in_a_subject_is_shown_escaped(tmp_path, capsys):
    """DM.AGE "sixty" for a USUBJID ending in a zero-width space: the message shows \\u200b."""
    sdtm = demo_copy(tmp_path)
    dm = pd.read_csv(sdtm / "dm.csv", dtype=str, keep_default_na=False)
    row = dm["USUBJID"].eq(SUBJECT)
    dm.loc[row, "USUBJID"] = SUBJECT + "\u200b"
    dm.loc[row, "AGE"] = "sixty"
    dm.to_csv(sdtm / "dm.csv", index=False)
    status, _, err = mpm(capsys, "derive", tmp_path, sdtm)
    assert status == 2
    assert one_error_line(err, "derive") == f"DM.AGE: must be numeric [USUBJID: {SUBJECT}\\u200b] - values: sixty"


def suppae_idvarval(sdtm: Path, value: str) -> None:
    """The first SUPPAE record of SUBJECT-0001 points at AESEQ ``value``."""
    supp = pd.read_csv(sdtm / "suppae.csv", dtype=str, keep_default_na=False)
    supp.loc[supp.index[0], "IDVARVAL"] = value
    supp.to_csv(sdtm / "suppae.csv", index=False)


@pytest.mark.parametrize("value", ["1.5", "one"])
def test_suppae_idvarval_not_an_integer_is_a_finding(tmp_path, capsys, value):
    sdtm = demo_copy(tmp_path)
    suppae_idvarval(sdtm, value)
    status, out, _ = mpm(capsys, "validate", tmp_path, sdtm)
    assert status == 1
    finding = next(line for line in out.splitlines() if "SUPPAE.IDVARVAL: IDVARVAL is an integer" in line)
    assert "CRITICAL" in finding and "H101-MPM-201-01-0001" in finding and value in finding


def test_suppae_idvarval_not_an_integer_stops_derive_in_one_line(tmp_path, capsys):
    sdtm = demo_copy(tmp_path)
    suppae_idvarval(sdtm, "1.5")
    status, _, err = mpm(capsys, "derive", tmp_path, sdtm)
    assert status == 2
    message = one_error_line(err, "derive")
    assert "SUPPAE" in message and "IDVARVAL" in message and "H101-MPM-201-01-0001" in message


# ---- real processes for the worst cases ---------------------------------------------------------------

def run_mpm(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("MPM_TRACEBACK", None)
    return subprocess.run([sys.executable, "-m", "mpmlib.cli", *argv], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env=env, timeout=120)


def test_subprocess_symlink_loop(tmp_path):
    sdtm = demo_copy(tmp_path)
    (sdtm / "ex.csv").unlink()
    (sdtm / "ex.csv").symlink_to("ex.csv")
    done = run_mpm("validate", "--params", str(params_copy(tmp_path)), "--sdtm", str(sdtm), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert done.stderr.strip() == f"mpm validate: error: EX: ex.csv is a symbolic link loop (following its links " \
                                  f"never reaches a file) - {sdtm / 'ex.csv'}"


def test_subprocess_huge_garbage_file(tmp_path):
    sdtm = demo_copy(tmp_path)
    write_garbage(sdtm / "qs.csv", 300)
    start = time.perf_counter()
    done = run_mpm("derive", "--params", str(params_copy(tmp_path)), "--sdtm", str(sdtm), "--out", str(tmp_path / "o"))
    assert time.perf_counter() - start < 30                   # import included; generous on a busy machine
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert done.stderr.startswith("mpm derive: error: QS: qs.csv is not an SDTM table")
    assert len(done.stderr.strip().splitlines()) == 1


def test_subprocess_parameter_file_not_utf8(tmp_path):
    path = tmp_path / "cp1252.yaml"
    path.write_bytes('study:\n  title: "Mésothéliome"\nsdtm:\n  dir: data/demo\n'.encode("cp1252"))
    done = run_mpm("report", "--params", str(path), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert done.stderr.strip() == (f"mpm report: error: {path}: not UTF-8 text: byte 0xe9 at offset 18 (line 2); "
                                   "save the file as UTF-8")
