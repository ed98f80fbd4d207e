"""Tests of the synthetic trial generator (mpmlib.synth) and the CTCAE term extraction.

The RECIST 1.1 checks re-implement target / non-target / overall response from TR here, in a
different style from the generator (pandas, per visit), and compare every RS record with it.
The realism checks use one shared larger sample (n = 1500).
"""

from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mpmlib import synth
from mpmlib.synth.frames import DY_VARS

ROOT = Path(__file__).resolve().parents[1]
CTCAE_CSV = ROOT / "mpmlib" / "resources" / "ctcae_v5_terms.csv"
CTCAE_XLSX = Path("/work/shared/external/ctcae-v5/CTCAE_v5.0.xlsx")
CUTOFF = pd.Timestamp(synth.DATA_CUTOFF)
ISO = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2})?)?)?)?$")

# Variables docs/data-spec.md lists per domain (R and O), plus STUDYID/USUBJID/DOMAIN.
SPEC_VARS = {
    "dm": ["USUBJID", "ARM", "ARMCD", "ACTARM", "ACTARMCD", "RFSTDTC", "RFICDTC", "SUBJID",
           "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC", "COUNTRY", "RFENDTC", "RFXSTDTC",
           "RFXENDTC", "DTHDTC", "DTHFL"],
    "suppdm": ["USUBJID", "QNAM", "QVAL"],
    "ex": ["USUBJID", "EXTRT", "EXSTDTC", "EXENDTC", "EXDOSE", "EXDOSU", "EXROUTE", "EXSEQ",
           "VISIT", "VISITNUM"],
    "ae": ["AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AELLTCD", "AETOXGR", "AESEV", "AESER",
           "AEOUT", "AEACN", "AEREL", "AESTDTC", "AEENDTC"],
    "suppae": ["USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL"],
    "rs": ["RSSEQ", "RSTESTCD", "RSTEST", "RSCAT", "RSORRES", "RSSTRESC", "RSEVAL", "RSACPTFL",
           "RSSTAT", "VISIT", "VISITNUM", "RSDTC"],
    "tu": ["TULNKID", "TUTESTCD", "TUORRES", "TUSTRESC", "TULOC", "TUMETHOD", "TUEVAL", "VISIT",
           "TUDTC"],
    "tr": ["TRLNKID", "TRTESTCD", "TRORRES", "TRSTRESN", "TRSTRESU", "TRSTAT", "TREVAL", "VISIT",
           "TRDTC"],
    "qs": ["QSCAT", "QSTESTCD", "QSTEST", "QSORRES", "QSSTRESN", "QSSTAT", "QSREASND", "VISIT",
           "VISITNUM", "QSDTC"],
    "ds": ["DSCAT", "DSSCAT", "DSTERM", "DSDECOD", "EPOCH", "DSSTDTC"],
    "cm": ["CMTRT", "CMCAT", "CMSTDTC", "CMENDTC"],
    "sv": ["VISIT", "VISITNUM", "SVSTDTC", "SVENDTC"],
    "lb": ["LBSEQ", "LBTESTCD", "LBTEST", "LBSTRESN", "LBSTRESU", "LBSTAT", "LBBLFL", "VISIT",
           "VISITNUM", "LBDTC"],
}


# ------------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    return synth.generate_trial()


@pytest.fixture(scope="module")
def large():
    return synth.generate_trial(1500, seed=7)


def _ctcae() -> pd.DataFrame:
    with open(CTCAE_CSV, encoding="utf-8", newline="") as fh:
        return pd.DataFrame(list(csv.DictReader(fh))).set_index("TERM")


def _date_cols(df):
    return [c for c in df.columns if c.endswith("DTC")]


def _treated(d):
    dm = d["dm"]
    return dm[dm.ACTARMCD == "H101TORI"].set_index("USUBJID")


# ------------------------------------------------------------------------------------------------
# determinism and output bytes
# ------------------------------------------------------------------------------------------------
def test_same_seed_same_frames_and_bytes(small, tmp_path):
    again = synth.generate_trial()
    assert list(again) == ["dm", "suppdm", "ex", "ae", "suppae", "rs", "tr", "tu", "qs", "ds",
                           "cm", "sv", "lb", "dd"]
    for name in small:
        pd.testing.assert_frame_equal(small[name], again[name], obj=name)
    pa = synth.write_sdtm_csv(small, tmp_path / "a")
    pb = synth.write_sdtm_csv(again, tmp_path / "b")
    assert [p.name for p in pa] == [f"{k}.csv" for k in small]
    for a, b in zip(pa, pb):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_different_seed_differs(small):
    other = synth.generate_trial(seed=1)
    assert not small["dm"].equals(other["dm"])
    assert not small["rs"].equals(other["rs"])


def test_subjects_do_not_depend_on_n(small):
    """Subject k is the same whatever n is (one generator per subject, prefix-stable specials)."""
    part = synth.generate_trial(n=20)
    ids = set(part["dm"].USUBJID)
    assert len(part["dm"][part["dm"].ARMCD != "SCRNFAIL"]) == 20
    for name in small:
        sub = small[name][small[name].USUBJID.isin(ids)].reset_index(drop=True)
        pd.testing.assert_frame_equal(part[name], sub, obj=name)


