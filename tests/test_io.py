"""SDTM readers on every external folder and on the four formats, plus bad-input messages.

References: the files in ../shared/external (SOURCE.md in each folder) and their documented
contents (../shared/notes/external-data.md): record counts, the partial RSDTC "2014-02" of
01-701-1015, and the 152 zeros of the pilot ADTTE CNSR that pandas' XPT reader corrupts
(pandas-dev/pandas#50670).
"""

import shutil

import numpy as np
import pandas as pd
import pytest

from mpmlib.errors import DataError
from mpmlib.sdtm.read import find_domain_files, read_domain, read_sdtm, sha256_file
from mpmlib.settings.load import PROJECT_ROOT
from tests.conftest import external


def test_pilot_sdtm_xpt_all_domains(pilot_sdtm):
    expected_rows = {"dm": 306, "ae": 1191, "ex": 591, "ds": 596, "sv": 3559, "suppae": 1191,
                     "suppdm": 1197, "suppds": 3, "ta": 8, "te": 7, "ti": 31, "ts": 33, "tv": 21}
    assert {k: len(v) for k, v in pilot_sdtm.items()} == expected_rows
    dm = pilot_sdtm["dm"]
    assert dm["USUBJID"].is_unique and dm["AGE"].dtype == float
    assert isinstance(dm.loc[0, "RFSTDTC"], str)               # --DTC stays ISO text
    assert dm["DTHDTC"].notna().sum() == 3


def test_pilot_adam_xpt_zero_values_are_exact():
    """pyreadstat keeps 0.0; pandas.read_sas returns 5.4e-79 for 152 CNSR zeros."""
    path = external("cdiscpilot01", "adam", "adtte.xpt")
    adtte = read_domain(path, "ADTTE")
    assert (adtte["CNSR"] == 0).sum() == 152
    assert set(adtte["CNSR"].unique()) == {0.0, 1.0}
    corrupted = pd.read_sas(path, format="xport", encoding="cp1252")
    assert (corrupted["CNSR"] == 0).sum() < 152          # why pandas' reader is not used
    for name in ("adsl", "adae", "adqscibc"):
        df = read_domain(external("cdiscpilot01", "adam", f"{name}.xpt"), name.upper())
        numeric = df.select_dtypes("number")
        tiny = (numeric.abs() > 0) & (numeric.abs() < 1e-70)
        assert not tiny.any().any(), name


def test_pharmaverse_sdtm_rda(pharmaverse_sdtm):
    assert {"dm", "suppdm", "ae", "suppae", "ex", "ds", "suppds", "sv", "rs", "tu", "tr"} <= set(pharmaverse_sdtm)
    rs = pharmaverse_sdtm["rs"]
    assert rs["USUBJID"].nunique() == 8
    partial = rs[(rs["USUBJID"] == "01-701-1015") & (rs["RSDTC"].str.len() == 7)]
    assert set(partial["RSDTC"]) == {"2014-02"}                # partial date preserved


@pytest.mark.parametrize("name, rows", [("rs_onco.rda", 5808), ("tu_onco.rda", 7734), ("tr_onco.rda", 55995),
                                         ("rs_onco_irecist.rda", None), ("legacy/qs.rda", 202907)])
def test_pharmaverse_other_rda(name, rows):
    df = read_domain(external("pharmaversesdtm", name), name.split("/")[-1][:2])
    assert "USUBJID" in df.columns
    if rows:
        assert len(df) == rows


@pytest.mark.parametrize("name", ["adsl", "adrs_onco", "adtte_onco", "adtr_onco", "adae", "adex"])
def test_pharmaverse_adam_rda(name):
    df = read_domain(external("pharmaverseadam", f"{name}.rda"), name.upper())
    assert len(df) > 0 and "USUBJID" in df.columns


def test_admiralonco_and_pycsr():
    adrs = read_domain(external("admiralonco", "admiral_adrs_8c395ec.rda"), "ADRS")
    assert (adrs["PARAMCD"] == "OVR").sum() == 633
    adqs = read_domain(external("pycsr", "adqsadas.parquet"), "ADQSADAS")
    assert len(adqs) == 12463 and adqs["USUBJID"].nunique() == 254


