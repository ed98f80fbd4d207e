"""Read SDTM domains from a folder in any mix of CSV, SAS XPT, Parquet and R .rda files.

Rules (docs/data-spec.md):

* one file per domain; the file stem, case-insensitive, is the domain (``dm.csv``, ``AE.xpt``);
  a parameter file may map a domain to another file name (``rs: rs_onco_recist.rda``);
* a domain entry must be a readable regular file: a symbolic link loop, a broken link, a folder,
  a pipe or a device named like a domain is a :class:`DataError` naming the domain and the file
  (:func:`find_domain_files`), and so is a file the operating system will not let us read
  (permission denied, I/O error: :func:`read_domain`);
* column names are upper-cased; character values are stripped, and blanks become missing (NaN);
* ``--DTC`` text is kept exactly as delivered (partial dates allowed); a column that a format
  delivers *typed* (Parquet ``date32``/``timestamp``, R ``Date``/``POSIXct``, SAS date formats,
  also inside a dictionary/factor column) is turned back into ISO 8601 text: ``YYYY-MM-DD`` when no
  value of the column has a time of day, else ``YYYY-MM-DDThh:mm`` (``:ss`` when any value has
  seconds; fractions of a second are dropped); a missing date/time (NaT) is missing. Time-zone
  aware values keep their wall-clock time, without the offset (SDTMIG 3.3 section 4.4.2: --DTC
  is ISO 8601 text). A numeric ``--DTC`` column (a year typed as a number) becomes its text;
* dictionary-encoded Parquet columns and R factors (pandas ``Categorical``) are read as their
  text values; SDTM numeric variables are then converted as below;
* SDTM numeric variables (``AGE``, ``--SEQ``, ``--DY``, ``--STRESN``, ``--DOSE``, ``VISITNUM``…)
  are converted to numbers; a value that is not a number is a :class:`DataError`;
* SAS XPORT is read with pyreadstat, never pandas: ``pandas.read_sas`` returns 5.4e-79 for some
  zeros (pandas-dev/pandas#50670), which in the CDISC pilot ADTTE turns every event into a
  censoring.

Bounded resources. A domain file is refused before its body is read, in well under a second
whatever its size, when

* it is larger than ``sdtm.max_file_mb`` (default :data:`MAX_FILE_MB` = 1024 MB: the largest
  domain of a 10,000-subject synthetic trial, ``mpm synth --n 10000``, is QS at 205 MB and 1.49
  million rows, read in about 6 s; 1024 MB is five times that and over 1,000 times the largest
  demo domain (QS, 0.9 MB), yet still fits in the memory of an ordinary laptop); a trial that
  really has a larger domain raises the limit in its parameter file;
* it is a CSV whose first line (at most 64 KiB) is not an SDTM header: no ``STUDYID``,
  ``DOMAIN``, ``RDOMAIN`` or ``USUBJID`` column, the identifiers that every SDTM dataset carries
  (SDTM model, "Identifiers for All Classes"; SUPP-- and RELREC: SDTMIG 3.3 section 8.4). The
  message names the file and shows the start of what was found (random text or binary garbage
  with a .csv name); a UTF-16 file is named as such (save it as UTF-8).

Parquet, XPT and .rda files with no identifier column are refused the same way, after reading
(their own readers check their headers: garbage there fails at once as "cannot be read"). Rows
are labelled 0..n-1 in file order whatever row names the format carries (R row names).

The limit is on the file's size: a compressed .rda or Parquet file that expands to far more
in memory (a "zip bomb") is not caught before it is read.

Truncated SAS XPORT files. A version 5 or 8 transport file is a sequence of 80-byte records
(SAS, "The record layout of a SAS transport file", TS-140); pyreadstat reads a file cut short
as fewer observations, or pads a partial last observation with missing values, without an
error. :func:`check_xpt_complete` refuses (as "truncated") a file whose size is not a whole
number of 80-byte records, a file cut within its header, a file whose last observation is
incomplete (the bytes after the last whole observation are not the blank padding of the final
record) and a version 8 file holding fewer observations than its OBSV8 header says. What cannot
be detected: a version 5 file (which records no observation count) cut exactly at the end of an
observation that ends on an 80-byte boundary (always the case when the observation length is a
multiple of 80) is a valid, shorter file; so is one whose lost tail was all blanks. Files with
more than one member are not checked (SDTM puts one dataset in each file).
"""

