"""Read SDTM domains from a folder in any mix of CSV, SAS XPT, Parquet and R .rda files.

Rules (docs/data-spec.md):

* one file per domain; the file stem, case-insensitive, is the domain (``dm.csv``, ``AE.xpt``);
  a parameter file may map a domain to another file name (``rs: rs_onco_recist.rda``);
* column names are upper-cased; character values are stripped, and blanks become missing (NaN);
* ``--DTC`` text is kept exactly as delivered (partial dates allowed);
* SDTM numeric variables (``AGE``, ``--SEQ``, ``--DY``, ``--STRESN``, ``--DOSE``, ``VISITNUM``…)
  are converted to numbers; a value that is not a number is a :class:`DataError`;
* SAS XPORT is read with pyreadstat, never pandas: ``pandas.read_sas`` returns 5.4e-79 for some
  zeros (pandas-dev/pandas#50670), which in the CDISC pilot ADTTE turns every event into a
  censoring.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

READERS = {".csv": "csv", ".xpt": "xpt", ".parquet": "parquet", ".rda": "rda", ".rdata": "rda"}
DOMAIN_STEM = re.compile(r"^(?:[a-z]{2}|supp[a-z]{2})$")
NUMERIC_NAMES = {"AGE", "VISITNUM", "VISITDY", "TAETORD", "IDVARVAL_N"}
NUMERIC_SUFFIXES = ("SEQ", "STRESN", "DY", "DOSE", "DOSTOT", "TPTNUM", "STNRLO", "STNRHI")


def is_numeric_variable(name: str) -> bool:
    """SDTM variables of type Num in SDTMIG 3.3 that the project reads (by name and suffix)."""
    return name in NUMERIC_NAMES or (name.endswith(NUMERIC_SUFFIXES) and not name.endswith("DTC"))


def find_domain_files(folder: str | Path, file_map: dict[str, str] | None = None) -> dict[str, Path]:
    """Map each domain (lower-case) to its file in ``folder``.

    Files named like a domain (two letters, or ``supp`` + two letters) with a known extension are
    taken; ``file_map`` adds or overrides domains with explicitly named files (relative to
    ``folder``). Two files for one domain (``dm.csv`` and ``dm.xpt``) are an error.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("SDTM", None, f"input folder does not exist: {folder}")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        stem, ext = path.stem.lower(), path.suffix.lower()
        if ext not in READERS or not DOMAIN_STEM.match(stem):
            continue
        if stem in found:
            raise DataError(stem.upper(), None, "more than one file for the domain",
                            detail=f"{found[stem].name} and {path.name}; keep one")
        found[stem] = path
    for domain, name in (file_map or {}).items():
        path = folder / name
        if not path.is_file():
            raise DataError(domain.upper(), None, f"mapped file does not exist: {path}")
        if path.suffix.lower() not in READERS:
            raise DataError(domain.upper(), None, f"unsupported file type: {path.name}",
                            detail="use .csv, .xpt, .parquet or .rda")
        found[domain.lower()] = path
    return found