def test_mixed_formats_in_one_folder_read_identically(tmp_path, pilot_sdtm):
    """The same DM written as CSV, Parquet and XPT, and AE as .rda-free CSV: same values back."""
    import pyreadstat

    dm = pilot_sdtm["dm"]
    for fmt in ("csv", "parquet", "xpt"):
        folder = tmp_path / fmt
        folder.mkdir()
        path = folder / f"DM.{fmt}"
        if fmt == "csv":
            dm.to_csv(path, index=False)
        elif fmt == "parquet":
            dm.to_parquet(path, index=False)
        else:
            pyreadstat.write_xport(dm.fillna({c: "" for c in dm.columns if dm[c].dtype == object}), str(path))
        back = read_sdtm(folder)["dm"]
        pd.testing.assert_frame_equal(back[dm.columns], dm, check_dtype=False)
    shutil.copy(external("pharmaversesdtm", "ae.rda"), tmp_path / "csv" / "ae.rda")
    assert set(read_sdtm(tmp_path / "csv")) == {"dm", "ae"}


def test_domain_files_are_case_insensitive_and_non_domain_files_ignored(tmp_path):
    pd.DataFrame({"USUBJID": ["A"]}).to_csv(tmp_path / "DM.CSV", index=False)
    (tmp_path / "notes.txt").write_text("x")
    pd.DataFrame({"USUBJID": ["A"]}).to_csv(tmp_path / "listing_2024.csv", index=False)
    assert list(find_domain_files(tmp_path)) == ["dm"]


# ---- bad input: one clear DataError naming domain / variable / subject ---------------------------

def test_empty_file(tmp_path):
    (tmp_path / "ae.csv").write_text("")
    with pytest.raises(DataError, match=r"^AE: file is empty"):
        read_sdtm(tmp_path)


