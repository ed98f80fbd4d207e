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
from mpmlib.io import find_domain_files, read_domain, read_sdtm, sha256_file
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
    import mpmlib.io as mio

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