def test_csv_format(small, tmp_path):
    paths = synth.write_sdtm_csv(small, tmp_path)
    for p in paths:
        raw = p.read_bytes()
        assert b"\r" not in raw
        raw.decode("utf-8")
        with open(p, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == list(small[p.stem].columns)
        assert len(rows) == len(small[p.stem]) + 1
    ex = pd.read_csv(tmp_path / "ex.csv", dtype=str, keep_default_na=False)
    assert set(ex.EXDOSE) == {"1000000000000", "240"}
    for name in ("qs", "tr", "ae", "lb"):
        text = (tmp_path / f"{name}.csv").read_text(encoding="utf-8")
        assert not re.search(r"\d[eE][+-]\d", text)
        assert not re.search(r",\d+\.0(,|\n)", text)  # integers written as integers


def test_print_nothing(capsys):
    synth.generate_trial(n=5)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


# ------------------------------------------------------------------------------------------------
# shape
# ------------------------------------------------------------------------------------------------
def test_required_variables(small):
    for name, cols in SPEC_VARS.items():
        df = small[name]
        missing = set(cols + ["STUDYID", "USUBJID"]) - set(df.columns)
        assert not missing, (name, missing)
        assert (df.STUDYID == synth.STUDYID).all()
        if name in ("dm", "suppdm", "suppae"):
            continue
        assert (df.DOMAIN == name.upper()).all()
        assert len(df) > 0, name


def test_subjects_exist_in_dm(small):
    ids = set(small["dm"].USUBJID)
    assert small["dm"].USUBJID.is_unique
    assert all(re.fullmatch(r"H101-MPM-201-\d{2}-\d{4}", u) for u in ids)
    for name, df in small.items():
        assert set(df.USUBJID) <= ids, name


def test_seq_unique(small):
    for name, df in small.items():
        seq = [c for c in df.columns if c.endswith("SEQ")]
        if seq:
            assert not df.duplicated(["USUBJID", seq[0]]).any(), name
            assert df[seq[0]].notna().all()
    assert not small["sv"].duplicated(["USUBJID", "VISITNUM"]).any()


def test_dm_arms_and_populations(small):
    dm = small["dm"]
    sf, nt, tr = (dm[dm.ACTARMCD == c] for c in ("SCRNFAIL", "NOTTRT", "H101TORI"))
    assert len(sf) + len(nt) + len(tr) == len(dm)
    assert 1 <= len(nt) <= 2 and 3 <= len(sf) <= 9
    assert (sf.ARM == "Screen Failure").all() and (sf.ARMCD == "SCRNFAIL").all()
    assert (nt.ARMCD == "H101TORI").all() and (nt.ACTARM == "Assigned, Not Treated").all()
    assert (tr.ARM == "H101 + Toripalimab").all() and (tr.ACTARM == tr.ARM).all()
    for grp in (sf, nt):
        assert (grp.RFSTDTC == "").all() and (grp.RFXSTDTC == "").all()
    assert (tr.RFSTDTC != "").all() and (tr.RFSTDTC == tr.RFXSTDTC).all()
    assert not set(small["ex"].USUBJID) & set(nt.USUBJID)
    assert set(small["ex"].USUBJID) == set(tr.USUBJID)
    gap = (pd.to_datetime(tr.RFSTDTC) - pd.to_datetime(tr.RFICDTC)).dt.days
    assert gap.between(3, 21).all()
    assert dm.AGE.between(45, 82).all() and dm.SITEID.nunique() >= 5
    assert (dm.DTHFL == "Y").eq(dm.DTHDTC != "").all()
    for u in sf.USUBJID:  # screen failures: DM plus a DS consent and a DS screen-failure record
        assert set(small["ds"][small["ds"].USUBJID == u].DSDECOD) == \
            {"INFORMED CONSENT OBTAINED", "SCREEN FAILURE"}
        assert not any((df.USUBJID == u).any() for k, df in small.items() if k not in ("dm", "ds"))
    supp = small["suppdm"]
    assert set(supp.QNAM) == {"HISTOL", "ECOG", "PDL1TPS", "PD1RES", "PRIORLN"}
    assert supp.groupby("USUBJID").size().eq(5).all()
    assert set(supp.USUBJID) == set(tr.USUBJID) | set(nt.USUBJID)


def test_rfxendtc_and_ex(small):
    ex, tr = small["ex"], _treated(small)
    last = ex.groupby("USUBJID").EXSTDTC.max()
    first = ex.groupby("USUBJID").EXSTDTC.min()
    assert (tr.RFXENDTC == last.reindex(tr.index)).all()
    assert (tr.RFXSTDTC == first.reindex(tr.index)).all()
    assert (ex.EXSTDTC == ex.EXENDTC).all()
    h = ex[ex.EXTRT == "H101"]
    assert (h.EXDOSE == 1_000_000_000_000).all() and (h.EXDOSU == "VP").all()
    assert h.groupby("USUBJID").EXROUTE.nunique().eq(1).all()
    assert set(h.EXROUTE) <= {"INTRATUMOR", "INTRAPLEURAL"}
    cyc = h.VISIT.str.extract(r"CYCLE (\d+) DAY (\d+)").astype(int)
    assert cyc[0].le(4).all() and set(cyc[1]) <= {1, 3}
    t = ex[ex.EXTRT == "TORIPALIMAB"]
    assert (t.EXDOSE == 240).all() and (t.EXROUTE == "INTRAVENOUS").all()
    assert t.VISIT.str.endswith("DAY 1").all()


# ------------------------------------------------------------------------------------------------
# dates
# ------------------------------------------------------------------------------------------------
def _valid_iso(value: str) -> bool:
    if not ISO.match(value):
        return False
    try:
        pd.Timestamp(value if len(value) != 7 else value + "-01")
    except ValueError:
        return False
    return True


def _all_dates(d):
    """(domain, column, USUBJID, value) for every non-empty --DTC value."""
    for name, df in d.items():
        for col in _date_cols(df):
            vals = df[df[col] != ""]
            for u, v in zip(vals.USUBJID, vals[col]):
                yield name, col, u, v


def test_dates_valid_and_not_after_cutoff(small, large):
    for d in (small, large):
        for name, col, u, v in _all_dates(d):
            assert _valid_iso(v), (name, col, u, v)
            assert v[:10] <= synth.DATA_CUTOFF[: len(v[:10])], (name, col, u, v)


def test_dates_within_participation(small, large):
    """Consent <= every record <= min(death, cutoff); prior-therapy history excluded."""
    for d in (small, large):
        dm = d["dm"].set_index("USUBJID")
        lo = dm.RFICDTC
        hi = dm.DTHDTC.where(dm.DTHDTC != "", synth.DATA_CUTOFF)
        cm_prior = d["cm"].CMCAT == "PRIOR ANTI-CANCER THERAPY"
        for name, df in d.items():
            if name == "cm":
                df = df[~cm_prior]
            for col in _date_cols(df):
                x = df[df[col] != ""]
                v = x[col]
                lo_x = x.USUBJID.map(lo).str[: 10]
                hi_x = x.USUBJID.map(hi)
                # compare at the precision of the less precise of the two values
                n = np.minimum(v.str.len(), hi_x.str.len())
                assert all(a[:k] <= b[:k] for a, b, k in zip(v, hi_x, n)), (name, col)
                n = np.minimum(v.str.len(), 10)
                assert all(a[:k] >= b[:k] for a, b, k in zip(v, lo_x, n)), (name, col)


def test_ordinary_records_before_death(small, large):
    for d in (small, large):
        dth = _treated(d).DTHDTC
        dth = dth[dth.str.len() == 10]
        for name, col in (("ex", "EXSTDTC"), ("rs", "RSDTC"), ("sv", "SVENDTC"),
                          ("qs", "QSDTC"), ("ae", "AESTDTC")):
            x = d[name][d[name].USUBJID.isin(dth.index)]
            assert (x[col].str[:10] <= x.USUBJID.map(dth)).all(), name
            if name != "ae":
                assert (x[col] < x.USUBJID.map(dth)).all(), name


def test_study_days(small):
    rf = small["dm"].set_index("USUBJID").RFSTDTC
    for name, dy_pairs in DY_VARS.items():
        df = small[name]
        for dtc, dy in dy_pairs:
            ref = df.USUBJID.map(rf)
            ok = (df[dtc].str.len() == 10) & (ref != "")
            diff = (pd.to_datetime(df.loc[ok, dtc]) - pd.to_datetime(ref[ok])).dt.days
            expect = np.where(diff >= 0, diff + 1, diff)
            assert (df.loc[ok, dy].astype(int).to_numpy() == expect).all(), (name, dy)
            assert df.loc[~ok, dy].isna().all(), (name, dy)
            assert not (df[dy] == 0).any()


def test_death_dates(small, large):
    for d in (small, large):
        dm = d["dm"].set_index("USUBJID")
        ds = d["ds"]
        death = ds[ds.DSDECOD == "DEATH"]  # END OF STUDY, plus END OF TREATMENT if on treatment
        dead = dm[dm.DTHDTC != ""]
        assert not death.duplicated(["USUBJID", "DSSCAT"]).any()
        assert set(death[death.DSSCAT == "END OF STUDY"].USUBJID) == set(dead.index)
        assert (death.DSSTDTC == death.USUBJID.map(dm.DTHDTC)).all()
        assert (dead.DTHDTC.str.len() == 7).sum() == 1  # exactly one partial death date


def test_disposition(small):
    ds, tr = small["ds"], _treated(small)
    eot = ds[ds.DSSCAT == "END OF TREATMENT"]
    eos = ds[ds.DSSCAT == "END OF STUDY"]
    assert set(eot.DSDECOD) <= {"PROGRESSIVE DISEASE", "ADVERSE EVENT", "DEATH",
                                "WITHDRAWAL BY SUBJECT", "PHYSICIAN DECISION", "COMPLETED"}
    assert set(eos.DSDECOD) <= {"DEATH", "LOST TO FOLLOW-UP", "WITHDRAWAL BY SUBJECT",
                                "SCREEN FAILURE"}
    assert eot.USUBJID.is_unique and eos.USUBJID.is_unique
    assert (ds.EPOCH != "").all()
    assert ds[ds.DSDECOD == "INFORMED CONSENT OBTAINED"].USUBJID.nunique() == len(small["dm"])
    # DM.RFENDTC = end-of-study date, empty while ongoing
    rfen = eos.set_index("USUBJID").DSSTDTC
    assert (tr.RFENDTC == rfen.reindex(tr.index).fillna("")).all()
    # last contact of subjects alive and followed at cutoff within ~8 weeks
    sv = small["sv"]
    last = pd.to_datetime(sv.groupby("USUBJID").SVENDTC.max())
    alive = tr[(tr.RFENDTC == "")].index
    assert ((CUTOFF - last.reindex(alive)).dt.days <= 56).all()


# ------------------------------------------------------------------------------------------------
# adverse events
# ------------------------------------------------------------------------------------------------
def test_ae_ctcae_terms_and_grades(small, large):
    ct = _ctcae()
    for d in (small, large):
        ae = d["ae"]
        assert ae.AEDECOD.isin(ct.index).all()
        row = ct.loc[ae.AEDECOD]
        assert (row.SOC.to_numpy() == ae.AEBODSYS.to_numpy()).all()
        assert (row.MEDDRA_CODE.astype(int).to_numpy() == ae.AELLTCD.astype(int).to_numpy()).all()
        allowed = [row.iloc[i][f"G{g}"] == "Y" for i, g in enumerate(ae.AETOXGR.astype(int))]
        assert all(allowed)
        assert ((ae.AETOXGR == 5) == (ae.AEOUT == "FATAL")).all()
        assert (ae.AETOXGR == 5).sum() <= 1
        sev = ae.AETOXGR.map({1: "MILD", 2: "MODERATE", 3: "SEVERE", 4: "SEVERE", 5: "SEVERE"})
        assert (sev == ae.AESEV).all()
        assert set(ae.AEOUT) <= {"RECOVERED/RESOLVED", "RECOVERING/RESOLVING",
                                 "NOT RECOVERED/NOT RESOLVED", "FATAL"}
        assert set(ae.AESER) <= {"Y", "N"}
        assert ((ae.AEENDTC == "") == ae.AEOUT.isin(["RECOVERING/RESOLVING",
                                                      "NOT RECOVERED/NOT RESOLVED"])).all()


def test_grade5_ends_on_death_date(small, large):
    for d in (small, large):
        ae = d["ae"]
        g5 = ae[ae.AETOXGR == 5]
        dth = d["dm"].set_index("USUBJID").DTHDTC
        assert (g5.AEENDTC.to_numpy() == g5.USUBJID.map(dth).to_numpy()).all()
        assert (g5.AESER == "Y").all()
    assert (small["ae"].AETOXGR == 5).sum() == 1


def test_ae_dates_ordered_and_partial(small):
    ae = small["ae"]
    both = ae[(ae.AEENDTC != "")]
    assert (both.AEENDTC >= both.AESTDTC).all()
    assert 1 <= (ae.AESTDTC.str.len() == 7).sum() <= 2
    assert (ae.AESTDTC.str.len() >= 7).all()


def test_suppae(small):
    ae, supp = small["ae"], small["suppae"]
    assert len(supp) == 3 * len(ae)
    assert (supp.IDVAR == "AESEQ").all()
    wide = supp.pivot(index=["USUBJID", "IDVARVAL"], columns="QNAM", values="QVAL")
    key = list(zip(ae.USUBJID, ae.AESEQ.astype(str)))
    wide = wide.loc[key]
    assert set(wide.AERELH1) | set(wide.AERELPD) <= {"RELATED", "NOT RELATED"}
    assert set(wide.AEIRFL) <= {"Y", "N"}
    rel = np.where((wide.AERELH1 == "RELATED") | (wide.AERELPD == "RELATED"), "RELATED",
                   "NOT RELATED")
    assert (rel == ae.AEREL.to_numpy()).all()


def _days_after_last_h101(d):
    ex, ae = d["ex"], d["ae"]
    last = pd.to_datetime(ex[ex.EXTRT == "H101"].groupby("USUBJID").EXSTDTC.max())
    full = ae[ae.AESTDTC.str.len() == 10]
    return (pd.to_datetime(full.AESTDTC) - full.USUBJID.map(last)).dt.days


def test_ae_window_boundary_cases(small):
    """Default trial: an AE 30-37 days after the last H101 dose and one at 38-45 days."""
    gap = _days_after_last_h101(small)
    assert gap.between(30, 37).any()
    assert gap.between(38, 45).any()


def test_ae_profile(large):
    tr = _treated(large)
    ae = large["ae"]
    inc = ae.groupby("AEDECOD").USUBJID.nunique() / len(tr)
    assert 0.5 <= inc["Fever"] <= 0.95
    assert 0.02 <= inc["Hypothyroidism"] <= 0.12
    assert 0.01 <= inc["Pneumonitis"] <= 0.10
    supp = large["suppae"].pivot(index=["USUBJID", "IDVARVAL"], columns="QNAM", values="QVAL")
    ae_k = ae.set_index(["USUBJID", ae.AESEQ.astype(str)])
    h1 = ae_k[supp.loc[ae_k.index].AERELH1.to_numpy() == "RELATED"]
    assert h1[h1.AETOXGR >= 3].index.get_level_values(0).nunique() / len(tr) < 0.05


# ------------------------------------------------------------------------------------------------
# RECIST 1.1: independent re-implementation from TR
# ------------------------------------------------------------------------------------------------
def _recist_from_tr(d) -> pd.DataFrame:
    """Expected RS values per (USUBJID, VISIT), recomputed from TR only.

    Target: SoD of LDIAM (non-nodal) + SAXIS (nodal); PR if SoD <= 0.7 x baseline; PD if
    SoD >= 1.2 x nadir and >= nadir + 5 (nadir = smallest complete SoD before the visit,
    baseline included); CR if non-nodal 0 and nodes < 10; missing lesion -> NE unless the
    partial sum already shows PD. Non-target: PD / NE / CR / NON-CR/NON-PD from TUMSTATE.
    Overall: RECIST 1.1 Table 1 / Table 2.
    """
    tr = d["tr"].copy()
    tr["date"] = tr.TRDTC
    out = []
    for uid, g in tr.groupby("USUBJID", sort=False):
        g = g.sort_values(["date", "TRSEQ"])
        tgt = g[g.TRTESTCD.isin(["LDIAM", "SAXIS"])]
        nt = g[g.TRLNKID.str.startswith("NT")]
        new = g[g.TRLNKID.str.startswith("NEW")]
        visits = list(dict.fromkeys(g.VISIT))
        base_visit = visits[0]
        assert base_visit == "BASELINE"
        base = tgt[tgt.VISIT == base_visit]
        base_sum = base.TRSTRESN.sum() if len(base) else None
        nadir = base_sum
        for v in visits[1:]:
            rec = {"USUBJID": uid, "VISIT": v}
            if len(base):
                cur = tgt[tgt.VISIT == v]
                assert set(cur.TRLNKID) == set(base.TRLNKID)
                vals = cur.TRSTRESN
                s = int(vals.sum())
                pd_rule = s >= 1.2 * nadir and s - nadir >= 5
                if vals.isna().any():
                    rec["TRGRESP"] = "PD" if pd_rule else "NE"
                else:
                    nodal = cur.TRTESTCD == "SAXIS"
                    if pd_rule:
                        rec["TRGRESP"] = "PD"
                    elif (vals[~nodal] == 0).all() and (vals[nodal] < 10).all():
                        rec["TRGRESP"] = "CR"
                    elif s <= 0.7 * base_sum:
                        rec["TRGRESP"] = "PR"
                    else:
                        rec["TRGRESP"] = "SD"
                    nadir = min(nadir, s)
            states = nt[nt.VISIT == v].TRSTRESC
            if len(states):
                if (states == "UNEQUIVOCAL PROGRESSION").any():
                    rec["NTRGRESP"] = "PD"
                elif (states == "ABSENT").all():
                    rec["NTRGRESP"] = "CR"
                else:
                    rec["NTRGRESP"] = "NON-CR/NON-PD"
            has_new = (new[new.VISIT == v].TRSTRESC == "PRESENT").any()
            rec["NEWLPROG"] = "Y" if has_new else "N"
            t, n = rec.get("TRGRESP"), rec.get("NTRGRESP")
            if has_new or t == "PD" or n == "PD":
                o = "PD"
            elif t is None:
                o = {"CR": "CR", "NE": "NE"}.get(n, "NON-CR/NON-PD")
            elif t == "NE":
                o = "NE"
            elif t == "CR":
                o = "CR" if n in (None, "CR") else "PR"
            else:
                o = t
            rec["OVRLRESP"] = o
            out.append(rec)
    return pd.DataFrame(out)


@pytest.mark.parametrize("which", ["small", "large"])
def test_rs_follows_recist_from_tr(which, request):
    d = request.getfixturevalue(which)
    exp = _recist_from_tr(d).melt(id_vars=["USUBJID", "VISIT"], var_name="RSTESTCD",
                                  value_name="EXPECTED").dropna()
    rs = d["rs"]
    assert (rs.RSCAT == "RECIST 1.1").all() and (rs.RSEVAL == "INVESTIGATOR").all()
    assert (rs.RSORRES == rs.RSSTRESC).all()
    assert set(rs.RSSTRESC) <= {"CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "Y", "N"}
    m = rs.merge(exp, on=["USUBJID", "VISIT", "RSTESTCD"], how="outer", indicator=True)
    assert (m._merge == "both").all(), m[m._merge != "both"].head()
    bad = m[m.RSSTRESC != m.EXPECTED]
    assert bad.empty, bad.head()


def test_sumdiam_is_sum(small):
    tr = small["tr"]
    lesions = tr[tr.TRTESTCD.isin(["LDIAM", "SAXIS"])]
    sums = lesions.groupby(["USUBJID", "VISIT"]).TRSTRESN.agg(lambda s: s.sum(min_count=len(s)))
    sd = tr[tr.TRTESTCD == "SUMDIAM"].set_index(["USUBJID", "VISIT"]).TRSTRESN
    assert (sd.isna() == sums.reindex(sd.index).isna()).all()
    ok = sd.notna()
    assert (sd[ok] == sums.reindex(sd.index)[ok]).all()
    assert (tr[tr.TRTESTCD == "SUMDIAM"].TRSTAT.eq("NOT DONE") == sd.isna().to_numpy()).all()


def test_tumour_structure(small):
    tu, tr = small["tu"], small["tr"]
    base = tu[tu.VISIT == "BASELINE"]
    targets = base[base.TUORRES == "TARGET"].groupby("USUBJID").size()
    assert targets.between(1, 5).all()
    per_organ = base[base.TUORRES == "TARGET"].groupby(["USUBJID", "TULOC"]).size()
    assert per_organ.le(2).all()
    ld = tr[(tr.VISIT == "BASELINE") & (tr.TRTESTCD == "LDIAM")].TRSTRESN
    sa = tr[(tr.VISIT == "BASELINE") & (tr.TRTESTCD == "SAXIS")].TRSTRESN
    assert ld.between(10, 70).all() and sa.between(15, 40).all()
    assert set(tu[tu.TUORRES == "NEW"].TULNKID.str[:3]) <= {"NEW"}
    assert (tu.TUMETHOD == "CT SCAN").all() and (tr.TREVAL == "INVESTIGATOR").all()
    # at least one NE time point, one unconfirmed PR, one CR, a PD by new lesion only
    rs = small["rs"]
    o = rs[rs.RSTESTCD == "OVRLRESP"]
    assert 1 <= (o.RSSTRESC == "NE").sum() <= 3
    assert (o.RSSTRESC == "CR").any()
    seqs = o.sort_values(["USUBJID", "RSSEQ"]).groupby("USUBJID").RSSTRESC.apply(list)
    assert any(a == "PR" and b == "SD" for s in seqs for a, b in zip(s, s[1:]))
    assert any("PD" in s and s.index("PD") < len(s) - 1 for s in seqs)  # scan after first PD


# ------------------------------------------------------------------------------------------------
# efficacy realism (lifelines Kaplan-Meier on the shared larger sample)
# ------------------------------------------------------------------------------------------------
def _efficacy(d):
    """Confirmed ORR, and PFS / OS (months from first dose) per treated subject."""
    tr = _treated(d)
    start = pd.to_datetime(tr.RFSTDTC)
    rs = d["rs"]
    o = rs[rs.RSTESTCD == "OVRLRESP"].copy()
    o["date"] = pd.to_datetime(o.RSDTC)
    o = o.sort_values(["USUBJID", "date"])
    dth = tr.DTHDTC.where(tr.DTHDTC.str.len() != 7, tr.DTHDTC + "-01")
    dth = pd.to_datetime(dth.replace("", None))
    sv = d["sv"]
    lka = pd.to_datetime(sv.SVENDTC).groupby(sv.USUBJID).max()
    rows = []
    for uid in tr.index:
        x = o[o.USUBJID == uid]
        pd_dates = x[x.RSSTRESC == "PD"].date
        first_pd = pd_dates.min() if len(pd_dates) else pd.NaT
        pre = x[x.date < first_pd] if pd.notna(first_pd) else x
        resp = pre[pre.RSSTRESC.isin(["CR", "PR"])].date
        confirmed = any(((resp - r).dt.days >= 28).any() for r in resp)
        if pd.notna(first_pd) and (pd.isna(dth[uid]) or first_pd <= dth[uid]):
            pfs, pfs_e = first_pd, 1
        elif pd.notna(dth[uid]):
            pfs, pfs_e = dth[uid], 1
        else:
            pfs, pfs_e = (pre.date.max() if len(pre) else start[uid]), 0
        os_, os_e = (dth[uid], 1) if pd.notna(dth[uid]) else (lka[uid], 0)
        rows.append(dict(USUBJID=uid, CONF=confirmed,
                         PFS=((pfs - start[uid]).days + 1) / 30.4375, PFS_E=pfs_e,
                         OS=((os_ - start[uid]).days + 1) / 30.4375, OS_E=os_e))
    return pd.DataFrame(rows)


def test_efficacy_realism(large):
    from lifelines import KaplanMeierFitter

    eff = _efficacy(large)
    orr = eff.CONF.mean()
    assert 0.15 <= orr <= 0.35, orr
    mpfs = KaplanMeierFitter().fit(eff.PFS, eff.PFS_E).median_survival_time_
    mos = KaplanMeierFitter().fit(eff.OS, eff.OS_E).median_survival_time_
    assert 3.5 <= mpfs <= 6.5, mpfs
    assert 9 <= mos <= 15, mos
    no_scan = ~_treated(large).index.isin(large["rs"].USUBJID)
    assert 0.05 <= no_scan.mean() <= 0.13


def test_covariates_carry_signal(large):
    """Acquired resistance, epithelioid, ECOG 0 and PD-L1 >= 1 % should each raise the
    confirmed response rate (noisy but real, for the influencing-factors analysis)."""
    eff = _efficacy(large).set_index("USUBJID")
    cov = large["suppdm"].pivot(index="USUBJID", columns="QNAM", values="QVAL")
    cov = cov.loc[eff.index]
    for good in (cov.PD1RES == "ACQUIRED", cov.HISTOL == "EPITHELIOID", cov.ECOG == "0",
                 cov.PDL1TPS.astype(int) >= 1):
        assert eff.CONF[good.to_numpy()].mean() > eff.CONF[~good.to_numpy()].mean()


# ------------------------------------------------------------------------------------------------
# QLQ-C30
# ------------------------------------------------------------------------------------------------
def test_qs(small, large):
    for d in (small, large):
        qs = d["qs"]
        assert (qs.QSCAT == "EORTC QLQ-C30 V3.0").all()
        items = qs[qs.QSTESTCD != "QSALL"]
        num = items.QSTESTCD.str[-2:].astype(int)
        assert set(num) == set(range(1, 31))
        done = items[items.QSSTAT == ""]
        n = done.QSTESTCD.str[-2:].astype(int)
        assert done.QSSTRESN[n <= 28].between(1, 4).all()
        assert done.QSSTRESN[n >= 29].between(1, 7).all()
        txt = dict(enumerate(["Not at All", "A Little", "Quite a Bit", "Very Much"], start=1))
        assert (done.QSORRES[n <= 28] == done.QSSTRESN[n <= 28].map(txt)).all()
        assert (done.QSSTRESC == done.QSSTRESN.astype(str)).all()
        miss = items[items.QSSTAT == "NOT DONE"]
        assert miss.QSSTRESN.isna().all() and (miss.QSORRES == "").all()
        assert 0.005 <= len(miss) / len(items) <= 0.03
        qsall = qs[qs.QSTESTCD == "QSALL"]
        assert (qsall.QSSTAT == "NOT DONE").all() and (qsall.QSREASND != "").all()
        per_visit = items.groupby(["USUBJID", "VISIT"]).size()
        assert per_visit.eq(30).all()
    qs = large["qs"]
    forms = qs.drop_duplicates(["USUBJID", "VISIT"])
    bl = forms[forms.VISIT == "BASELINE"]
    assert 0.9 <= (bl.QSTESTCD != "QSALL").mean() <= 0.99
    late = forms[forms.VISIT.isin(["WEEK 24", "WEEK 30", "WEEK 36"])]
    assert 0.6 <= (late.QSTESTCD != "QSALL").mean() <= 0.85


def test_qol_depends_on_ecog(large):
    qs = large["qs"]
    ql = qs[(qs.VISIT == "BASELINE") & qs.QSTESTCD.isin(["EOR0129", "EOR0130"])]
    ql = ql.groupby("USUBJID").QSSTRESN.mean()
    ecog = large["suppdm"].query("QNAM == 'ECOG'").set_index("USUBJID").QVAL
    assert ql[ecog.reindex(ql.index) == "0"].mean() > ql[ecog.reindex(ql.index) == "1"].mean()


# ------------------------------------------------------------------------------------------------
# concomitant / prior / subsequent therapy
# ------------------------------------------------------------------------------------------------
def test_cm(small):
    cm = small["cm"]
    prior = cm[cm.CMCAT == "PRIOR ANTI-CANCER THERAPY"]
    lines = prior.groupby("USUBJID").CMSCAT.nunique()
    priorln = small["suppdm"].query("QNAM == 'PRIORLN'").set_index("USUBJID").QVAL.astype(int)
    assert (lines == priorln.reindex(lines.index)).all()
    pd1 = {"NIVOLUMAB", "PEMBROLIZUMAB", "TORIPALIMAB", "SINTILIMAB", "TISLELIZUMAB",
           "CAMRELIZUMAB"}
    assert prior.groupby("USUBJID").CMTRT.apply(lambda s: bool(set(s) & pd1)).all()
    rf = small["dm"].set_index("USUBJID").RFICDTC
    assert (prior.CMENDTC < prior.USUBJID.map(rf).str[:7]).all()
    assert set(cm.CMCAT) >= {"PRIOR ANTI-CANCER THERAPY", "SUBSEQUENT ANTI-CANCER THERAPY"}


# ------------------------------------------------------------------------------------------------
# CTCAE term list extraction
# ------------------------------------------------------------------------------------------------
def test_lb(small, large):
    """LB: NEUT, LYM, ALB, LDH per sample in one unit each; samples only on days that are
    contacts in SV (so LB cannot move a last-alive date) and never after death; LBBLFL on the
    last non-missing pre-dose result (SDTMIG 3.3). Baseline NLR realistic for MPM: median 3-4.5
    and 20-45 % at NLR >= 5 (Kao et al., Clin Cancer Res 2010;16:5805-13: 42 % of 173 patients
    had NLR >= 5)."""
    for d in (small, large):
        lb, dm = d["lb"], d["dm"].set_index("USUBJID")
        assert set(lb.LBTESTCD) == {"NEUT", "LYM", "ALB", "LDH"}
        assert lb.groupby("LBTESTCD").LBSTRESU.nunique().eq(1).all()
        assert set(lb.USUBJID) == set(dm.index[dm.ARMCD == "H101TORI"])
        done = lb.LBSTRESN.notna()
        assert (done == lb.LBSTAT.eq("")).all() and (lb.LBSTRESN[done] > 0).all()
        sv = d["sv"]
        contact = set(zip(sv.USUBJID, sv.SVSTDTC)) | set(zip(sv.USUBJID, sv.SVENDTC))
        assert set(zip(lb.USUBJID, lb.LBDTC)) <= contact | set(zip(d["ex"].USUBJID, d["ex"].EXSTDTC))
        death = pd.to_datetime(lb.USUBJID.map(dm.DTHDTC).replace("", None), errors="coerce")
        assert not (pd.to_datetime(lb.LBDTC) > death).any()
        first = pd.to_datetime(lb.USUBJID.map(dm.RFXSTDTC).replace("", None))
        pre = lb[done & (pd.to_datetime(lb.LBDTC) <= first)]
        expected = pre.sort_values(["USUBJID", "LBTESTCD", "LBDTC"]).groupby(["USUBJID", "LBTESTCD"]).tail(1).index
        assert sorted(expected) == sorted(lb.index[lb.LBBLFL.eq("Y")])
    lb = large["lb"]
    bl = lb[lb.LBBLFL.eq("Y")].pivot(index="USUBJID", columns="LBTESTCD", values="LBSTRESN")
    nlr = (bl.NEUT / bl.LYM).dropna()
    assert 3.0 <= nlr.median() <= 4.5 and 0.20 <= (nlr >= 5).mean() <= 0.45


def test_ctcae_csv():
    raw = CTCAE_CSV.read_bytes()
    assert b"\r" not in raw
    ct = _ctcae()
    assert len(ct) == 837 and ct.MEDDRA_CODE.is_unique
    assert list(ct.columns) == ["MEDDRA_CODE", "SOC", "G1", "G2", "G3", "G4", "G5"]
    assert (ct.loc["Fever", ["G1", "G2", "G3", "G4", "G5"]] == "Y").all()
    assert ct.loc["Fatigue", "G4"] == "N" and ct.loc["Fatigue", "G5"] == "N"
    assert ct.loc["Alanine aminotransferase increased", "G5"] == "N"
    keys = list(zip(ct.SOC, ct.index))
    assert keys == sorted(keys)


def test_extract_ctcae_reproduces_csv(tmp_path):
    if not CTCAE_XLSX.exists():
        pytest.skip(f"NCI workbook not available: {CTCAE_XLSX}")
    pytest.importorskip("openpyxl")
    spec = importlib.util.spec_from_file_location("extract_ctcae",
                                                  ROOT / "tools" / "extract_ctcae.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "terms.csv"
    assert mod.main([str(CTCAE_XLSX), str(out)]) == 0
    assert out.read_bytes() == CTCAE_CSV.read_bytes()


def test_committed_demo_data_is_reproduced_byte_for_byte(tmp_path):
    """data/demo is what `mpm synth --n 40 --seed 20261124` writes (`make data`); a change to the
    generator that alters the demo must come with regenerated data."""
    from mpmlib.settings.load import PROJECT_ROOT

    committed = PROJECT_ROOT / "data" / "demo"
    written = synth.write_sdtm_csv(synth.generate_trial(n=40, seed=20261124), tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in committed.glob("*.csv"))
    for path in written:
        assert path.read_bytes() == (committed / path.name).read_bytes(), path.name


def test_death_details_one_primary_cause_per_death(large):
    """DD (SDTMIG 3.3 Death Details): one PRCDTH record per DS death, on the same date; the
    grade-5 AE subject's cause is that AE's term; deaths after a RECIST progression in RS are
    mostly of disease progression (the post-progression hazard, docs/synthetic-trial.md)."""
    dd, ds, ae, rs = large["dd"], large["ds"], large["ae"], large["rs"]
    death = ds[ds["DSDECOD"].eq("DEATH")]
    assert dd["DDTESTCD"].eq("PRCDTH").all() and not dd["USUBJID"].duplicated().any()
    assert dict(zip(dd["USUBJID"], dd["DDDTC"])) == dict(zip(death["USUBJID"], death["DSSTDTC"]))
    fatal = ae[ae["AEOUT"].eq("FATAL")]
    assert len(fatal) == 1
    assert dd.set_index("USUBJID").loc[fatal["USUBJID"].iloc[0], "DDSTRESC"] == fatal["AEDECOD"].iloc[0].upper()
    progressed = set(rs.loc[rs["RSTESTCD"].eq("OVRLRESP") & rs["RSSTRESC"].eq("PD"), "USUBJID"])
    after_pd = dd[dd["USUBJID"].isin(progressed)]
    assert after_pd["DDSTRESC"].eq("DISEASE PROGRESSION").mean() > 0.9
    assert set(dd["DDSTRESC"]) <= {"DISEASE PROGRESSION", "CARDIAC ARREST", "UNKNOWN", "PNEUMONITIS"}