def test_unreadable_file(tmp_path):
    (tmp_path / "ex.xpt").write_bytes(b"this is not a SAS transport file" * 10)
    with pytest.raises(DataError, match=r"^EX: cannot be read as XPT"):
        read_sdtm(tmp_path)
    (tmp_path / "ex.xpt").unlink()
    (tmp_path / "rs.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(DataError, match=r"^RS: cannot be read as PARQUET"):
        read_sdtm(tmp_path)


def test_non_numeric_value_in_numeric_variable(tmp_path):
    pd.DataFrame({"USUBJID": ["S1", "S2"], "AGE": ["63", "sixty"]}).to_csv(tmp_path / "dm.csv", index=False)
    with pytest.raises(DataError) as err:
        read_sdtm(tmp_path)
    assert str(err.value).startswith("DM.AGE: must be numeric") and "S2" in str(err.value)
    assert "sixty" in str(err.value)


def test_two_files_for_one_domain(tmp_path):
    pd.DataFrame({"USUBJID": ["A"]}).to_csv(tmp_path / "dm.csv", index=False)
    pd.DataFrame({"USUBJID": ["A"]}).to_parquet(tmp_path / "dm.parquet", index=False)
    with pytest.raises(DataError, match="more than one file"):
        read_sdtm(tmp_path)


def test_mapped_file_missing_and_missing_folder(tmp_path):
    with pytest.raises(DataError, match="RS: mapped file does not exist"):
        find_domain_files(tmp_path, {"rs": "rs_onco_recist.rda"})
    with pytest.raises(DataError, match="input folder does not exist"):
        find_domain_files(tmp_path / "nope")


def test_rda_object_name_does_not_matter(tmp_path):
    import pyreadr

    path = tmp_path / "dm.rda"
    pyreadr.write_rdata(str(path), pd.DataFrame({"USUBJID": ["A"]}), df_name="dm_export_v2")
    df = read_domain(path)
    assert df["USUBJID"].tolist() == ["A"]


def test_blank_text_is_missing_and_text_is_stripped(tmp_path):
    (tmp_path / "dm.csv").write_text("USUBJID,SEX,DTHDTC\n S1 ,M,\nS2, ,2014-02\n")
    dm = read_domain(tmp_path / "dm.csv")
    assert dm["USUBJID"].tolist() == ["S1", "S2"]
    assert dm["SEX"].isna().tolist() == [False, True]
    assert dm["DTHDTC"].tolist()[1] == "2014-02" and pd.isna(dm["DTHDTC"][0])


def test_sha256(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 example


def test_sdtm_folder_reads_each_domain_once_on_first_use(tmp_path, monkeypatch):
    """SdtmFolder = read_sdtm, domain by domain when used: same frames; listing the domains reads
    nothing; a domain is read once; an absent domain is a KeyError (``.get`` gives None)."""
    import mpmlib.sdtm.read as mio

    (tmp_path / "dm.csv").write_text("STUDYID,USUBJID,AGE\nS,S-1,60\nS,S-2, 71\n")
    (tmp_path / "ae.csv").write_text("STUDYID,USUBJID,AESEQ,AETERM\nS,S-1,1,Nausea \n")
    calls = []
    real = mio.read_domain
    monkeypatch.setattr(mio, "read_domain", lambda path, domain=None, max_file_mb=None:
                        calls.append(domain) or real(path, domain, max_file_mb))
    lazy = mio.SdtmFolder(tmp_path)
    assert sorted(lazy) == ["ae", "dm"] and len(lazy) == 2 and "qs" not in lazy and calls == []
    eager = read_sdtm(tmp_path)
    calls.clear()
    pd.testing.assert_frame_equal(lazy["dm"], eager["dm"])
    lazy["dm"]
    assert calls == ["dm"]
    assert lazy.get("qs") is None
    with pytest.raises(KeyError):
        lazy["qs"]


# ---- typed columns: dates, date-times, dictionaries, factors -> text (module docstring) ---------

def test_parquet_typed_dates_and_dictionaries_become_iso_text(tmp_path):
    """pyarrow date32 / timestamp[ns] / timestamp with time zone / dictionary columns come back as
    the ISO 8601 text a CSV would hold (SDTMIG 3.3 section 4.4.2: --DTC is ISO 8601 text); NaT is
    missing; a time part only where the column has one; a date beyond the nanosecond range kept."""
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "USUBJID": pa.array(["S1", "S2", "S3"]).dictionary_encode(),
        "AESEQ": pa.array(["1", "2", "3"]).dictionary_encode(),
        "AESTDTC": pa.array([datetime.date(2024, 3, 2), None, datetime.date(2999, 1, 1)], pa.date32()),
        "AEENDTC": pa.array([datetime.datetime(2024, 3, 4), None, datetime.datetime(2024, 3, 9)], pa.timestamp("ns")),
        "EXSTDTC": pa.array([datetime.datetime(2024, 3, 4, 9, 30), datetime.datetime(2024, 3, 5), None],
                            pa.timestamp("us")),
        "LBDTC": pa.array([pd.Timestamp("2024-03-04 09:30:15", tz="Asia/Shanghai"), None, None],
                          pa.timestamp("ms", tz="Asia/Shanghai")),
        "DMDTC": pa.array([2024, None, 2025], pa.int64()),
    })
    pq.write_table(table, tmp_path / "ae.parquet")
    ae = read_domain(tmp_path / "ae.parquet")
    assert ae["USUBJID"].tolist() == ["S1", "S2", "S3"] and ae["AESEQ"].tolist() == [1.0, 2.0, 3.0]
    assert ae["AESTDTC"].tolist()[::2] == ["2024-03-02", "2999-01-01"] and pd.isna(ae["AESTDTC"][1])
    assert ae["AEENDTC"].tolist()[::2] == ["2024-03-04", "2024-03-09"] and pd.isna(ae["AEENDTC"][1])
    assert ae["EXSTDTC"].tolist()[:2] == ["2024-03-04T09:30", "2024-03-05T00:00"] and pd.isna(ae["EXSTDTC"][2])
    assert ae["LBDTC"][0] == "2024-03-04T09:30:15"           # wall-clock time, offset dropped
    assert ae["DMDTC"].tolist()[::2] == ["2024", "2025"] and pd.isna(ae["DMDTC"][1])
    assert all(isinstance(v, str) for v in ae["AESTDTC"].dropna())