def read_domain(path: str | Path, domain: str | None = None) -> pd.DataFrame:
    """Read one SDTM domain file into a DataFrame following the module rules."""
    path = Path(path)
    domain = (domain or path.stem).upper()
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(domain, None, f"unsupported file type: {path.name}",
                        detail="use .csv, .xpt, .parquet or .rda")
    if not path.is_file():
        raise DataError(domain, None, f"file does not exist: {path}")
    if path.stat().st_size == 0:
        raise DataError(domain, None, f"file is empty: {path.name}")
    try:
        raw = _READ[kind](path)
    except DataError:
        raise
    except Exception as exc:  # any parser failure is a data problem: say which file and why
        raise DataError(domain, None, f"cannot be read as {kind.upper()}: {path.name}",
                        detail=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    return normalise_domain(raw, domain)


def normalise_domain(df: pd.DataFrame, domain: str) -> pd.DataFrame:
    """Upper-case names, strip text, blanks -> NaN, SDTM numeric variables -> float."""
    df = df.copy()
    df.columns = [str(c).strip().upper() for c in df.columns]
    if len(df.columns) == 0:
        raise DataError(domain, None, "file has no columns")
    if df.columns.duplicated().any():
        dup = sorted(set(df.columns[df.columns.duplicated()]))
        raise DataError(domain, ", ".join(dup), "duplicate column names")
    for col in df.columns:
        series = df[col]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            df[col] = _clean_text(series)
        elif series.isna().all() and not is_numeric_variable(col):
            df[col] = pd.Series(np.nan, index=df.index, dtype="object")  # e.g. an all-NA R column
        if is_numeric_variable(col):
            df[col] = _to_number(df, col, domain)
    return df


def read_sdtm(folder: str | Path, file_map: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Read every domain file in ``folder`` (see :func:`find_domain_files`)."""
    return {domain: read_domain(path, domain)
            for domain, path in find_domain_files(folder, file_map).items()}


class SdtmFolder(Mapping):
    """The domains of an SDTM folder as a read-only mapping (domain -> DataFrame) that reads a
    file only when its domain is first used, then keeps it.

    Same files and rules as :func:`read_sdtm`; the domain list (``list(sdtm)``, ``"qs" in sdtm``)
    costs no reading. A report notebook that works from the derived ADaM and looks at one SDTM
    domain reads that one file, not the whole folder (7 s for 10,000 subjects).
    """

    def __init__(self, folder: str | Path, file_map: dict[str, str] | None = None):
        self.files = find_domain_files(folder, file_map)
        self._read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, domain: str) -> pd.DataFrame:
        if domain not in self._read:
            self._read[domain] = read_domain(self.files[domain], domain)   # KeyError for an absent domain
        return self._read[domain]

    def __iter__(self):
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_dataset(df: pd.DataFrame, path: str | Path) -> Path:
    """Write an analysis dataset as Parquet or CSV (by extension), deterministic bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False, lineterminator="\n", date_format="%Y-%m-%d")
    return path


# ---- format readers ---------------------------------------------------------------------------

def _read_csv(path: Path) -> pd.DataFrame:
    _check_csv_header(path)
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp1252")
    except pd.errors.EmptyDataError:
        raise DataError(path.stem.upper(), None, f"file is empty: {path.name}") from None


def _check_csv_header(path: Path) -> None:
    """pandas renames a repeated column (AETERM, AETERM.1): catch it from the raw header."""
    import csv

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        header = next(csv.reader(handle), [])
    names = [h.strip().upper() for h in header]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(path.stem.upper(), ", ".join(dup), "duplicate column names")


def _read_xpt(path: Path) -> pd.DataFrame:
    import pyreadstat

    try:
        df, _ = pyreadstat.read_xport(str(path))
    except UnicodeDecodeError:
        df, _ = pyreadstat.read_xport(str(path), encoding="WINDOWS-1252")
    except pyreadstat.ReadstatError as exc:
        if "Unable to convert string" in str(exc) or "encoding" in str(exc).lower():
            df, _ = pyreadstat.read_xport(str(path), encoding="WINDOWS-1252")
        else:
            raise
    return df


def _read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def _read_rda(path: Path) -> pd.DataFrame:
    import pyreadr

    # pyreadr 0.5.8 (librdata) now and then hands over garbage for missing R date-times
    # (POSIXct NA), which makes its own pandas conversion overflow; the same file reads fine
    # on the next attempt. Retry a few times before calling the file unreadable.
    for attempt in range(RDA_ATTEMPTS):
        try:
            objects = pyreadr.read_r(str(path))
            break
        except (FloatingPointError, pd.errors.OutOfBoundsDatetime):
            if attempt == RDA_ATTEMPTS - 1:
                raise
    frames = [obj for obj in objects.values() if isinstance(obj, pd.DataFrame)]
    if len(frames) != 1:
        raise DataError(path.stem.upper(), None,
                        f"an .rda file must hold exactly one data frame: {path.name}",
                        detail=f"found {len(frames)}")
    df = frames[0]
    for col in df.columns:  # R Date columns arrive as datetime.date objects: back to ISO text
        non_missing = df[col].dropna()
        if df[col].dtype == object and len(non_missing) and isinstance(non_missing.iloc[0], datetime.date):
            df[col] = pd.to_datetime(df[col]).dt.strftime("%Y-%m-%d")
    return df


RDA_ATTEMPTS = 8

_READ = {"csv": _read_csv, "xpt": _read_xpt, "parquet": _read_parquet, "rda": _read_rda}


def _clean_text(series: pd.Series) -> pd.Series:
    """Stripped text, with blanks and missing values as NaN (vectorised)."""
    text = series.astype("object")
    if pd.api.types.infer_dtype(text, skipna=True) not in ("string", "empty"):  # bytes or numbers mixed in
        text = text.map(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v),
                        na_action="ignore")
    codes, uniques = pd.factorize(text)              # strip each distinct value once
    cleaned = pd.Series(uniques, dtype="object").str.strip()
    cleaned = cleaned.where(cleaned.ne(""), np.nan).to_numpy(dtype=object)
    values = np.where(codes >= 0, cleaned[np.maximum(codes, 0)] if len(cleaned) else np.nan, np.nan)
    return pd.Series(values, index=series.index, dtype="object")


def _to_number(df: pd.DataFrame, col: str, domain: str) -> pd.Series:
    codes, uniques = pd.factorize(df[col])                # convert each distinct value once
    converted = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=float)
    values = pd.Series(np.where(codes >= 0, converted[np.maximum(codes, 0)] if len(converted) else np.nan, np.nan),
                       index=df.index)
    bad = values.isna() & df[col].notna()
    if bad.any():
        subjects = df.loc[bad, "USUBJID"] if "USUBJID" in df.columns else []
        shown = ", ".join(sorted({str(v) for v in df.loc[bad, col]})[:5])
        raise DataError(domain, col, "must be numeric", subjects, f"values: {shown}")
    return values.astype(float)
