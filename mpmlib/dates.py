"""ISO 8601 dates as SDTM delivers them (``--DTC``), and their conversion to analysis dates.

SDTMIG 3.3 §4.4 (Date and Time Reporting): ``--DTC`` is ISO 8601 text, ``YYYY-MM-DDThh:mm:ss``
with right truncation for partial dates (``2014``, ``2014-02``, ``2014-02-12T10``). Anything
else, and impossible dates such as ``2025-02-30``, are invalid. So is a date outside the years
1700-2199, partial dates included (:data:`FIRST_YEAR`, :data:`LAST_YEAR`): pandas
``datetime64[ns]`` holds only 1677-09-21 to 2262-04-11, and whole years with decades of margin
inside it mean that neither an imputation nor a window of days added to a date can leave it
(``0397-04`` crashed on imputation). No trial date is near either end; plausibility (a consent
date in 1900, a death in 2099) is a QC rule, not this one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpmlib.errors import DataError

ISO_8601_PATTERN = (
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?)?)?)?)?$"
)

#: the years an analysis date may have (module docstring)
FIRST_YEAR, LAST_YEAR = 1700, 2199


def split_dtc(dtc: pd.Series) -> pd.DataFrame:
    """Split ISO 8601 text into numeric parts (nullable Int64), one row per input value.

    Columns: ``year, month, day, hour, minute, second`` plus ``present`` (a non-blank value was
    given) and ``valid`` (blank, or a real calendar date/time in ISO 8601 form, partial allowed).
    """
    distinct = _distinct(dtc)
    if distinct is not None:                     # dates repeat a lot (QS: 30 items per date)
        codes, uniques = distinct
        return split_dtc(uniques).iloc[codes].set_index(dtc.index)
    text = _as_text(dtc)
    parts = text.str.extract(ISO_8601_PATTERN)
    out = parts.apply(pd.to_numeric, errors="coerce").astype("Int64")
    present = text.ne("")
    matched = parts["year"].notna()
    valid = ~present | matched
    valid &= ~(out["month"].notna() & ~out["month"].between(1, 12)).fillna(False)
    valid &= ~(out["hour"].notna() & ~out["hour"].between(0, 23)).fillna(False)
    valid &= ~(out["minute"].notna() & ~out["minute"].between(0, 59)).fillna(False)
    valid &= ~(out["second"].notna() & ~out["second"].between(0, 59)).fillna(False)
    valid &= ~(matched & ~out["year"].between(FIRST_YEAR, LAST_YEAR)).fillna(False)
    has_day = out["day"].notna() & valid
    if has_day.any():
        ymd = (out.loc[has_day, "year"].astype(str) + "-" + out.loc[has_day, "month"].astype(str)
               + "-" + out.loc[has_day, "day"].astype(str))
        real = pd.to_datetime(ymd, format="%Y-%m-%d", errors="coerce").notna()
        valid.loc[has_day] &= real
    out["present"] = present
    out["valid"] = valid
    return out


def invalid_dtc(dtc: pd.Series) -> pd.Series:
    """Boolean mask of values that are present but not valid ISO 8601 (partial dates are valid)."""
    parts = split_dtc(dtc)
    return parts["present"] & ~parts["valid"]


def dtc_to_date(dtc: pd.Series, imputation: str | None = None) -> pd.Series:
    """Convert ``--DTC`` text to ``datetime64[ns]`` dates (time part dropped).

    Parameters
    ----------
    dtc
        ISO 8601 strings; blanks and missing values give ``NaT``.
    imputation
        ``None``: complete dates only, a partial date gives ``NaT``.
        ``"first"``: missing month -> January, missing day -> 1st.
        ``"last"``: missing month -> December, missing day -> last day of the month
        (admiralonco ``ad_adrs.R`` template: ``highest_imputation = "D", date_imputation = "last"``).

    Invalid values give ``NaT`` here; use :func:`require_valid_dtc` first where a bad value
    must stop the run.
    """
    if imputation not in (None, "first", "last"):
        raise ValueError(f"imputation must be None, 'first' or 'last', not {imputation!r}")
    distinct = _distinct(dtc)
    if distinct is not None:
        codes, uniques = distinct
        return pd.Series(dtc_to_date(uniques, imputation).to_numpy()[codes], index=dtc.index)
    parts = split_dtc(dtc)
    ok = parts["valid"] & parts["year"].notna()
    if imputation is None:
        ok &= parts["day"].notna()
    year = parts["year"]
    month = parts["month"]
    day = parts["day"]
    if imputation == "first":
        month = month.fillna(1)
        day = day.fillna(1)
    elif imputation == "last":
        month = month.fillna(12)
    result = pd.Series(pd.NaT, index=dtc.index, dtype="datetime64[ns]")
    if not ok.any():
        return result
    first_of_month = pd.to_datetime(
        year[ok].astype(str) + "-" + month[ok].astype(str) + "-01", format="%Y-%m-%d")
    if imputation == "last":
        unknown_day = day[ok].isna()
        offset = pd.to_timedelta(day[ok].fillna(1).astype("int64") - 1, unit="D")
        dates = first_of_month + offset
        if unknown_day.any():           # month end only where the day is unknown
            dates[unknown_day] = first_of_month[unknown_day] + pd.offsets.MonthEnd(0)
    else:
        dates = first_of_month + pd.to_timedelta(day[ok].astype("int64") - 1, unit="D")
    result.loc[ok] = dates.to_numpy()
    return result


def date_imputation_flag(dtc: pd.Series) -> pd.Series:
    """ADaM ``--DTF`` for a date derived from ``dtc``: ``"M"`` month (and day) imputed,
    ``"D"`` day imputed, empty when the date was complete or missing (ADaMIG 1.3 §3.3.3)."""
    parts = split_dtc(dtc)
    flag = pd.Series("", index=dtc.index, dtype="object")
    has_year = parts["year"].notna() & parts["valid"]
    flag[has_year & parts["month"].isna()] = "M"
    flag[has_year & parts["month"].notna() & parts["day"].isna()] = "D"
    return flag


def require_valid_dtc(df: pd.DataFrame, domain: str, variable: str) -> None:
    """Raise :class:`DataError` naming domain, variable and subjects if any value of
    ``df[variable]`` is not valid ISO 8601 (partial dates are allowed)."""
    if variable not in df.columns:
        return
    bad = invalid_dtc(df[variable])
    if bad.any():
        subjects = df.loc[bad, "USUBJID"] if "USUBJID" in df.columns else []
        values = ", ".join(sorted({str(v) for v in df.loc[bad, variable]})[:5])
        raise DataError(domain, variable, "not a valid ISO 8601 date (partial dates allowed; "
                        f"years {FIRST_YEAR}-{LAST_YEAR})",
                        subjects, f"values: {values}")


def _distinct(values: pd.Series):
    """``(codes, distinct values)`` when values repeat, so work is done once per distinct value;
    missing values map to a trailing missing entry. ``None`` when every value is distinct."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) + 1 >= len(values):
        return None
    distinct = pd.Series(list(uniques) + [None], dtype="object")
    return np.where(codes < 0, len(uniques), codes), distinct


def _as_text(values: pd.Series) -> pd.Series:
    """Missing -> "", everything else stripped text."""
    return values.astype("object").where(values.notna(), "").astype(str).str.strip()