def test_rda_factors_become_text_and_numeric_factors_numbers(tmp_path):
    """R factors (pyreadr: pandas Categorical; pyreadr.write_rdata writes them as R factors)
    are read as their levels; a numeric SDTM variable stored as a factor is converted as usual;
    a blank level is missing."""
    import pyreadr

    dm = pd.DataFrame({"USUBJID": pd.Categorical(["S1", "S2", "S3"]), "AGE": pd.Categorical(["63", "70", ""]),
                       "SEX": pd.Categorical([" F", "M", ""]), "RFSTDTC": pd.Categorical(["2024-03-02", "2024-03", ""])})
    pyreadr.write_rdata(str(tmp_path / "dm.rda"), dm, df_name="dm")
    assert isinstance(pyreadr.read_r(str(tmp_path / "dm.rda"))["dm"]["AGE"].dtype, pd.CategoricalDtype)
    back = read_domain(tmp_path / "dm.rda")
    assert back["AGE"].tolist()[:2] == [63.0, 70.0] and pd.isna(back["AGE"].iloc[2])
    assert back["SEX"].tolist()[:2] == ["F", "M"] and pd.isna(back["SEX"].iloc[2])
    assert back["RFSTDTC"].tolist()[:2] == ["2024-03-02", "2024-03"]


def test_rda_written_by_r_with_factors_dates_and_date_times(tmp_path):
    """The same through R itself: read.csv(stringsAsFactors = TRUE), a Date and a POSIXct column."""
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed")
    import subprocess

    script = (
        'dm <- data.frame(USUBJID = c("S1", "S2"), AGE = c("63", "70"), stringsAsFactors = TRUE);'
        'dm$RFSTDTC <- as.Date(c("2024-03-02", NA));'
        'dm$RFICDTC <- as.POSIXct(c("2024-02-20 08:15:00", "2024-02-21 10:00:00"), tz = "UTC");'
        f'save(dm, file = "{tmp_path / "dm.rda"}")')
    subprocess.run(["Rscript", "-e", script], check=True, capture_output=True, timeout=60)
    dm = read_domain(tmp_path / "dm.rda")
    assert dm["USUBJID"].tolist() == ["S1", "S2"] and dm["AGE"].tolist() == [63.0, 70.0]
    assert dm["RFSTDTC"].iloc[0] == "2024-03-02" and pd.isna(dm["RFSTDTC"].iloc[1])
    assert dm["RFICDTC"].tolist() == ["2024-02-20T08:15", "2024-02-21T10:00"]


# ---- entries that are not files, unreadable files, size and header bounds -----------------------

@pytest.mark.parametrize("make, reason", [
    (lambda f: (f / "ae.csv").symlink_to("ae.csv"), "symbolic link loop"),
    (lambda f: ((f / "ae.csv").symlink_to("x.csv"), (f / "x.csv").symlink_to("ae.csv")), "symbolic link loop"),
    (lambda f: (f / "ae.csv").symlink_to("gone.csv"), "broken symbolic link (to gone.csv"),
    (lambda f: (f / "ae.csv").mkdir(), "is a folder"),
    (lambda f: __import__("os").mkfifo(f / "ae.csv"), "not a regular file"),
])
def test_domain_entries_that_are_not_files(tmp_path, make, reason):
    """A link loop, a broken link, a folder or a pipe named like a domain: a DataError naming the
    domain and the file when the folder is listed (a pipe would otherwise block the reader)."""
    make(tmp_path)
    with pytest.raises(DataError, match=r"^AE: ae\.csv ") as err:
        find_domain_files(tmp_path)
    assert reason in str(err.value)
    with pytest.raises(DataError, match=reason.replace("(", r"\(")):
        read_domain(tmp_path / "ae.csv")