from __future__ import annotations

import datetime
import errno
import hashlib
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from mpmlib.errors import DataError, MpmError
from mpmlib.text import visible

READERS = {".csv": "csv", ".xpt": "xpt", ".parquet": "parquet", ".rda": "rda", ".rdata": "rda"}
DOMAIN_STEM = re.compile(r"^(?:[a-z]{2}|supp[a-z]{2})$")
NUMERIC_NAMES = {"AGE", "VISITNUM", "VISITDY", "TAETORD", "IDVARVAL_N"}
NUMERIC_SUFFIXES = ("SEQ", "STRESN", "DY", "DOSE", "DOSTOT", "TPTNUM", "STNRLO", "STNRHI")
#: Default of ``sdtm.max_file_mb`` (mpmlib/settings/load.py): see "Bounded resources" above.
MAX_FILE_MB = 1024
#: Identifier variables of which an SDTM dataset has at least one (module docstring).
SDTM_IDENTIFIERS = ("STUDYID", "DOMAIN", "RDOMAIN", "USUBJID")
#: A CSV header line longer than this is not an SDTM header (1,000 eight-character names fit).
HEADER_BYTES = 64 * 1024


def is_numeric_variable(name: str) -> bool:
    """SDTM variables of type Num in SDTMIG 3.3 that the project reads (by name and suffix)."""
    return name in NUMERIC_NAMES or (name.endswith(NUMERIC_SUFFIXES) and not name.endswith("DTC"))


def find_domain_files(folder: str | Path, file_map: dict[str, str] | None = None) -> dict[str, Path]:
    """Map each domain (lower-case) to its file in ``folder``.

    Files named like a domain (two letters, or ``supp`` + two letters) with a known extension are
    taken; ``file_map`` adds or overrides domains with explicitly named files (relative to
    ``folder``). Two files for one domain (``dm.csv`` and ``dm.xpt``) are an error, and so is a
    domain entry that is not a regular file (a symbolic link loop, a broken link, a folder, a
    pipe: :func:`file_problem`), named by domain and file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DataError("SDTM", None, f"input folder {what}: {folder}")
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise DataError("SDTM", None, f"input folder cannot be read: {folder}",
                        detail=_os_reason(exc)) from None
    found: dict[str, Path] = {}
    for path in entries:
        stem, ext = path.stem.lower(), path.suffix.lower()
        if ext not in READERS or not DOMAIN_STEM.match(stem):
            continue
        if stem in found:
            raise DataError(stem.upper(), None, "more than one file for the domain",
                            detail=f"{found[stem].name} and {path.name}; keep one")
        found[stem] = path
    for domain, name in (file_map or {}).items():
        path = folder / str(name)
        if path.suffix.lower() not in READERS:
            raise DataError(domain.upper(), None, f"unsupported file type: {path.name}",
                            detail="use .csv, .xpt, .parquet or .rda")
        problem = file_problem(path)
        if problem:
            raise DataError(domain.upper(), None, f"mapped file {problem}: {path}")
        found[domain.lower()] = path
    for domain, path in found.items():
        problem = file_problem(path)
        if problem:
            raise DataError(domain.upper(), None, f"{path.name} {problem}", detail=str(path))
    return found


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a domain file (``None`` when it can): a symbolic link loop,
    a broken link, a folder, a pipe or device, or no permission to read it."""
    try:
        info = os.stat(path)                       # follows links
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop (following its links never reaches a file)"
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return f"is a broken symbolic link (to {visible(os.readlink(path))}, which does not exist)"
        if exc.errno == errno.ENOENT:
            return "does not exist"
        return f"cannot be read ({_os_reason(exc)})"
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a pipe, socket or device)"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def _os_reason(exc: OSError) -> str:
    """The operating system's reason, without the path (the message names the file)."""
    return exc.strerror or type(exc).__name__


