"""SDTM assembly of the synthetic trial: record dicts to DataFrames in the shape of docs/data-spec.md.

Fixed column order, sort keys and ``--SEQ`` per domain; ISO 8601 dates and ``--DY`` study days
from ``DM.RFSTDTC`` per SDTMIG 3.3 §4.4.4 (no day 0; empty for partial dates and subjects
never dosed); consistent dtypes; the locale-free number text used in LB and in the CSV files.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mpmlib.synth.study import EPOCH, STUDYID


# =============================================================================================
# Output column order, sort keys, --SEQ and --DY variables per domain (fixed; see trial.write_sdtm_csv)
# =============================================================================================
COLUMNS = {
    "dm": ["STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFENDTC", "RFXSTDTC",
           "RFXENDTC", "RFICDTC", "DTHDTC", "DTHFL", "SITEID", "AGE", "AGEU", "SEX", "RACE",
           "ETHNIC", "ARMCD", "ARM", "ACTARMCD", "ACTARM", "COUNTRY", "DMDTC"],
    "suppdm": ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL",
               "QORIG", "QEVAL"],
    "ex": ["STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRM",
           "EXDOSFRQ", "EXROUTE", "VISITNUM", "VISIT", "EPOCH", "EXSTDTC", "EXENDTC", "EXSTDY",
           "EXENDY"],
    "ae": ["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AELLTCD", "AEDECOD", "AEBODSYS",
           "AESEV", "AESER", "AEACN", "AEREL", "AEOUT", "AETOXGR", "AESTDTC", "AEENDTC",
           "AESTDY", "AEENDY"],
    "suppae": ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL",
               "QORIG", "QEVAL"],
    "rs": ["STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST", "RSCAT", "RSORRES",
           "RSSTRESC", "RSSTAT", "RSREASND", "RSEVAL", "RSACPTFL", "VISITNUM", "VISIT", "RSDTC",
           "RSDY"],
    "tr": ["STUDYID", "DOMAIN", "USUBJID", "TRSEQ", "TRGRPID", "TRLNKID", "TRTESTCD", "TRTEST",
           "TRORRES", "TRORRESU", "TRSTRESC", "TRSTRESN", "TRSTRESU", "TRSTAT", "TRREASND",
           "TRMETHOD", "TREVAL", "VISITNUM", "VISIT", "TRDTC", "TRDY"],
    "tu": ["STUDYID", "DOMAIN", "USUBJID", "TUSEQ", "TUGRPID", "TULNKID", "TUTESTCD", "TUTEST",
           "TUORRES", "TUSTRESC", "TULOC", "TUMETHOD", "TUEVAL", "VISITNUM", "VISIT", "TUDTC",
           "TUDY"],
    "qs": ["STUDYID", "DOMAIN", "USUBJID", "QSSEQ", "QSTESTCD", "QSTEST", "QSCAT", "QSORRES",
           "QSSTRESC", "QSSTRESN", "QSSTAT", "QSREASND", "VISITNUM", "VISIT", "QSDTC", "QSDY"],
    "ds": ["STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "DSSCAT",
           "EPOCH", "DSSTDTC", "DSSTDY"],
    "cm": ["STUDYID", "DOMAIN", "USUBJID", "CMSEQ", "CMTRT", "CMCAT", "CMSCAT", "CMINDC",
           "CMSTDTC", "CMENDTC", "CMSTDY", "CMENDY"],
    "sv": ["STUDYID", "DOMAIN", "USUBJID", "VISITNUM", "VISIT", "SVSTDTC", "SVENDTC", "SVSTDY",
           "SVENDY"],
    "lb": ["STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBCAT", "LBORRES",
           "LBORRESU", "LBORNRLO", "LBORNRHI", "LBSTRESC", "LBSTRESN", "LBSTRESU", "LBSTNRLO",
           "LBSTNRHI", "LBNRIND", "LBSTAT", "LBREASND", "LBSPEC", "LBBLFL", "VISITNUM", "VISIT",
           "EPOCH", "LBDTC", "LBDY"],
    "dd": ["STUDYID", "DOMAIN", "USUBJID", "DDSEQ", "DDTESTCD", "DDTEST", "DDORRES", "DDSTRESC",
           "DDDTC", "DDDY"],
}
SORT_KEYS = {"dm": ["USUBJID"], "suppdm": ["USUBJID", "QNAM"],
             "suppae": ["USUBJID", "IDVARVAL", "QNAM"], "sv": ["USUBJID", "VISITNUM"],
             "ex": ["USUBJID", "EXSEQ"], "ae": ["USUBJID", "AESEQ"], "rs": ["USUBJID", "RSSEQ"],
             "tr": ["USUBJID", "TRSEQ"], "tu": ["USUBJID", "TUSEQ"], "qs": ["USUBJID", "QSSEQ"],
             "ds": ["USUBJID", "DSSEQ"], "cm": ["USUBJID", "CMSEQ"], "lb": ["USUBJID", "LBSEQ"],
             "dd": ["USUBJID", "DDSEQ"]}
SEQ_VAR = {"ex": "EXSEQ", "ae": "AESEQ", "rs": "RSSEQ", "tr": "TRSEQ", "tu": "TUSEQ",
           "qs": "QSSEQ", "ds": "DSSEQ", "cm": "CMSEQ", "lb": "LBSEQ", "dd": "DDSEQ"}
# (date variable -> study-day variable) pairs computed from DM.RFSTDTC per SDTMIG (no day 0)
DY_VARS = {"ex": [("EXSTDTC", "EXSTDY"), ("EXENDTC", "EXENDY")],
           "ae": [("AESTDTC", "AESTDY"), ("AEENDTC", "AEENDY")], "rs": [("RSDTC", "RSDY")],
           "tr": [("TRDTC", "TRDY")], "tu": [("TUDTC", "TUDY")], "qs": [("QSDTC", "QSDY")],
           "ds": [("DSSTDTC", "DSSTDY")], "cm": [("CMSTDTC", "CMSTDY"), ("CMENDTC", "CMENDY")],
           "sv": [("SVSTDTC", "SVSTDY"), ("SVENDTC", "SVENDY")], "lb": [("LBDTC", "LBDY")],
           "dd": [("DDDTC", "DDDY")]}
DOMAINS = list(COLUMNS)


def _dtc(values) -> tuple[np.ndarray, np.ndarray]:
    """ISO 8601 strings and day numbers (float, NaN if not a complete date) from a list of day
    numbers (int, or float when pandas upcast a column with missing values), ready-made
    (partial) date strings, or None/NaN (-> '')."""
    out = np.empty(len(values), dtype=object)
    days = np.full(len(values), np.nan)
    ints = np.array([isinstance(v, (int, np.integer)) or (isinstance(v, float) and v == v)
                     for v in values], dtype=bool)
    if ints.any():
        d = np.array([v for v, ok in zip(values, ints) if ok], dtype=np.int64)
        out[ints] = np.datetime_as_string(EPOCH + d.astype("timedelta64[D]"), unit="D")
        days[ints] = d
    for i in np.flatnonzero(~ints):
        out[i] = values[i] if isinstance(values[i], str) else ""
    return out, days


def frame(domain: str, rows: list[dict]) -> pd.DataFrame:
    """DataFrame for a domain from record dicts keyed by SDTM variable names.

    A row's ``_sort`` tuple (chronological order for --SEQ) becomes columns ``_s0, _s1, ...``;
    other keys starting with ``_`` are kept as helper columns.
    """
    cols = list(COLUMNS[domain])
    extra = sorted(k for k in rows[0] if k.startswith("_") and k != "_sort") if rows else []
    df = pd.DataFrame(rows, columns=cols + extra)
    if rows and "_sort" in rows[0]:
        keys = pd.DataFrame([r["_sort"] for r in rows])
        for j in keys.columns:
            df[f"_s{j}"] = keys[j].to_numpy()
    if "STUDYID" in cols:
        df["STUDYID"] = STUDYID
    if "DOMAIN" in cols:
        df["DOMAIN"] = domain.upper()
    return df


def finish(domain: str, df: pd.DataFrame, rfst: dict[str, float],
           keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """Dates to ISO strings, --SEQ in chronological order, --DY per SDTMIG, final sort.

    Study day (SDTMIG 3.3 §4.4.4): date − RFSTDTC + 1 on or after the reference date, date −
    RFSTDTC before it; there is no day 0. Empty for partial dates and subjects never dosed.
    """
    ref = df["USUBJID"].map(rfst).to_numpy(dtype="float64")
    dy_of = dict(DY_VARS.get(domain, []))
    for col in [c for c in COLUMNS[domain] if c.endswith("DTC")]:
        text, days = _dtc(df[col].tolist())
        df[col] = text
        if col in dy_of:
            diff = days - ref
            dy = np.where(diff >= 0, diff + 1, diff)
            df[dy_of[col]] = pd.array(np.where(np.isnan(dy), np.nan, dy), dtype="Int64")
    sort_cols = sorted(c for c in df.columns if c.startswith("_s") and c[2:].isdigit())
    if domain in SEQ_VAR:
        df = df.sort_values(["USUBJID"] + sort_cols, kind="stable").reset_index(drop=True)
        df[SEQ_VAR[domain]] = df.groupby("USUBJID", sort=False).cumcount().astype(np.int64) + 1
    df = df[COLUMNS[domain] + list(keep)]
    return df.sort_values(SORT_KEYS[domain], kind="stable").reset_index(drop=True)


_INT_VARS = {"AGE", "EXSEQ", "AESEQ", "RSSEQ", "TRSEQ", "TUSEQ", "QSSEQ", "DSSEQ", "CMSEQ",
             "VISITNUM", "AELLTCD", "AETOXGR", "EXDOSE", "TRSTRESN", "QSSTRESN", "LBSEQ"}
_FLOAT_VARS = {"LBSTRESN", "LBSTNRLO", "LBSTNRHI"}  # laboratory results and ranges (decimals)


def typed(out: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Consistent dtypes: numeric variables as nullable Int64 (all are integer-valued), all
    other variables as text with '' for missing."""
    for dom, df in out.items():
        df = df.copy()
        for col in df.columns:
            if col in _INT_VARS or col.endswith("DY"):
                df[col] = pd.array(pd.to_numeric(df[col]), dtype="Int64")
            elif col in _FLOAT_VARS:
                df[col] = pd.to_numeric(df[col]).astype("float64")
            else:
                df[col] = df[col].fillna("").astype(str)
        out[dom] = df.reset_index(drop=True)
    return out


def fmt_number(x) -> str:
    """Fixed, locale-free number text: integers as integers, other floats positional."""
    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return ""
    if float(x).is_integer():
        return str(int(x))
    return np.format_float_positional(float(x), trim="-")