def test_os_errors_while_reading_and_hashing_name_the_file(tmp_path, monkeypatch):
    """Permission denied (simulated: the tests may run as root, who may read anything) is a
    DataError naming domain and file; hashing an unreadable input is an MpmError naming it."""
    import mpmlib.sdtm.read as mio
    from mpmlib.errors import MpmError

    (tmp_path / "ae.csv").write_text("STUDYID,USUBJID\nS,S-1\n")

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setitem(mio._READ, "csv", denied)
    with pytest.raises(DataError, match=r"^AE: cannot be read: ae\.csv - Permission denied$"):
        read_domain(tmp_path / "ae.csv")
    with pytest.raises(MpmError, match=r"cannot read .*gone\.csv: No such file"):
        sha256_file(tmp_path / "gone.csv")


def test_file_larger_than_the_limit_is_refused_before_reading(tmp_path):
    """A sparse 3 GiB file (no disk used) with a valid header: refused from its size, at once."""
    import time

    path = tmp_path / "lb.csv"
    with open(path, "wb") as handle:
        handle.write(b"STUDYID,USUBJID,LBSEQ\n")
        handle.truncate(3 << 30)
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"^LB: file is too large: lb\.csv \(3,072 MB\) - the limit is sdtm\.max_file_mb = 1024"):
        read_domain(path)
    assert time.perf_counter() - start < 5
    with pytest.raises(DataError, match=r"sdtm\.max_file_mb = 2 MB"):
        read_sdtm(tmp_path, max_file_mb=2)


def test_default_size_limit_is_the_parameter_default():
    from mpmlib.sdtm.read import MAX_FILE_MB
    from mpmlib.settings.load import DEFAULTS

    assert DEFAULTS["sdtm"]["max_file_mb"] == MAX_FILE_MB


@pytest.mark.parametrize("content, found", [
    (b"lorem ipsum dolor\nsit amet\n" * 1000, "found: lorem ipsum dolor"),
    (bytes(range(1, 256)) * 10, r"found: \x01\x02\x03"),
    (b"x" * (70 * 1024), "no header line in its first 64 KiB"),
    (b"AGE,SEX\n63,F\n", "found: AGE,SEX"),
])
def test_csv_without_an_sdtm_header_is_refused_from_its_first_line(tmp_path, content, found):
    (tmp_path / "qs.csv").write_bytes(content)
    with pytest.raises(DataError, match=r"^QS: qs\.csv is not an SDTM table") as err:
        read_domain(tmp_path / "qs.csv")
    assert found in str(err.value)


def test_utf16_csv_is_named_as_such(tmp_path):
    (tmp_path / "dm.csv").write_bytes("STUDYID,USUBJID\nS,S-1\n".encode("utf-16"))
    with pytest.raises(DataError, match=r"^DM: dm\.csv is UTF-16 text: save it as UTF-8 CSV$"):
        read_domain(tmp_path / "dm.csv")


def test_csv_header_with_bom_or_cp1252_or_crlf_is_accepted(tmp_path):
    (tmp_path / "dm.csv").write_bytes("\ufeffSTUDYID,USUBJID\r\nS,S-1\r\n".encode("utf-8"))
    assert read_domain(tmp_path / "dm.csv")["USUBJID"].tolist() == ["S-1"]
    (tmp_path / "dm.csv").write_bytes("STUDYID,USUBJID,AETERM\nS,S-1,Fièvre\n".encode("cp1252"))
    assert read_domain(tmp_path / "dm.csv")["AETERM"].tolist() == ["Fièvre"]


def test_non_csv_without_identifier_variables_is_refused(tmp_path):
    pd.DataFrame({"A": ["x"], "B": ["y"]}).to_parquet(tmp_path / "ae.parquet", index=False)
    with pytest.raises(DataError, match=r"^AE: ae\.parquet is not an SDTM dataset: none of .* - columns: A, B$"):
        read_domain(tmp_path / "ae.parquet")