def read_domain(path: str | Path, domain: str | None = None, max_file_mb: float | None = None) -> pd.DataFrame:
    """Read one SDTM domain file into a DataFrame following the module rules.

    ``max_file_mb`` (``sdtm.max_file_mb``; default :data:`MAX_FILE_MB`) bounds the file size.
    """
    path = Path(path)
    domain = (domain or path.stem).upper()
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(domain, None, f"unsupported file type: {path.name}",
                        detail="use .csv, .xpt, .parquet or .rda")
    problem = file_problem(path)
    if problem:
        raise DataError(domain, None, f"{path.name} {problem}", detail=str(path))
    size = path.stat().st_size
    if size == 0:
        raise DataError(domain, None, f"file is empty: {path.name}")
    limit = MAX_FILE_MB if max_file_mb is None else max_file_mb
    if size > limit * 1024 * 1024:
        raise DataError(domain, None, f"file is too large: {path.name} ({size / 2**20:,.0f} MB)",
                        detail=f"the limit is sdtm.max_file_mb = {limit:g} MB, far above any trial's domain; "
                               "raise it in the parameter file if this file is genuine")
    try:
        raw = _READ[kind](path)
    except DataError as exc:    # the readers name the file's stem; a mapped file is its domain
        if exc.domain == domain:
            raise
        raise DataError(domain, exc.variable, exc.rule, exc.subjects, exc.detail) from None
    except OSError as exc:       # permission denied, I/O error, file removed while reading
        raise DataError(domain, None, f"cannot be read: {path.name}", detail=_os_reason(exc)) from None
    except Exception as exc:  # any parser failure is a data problem: say which file and why
        raise DataError(domain, None, f"cannot be read as {kind.upper()}: {path.name}",
                        detail=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    if len(raw.columns) and not any(str(c).strip().upper() in SDTM_IDENTIFIERS for c in raw.columns):
        raise DataError(domain, None, f"{path.name} is not an SDTM dataset: none of the identifier variables "
                        f"{', '.join(SDTM_IDENTIFIERS)}", detail=f"columns: {_shown_names(raw.columns)}")
    return normalise_domain(raw, domain)


def _shown_names(names) -> str:
    shown = ", ".join(visible(str(n))[:40] for n in list(names)[:8])
    return shown + (f" (+{len(names) - 8} more)" if len(names) > 8 else "")


def normalise_domain(df: pd.DataFrame, domain: str) -> pd.DataFrame:
    """Upper-case names, strip text, blanks -> NaN, SDTM numeric variables -> float; rows
    labelled 0..n-1 in file order whatever row names the format carries (R row names)."""
    df = df.reset_index(drop=True)
    df.columns = [str(c).strip().upper() for c in df.columns]
    if len(df.columns) == 0:
        raise DataError(domain, None, "file has no columns")
    if df.columns.duplicated().any():
        dup = sorted(set(df.columns[df.columns.duplicated()]))
        raise DataError(domain, ", ".join(dup), "duplicate column names")
    for col in df.columns:
        series = df[col]
        if isinstance(series.dtype, pd.CategoricalDtype):      # R factor, Parquet dictionary
            series = series.astype("object")
        if (pd.api.types.is_datetime64_any_dtype(series.dtype)
                or (col.endswith("DTC") and pd.api.types.is_numeric_dtype(series.dtype) and series.notna().any())):
            series = series.astype("object")                   # typed dates, a year as a number
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            df[col] = _clean_text(series)
        elif series.isna().all() and not is_numeric_variable(col):
            df[col] = pd.Series(np.nan, index=df.index, dtype="object")  # e.g. an all-NA R column
        if is_numeric_variable(col):
            df[col] = _to_number(df, col, domain)
    return df


def read_sdtm(folder: str | Path, file_map: dict[str, str] | None = None,
              max_file_mb: float | None = None) -> dict[str, pd.DataFrame]:
    """Read every domain file in ``folder`` (see :func:`find_domain_files`)."""
    return {domain: read_domain(path, domain, max_file_mb)
            for domain, path in find_domain_files(folder, file_map).items()}


class SdtmFolder(Mapping):
    """The domains of an SDTM folder as a read-only mapping (domain -> DataFrame) that reads a
    file only when its domain is first used, then keeps it.

    Same files and rules as :func:`read_sdtm`; the domain list (``list(sdtm)``, ``"qs" in sdtm``)
    costs no reading. A report notebook that works from the derived ADaM and looks at one SDTM
    domain reads that one file, not the whole folder (7 s for 10,000 subjects).
    """

    def __init__(self, folder: str | Path, file_map: dict[str, str] | None = None,
                 max_file_mb: float | None = None):
        self.files = find_domain_files(folder, file_map)
        self.max_file_mb = max_file_mb
        self._read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, domain: str) -> pd.DataFrame:
        if domain not in self._read:                           # KeyError for an absent domain
            self._read[domain] = read_domain(self.files[domain], domain, self.max_file_mb)
        return self._read[domain]

    def __iter__(self):
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex; a file that cannot be read is an :class:`MpmError`
    naming it (provenance and locks hash every input)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise MpmError(f"cannot read {visible(str(path))}: {_os_reason(exc)}") from None
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
    """Look at the first line only, before the body is read: it must be an SDTM header (at
    least one identifier variable, within :data:`HEADER_BYTES`) without repeated names (pandas
    renames a repeated column AETERM, AETERM.1)."""
    import csv

    domain = path.stem.upper()
    with open(path, "rb") as handle:
        head = handle.read(HEADER_BYTES + 1)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):      # Excel "Unicode text" and the like
        raise DataError(domain, None, f"{path.name} is UTF-16 text: save it as UTF-8 CSV")
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) > HEADER_BYTES:
        raise DataError(domain, None, f"{path.name} is not an SDTM table: no header line in its first "
                        f"{HEADER_BYTES // 1024} KiB", detail=f"starts with: {_shown_bytes(line)}")
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = line.decode("cp1252", errors="replace")
    header = next(csv.reader([text.rstrip("\r")]), [])
    names = [h.strip().upper() for h in header]
    if not any(n in SDTM_IDENTIFIERS for n in names):
        raise DataError(domain, None, f"{path.name} is not an SDTM table: its first line has none of the "
                        f"identifier variables {', '.join(SDTM_IDENTIFIERS)}",
                        detail=f"found: {_shown_bytes(line)}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(domain, ", ".join(dup), "duplicate column names")


def _shown_bytes(data: bytes, limit: int = 60) -> str:
    """The start of raw bytes as readable text: undecodable bytes and invisibles escaped."""
    text = data[:limit].decode("utf-8", errors="backslashreplace")
    return visible(text) + ("..." if len(data) > limit else "")


def _read_xpt(path: Path) -> pd.DataFrame:
    import pyreadstat

    check_xpt_complete(path)
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


XPT_RECORD = 80
_XPT_HEADER = b"HEADER RECORD*******"
_XPT_LIBRARY = (_XPT_HEADER + b"LIBRARY HEADER RECORD!!!!!!!", _XPT_HEADER + b"LIBV8   HEADER RECORD!!!!!!!")


def check_xpt_complete(path: str | Path) -> None:
    """Refuse a SAS transport file (version 5 or 8) that was cut short (module docstring,
    "Truncated SAS XPORT files"; layout: SAS TS-140). Files of another layout are left to the
    reader."""
    path = Path(path)
    domain, size = path.stem.upper(), path.stat().st_size

    def truncated(why: str) -> DataError:
        return DataError(domain, None, f"file is truncated: {path.name}", detail=why)

    with open(path, "rb") as handle:
        head = handle.read(8 * XPT_RECORD)
        if not any(head[:len(lib)] == lib[:len(head)] for lib in _XPT_LIBRARY):
            return                                     # not a transport file: the reader says so
        if size % XPT_RECORD:
            raise truncated(f"{size:,} bytes is not a whole number of {XPT_RECORD}-byte records")
        if len(head) < 8 * XPT_RECORD:
            raise truncated("the file ends within its header")
        member, names = head[3 * XPT_RECORD:4 * XPT_RECORD], head[7 * XPT_RECORD:]
        if (not member.startswith(_XPT_HEADER + b"MEMB")
                or not names.startswith((_XPT_HEADER + b"NAMESTR", _XPT_HEADER + b"NAMSTV8"))):
            return                                     # unusual layout: left to the reader
        try:
            namestr_len, n_vars = int(member[74:78]), int(names[54:58])
        except ValueError:
            return
        block = n_vars * namestr_len
        namestrs = handle.read(block)
        if len(namestrs) < block:
            raise truncated("the file ends within its variable descriptions")
        obs_len = max((int.from_bytes(namestrs[i + 4:i + 6], "big") + int.from_bytes(namestrs[i + 84:i + 88], "big")
                       for i in range(0, block, namestr_len)), default=0)
        # the OBS header follows the descriptions (v8: after optional long-name/label records)
        offset = 8 * XPT_RECORD + -(-block // XPT_RECORD) * XPT_RECORD
        handle.seek(offset)
        window = handle.read(1 << 20)
        obs_at = next((i for i in range(0, len(window) - XPT_RECORD + 1, XPT_RECORD)
                       if window.startswith(_XPT_HEADER + b"OBS", i)), None)
        if obs_at is None:
            raise truncated("the file ends before the header of its observations")
        obs_header = window[obs_at:obs_at + XPT_RECORD]
        data_start = offset + obs_at + XPT_RECORD
        data = size - data_start
        if obs_len <= 0:
            return
        whole, partial = divmod(data, obs_len)
        handle.seek(data_start + whole * obs_len)
        tail = handle.read(partial)
        problem = None
        if tail.strip(b" "):
            problem = (f"its last observation is incomplete ({partial} of {obs_len} bytes after "
                       f"{whole:,} whole observations)")
        elif obs_header.startswith(_XPT_HEADER + b"OBSV8"):
            declared = obs_header[48:63].strip()
            if declared.isdigit() and int(declared) * obs_len > data:
                problem = f"its header declares {int(declared):,} observations; the file holds {whole:,}"
        if problem and not _has_second_member(handle, data_start):
            raise truncated(problem)


def _has_second_member(handle, start: int) -> bool:
    """A second member's header in the data part (several datasets in one file: not checked)."""
    marker, overlap = _XPT_HEADER + b"MEMB", b""
    handle.seek(start)
    for block in iter(lambda: handle.read(8 << 20), b""):
        if marker in overlap + block:
            return True
        overlap = block[-len(marker):]
    return False


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
    return frames[0]      # R Date / POSIXct / factor columns become text in normalise_domain


RDA_ATTEMPTS = 8

_READ = {"csv": _read_csv, "xpt": _read_xpt, "parquet": _read_parquet, "rda": _read_rda}


def _clean_text(series: pd.Series) -> pd.Series:
    """Stripped text, with blanks and missing values as NaN (vectorised)."""
    text = series.astype("object")
    if pd.api.types.infer_dtype(text, skipna=True) not in ("string", "empty"):  # bytes, numbers, dates
        text = _as_text(text)
    codes, uniques = pd.factorize(text)              # strip each distinct value once
    cleaned = pd.Series(uniques, dtype="object").str.strip()
    cleaned = cleaned.where(cleaned.ne(""), np.nan).to_numpy(dtype=object)
    values = np.where(codes >= 0, cleaned[np.maximum(codes, 0)] if len(cleaned) else np.nan, np.nan)
    return pd.Series(values, index=series.index, dtype="object")


def _as_text(values: pd.Series) -> pd.Series:
    """Non-text values as text, each distinct value once: bytes decoded (UTF-8, undecodable
    bytes replaced), dates and date-times as ISO 8601 (module docstring: a time part for the
    whole column when any value has one), whole numbers without ``.0``; missing stays missing."""
    codes, uniques = pd.factorize(values)             # NaN, None and NaT are missing (-1)
    uniques = list(uniques)
    stamps = [v for v in uniques if isinstance(v, datetime.datetime)]   # pd.Timestamp included
    with_seconds = any(v.second or v.microsecond for v in stamps)
    with_time = with_seconds or any(v.hour or v.minute for v in stamps)

    def text(v) -> str:
        if isinstance(v, bytes):
            return v.decode("utf-8", "replace")
        if isinstance(v, datetime.datetime):
            day = f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
            return (day + f"T{v.hour:02d}:{v.minute:02d}" + (f":{v.second:02d}" if with_seconds else "")
                    if with_time else day)
        if isinstance(v, datetime.date):
            return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v)

    converted = np.array([text(v) for v in uniques] + [np.nan], dtype=object)
    return pd.Series(converted[codes], index=values.index, dtype="object")   # code -1: the NaN


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