def test_mapped_file_error_names_its_domain(tmp_path):
    (tmp_path / "rs_onco.csv").write_text("nothing here\n")
    with pytest.raises(DataError, match=r"^RS: rs_onco\.csv is not an SDTM table"):
        read_sdtm(tmp_path, {"rs": "rs_onco.csv"})


# ---- truncated SAS transport files ----------------------------------------------------------------

def _xpt(tmp_path, version, n=46):
    import pyreadstat

    df = pd.read_csv(PROJECT_ROOT / "data" / "demo" / "dm.csv", dtype=str, keep_default_na=False).head(n)
    df["AGE"] = df["AGE"].astype(float)
    path = tmp_path / f"dm{version}.xpt"
    pyreadstat.write_xport(df, str(path), file_format_version=version)
    return path, path.read_bytes()


@pytest.mark.parametrize("version", [5, 8])
def test_truncated_xpt_is_refused_not_read_as_fewer_rows(tmp_path, version):
    """Cut a transport file (SAS TS-140: 80-byte records) at every record boundary, every byte of
    its last two observations and every 97th byte elsewhere: pyreadstat would read fewer rows
    (or pad the last one); every cut is refused as truncated except - version 5 only, which
    records no observation count - a cut just after the observations' header (a valid empty
    dataset). The demo DM observation is 213 bytes long, so no other observation ends on a record
    boundary."""
    import pyreadstat

    from mpmlib.sdtm.read import check_xpt_complete

    path, data = _xpt(tmp_path, version)
    assert len(read_domain(path)) == 46
    cut_path = tmp_path / "dm.xpt"
    accepted = []
    size = len(data)
    for cut in sorted(set(range(80, size, 80)) | set(range(1, size, 97)) | set(range(size - 2 * 213, size))):
        cut_path.write_bytes(data[:cut])
        try:
            check_xpt_complete(cut_path)
            accepted.append(cut)
        except DataError as exc:
            assert str(exc).startswith("DM: file is truncated: dm.xpt - ")
    obs_header_end = data.index(b"HEADER RECORD*******OBS") + 80
    assert accepted == ([obs_header_end] if version == 5 else [])
    cut_path.write_bytes(data[:len(data) - 160])                # what pyreadstat does with it
    assert len(pyreadstat.read_xport(str(cut_path))[0]) < 46
    with pytest.raises(DataError, match="last observation is incomplete|declares 46 observations"):
        read_domain(cut_path)


def test_truncation_check_passes_every_external_xpt():
    from mpmlib.sdtm.read import check_xpt_complete

    for path in sorted(external("cdiscpilot01").rglob("*.xpt")):
        check_xpt_complete(path)


def test_xpt_with_whole_record_observations_cut_on_a_boundary_is_undetectable(tmp_path):
    """The documented limit: observations of exactly 80 bytes, cut after a whole observation,
    are a valid shorter version 5 file (no count is recorded); nothing to detect."""
    import pyreadstat

    from mpmlib.sdtm.read import check_xpt_complete

    df = pd.DataFrame({"USUBJID": [f"S-{i:03d}".ljust(40) for i in range(5)], "AETERM": ["x" * 40] * 5})
    path = tmp_path / "ae.xpt"
    pyreadstat.write_xport(df, str(path), file_format_version=5)
    data = path.read_bytes()
    path.write_bytes(data[:-80])
    check_xpt_complete(path)
    assert len(read_domain(path)) == 4


def test_data_error_message_escapes_invisible_characters():
    err = DataError("DM", "USUBJID", "duplicate subject", ["H101-01-0003\u200b"], "values: A\u00a0B")
    assert str(err) == "DM.USUBJID: duplicate subject [USUBJID: H101-01-0003\\u200b] - values: A\\xa0B"
    assert err.subjects == ["H101-01-0003\u200b"]               # the attributes keep the data as is
