"""ADEX (ADaM BDS, one record per subject, study drug and parameter): exposure summaries.

An EX record is one administration or one constant-dosing interval (SDTMIG 3.3 EX assumption 3:
"the dosing regimen did not change" over EXSTDTC..EXENDTC). Each record therefore stands for a
number of administrations given by its frequency ``EXDOSFRQ`` (CDISC codelist FREQ, C71113) and
its length in days (EXENDT - EXSTDT + 1), see :func:`administrations`:

* ``ONCE`` (or no EXDOSFRQ on a one-day record): 1;
* per day: ``QD`` / ``Q24H`` 1, ``BID`` / ``Q12H`` 2, ``TID`` / ``Q8H`` 3, ``QID`` / ``Q6H`` 4,
  ``QnH`` 24 / n per day -> per day x days;
* every k days: ``QOD`` k = 2, ``QnD``, ``QW`` / ``Q1W`` k = 7, ``QnW`` k = 7n, ``QM`` / ``Q4W``
  k = 28 -> ceil(days / k) (the first administration on the record's first day);
* anything else (``PRN``, ``CONTINUOUS``, an unknown code) on a record of more than one day, or no
  EXDOSFRQ on such a record, cannot be counted: a :class:`DataError` names the subject and value.

Parameters per study drug (``PARCAT1`` = drug code from ``adsl.study_drugs``):

======== =========================================================================
NADMIN   number of administrations received: the sum over the valid EX records (see
         ``valid_doses``) of :func:`administrations` (for daily dosing, dosing days x doses a day)
DURD     duration of exposure in days: last dose date - first dose date + 1
CUMDOSE  cumulative dose: sum over records of EXDOSE x administrations (admiral ``ad_adex.R``:
         DOSE = EXDOSE x the record's days for QD; pharmaverseadam ADEX TDOSE and the CDISC pilot
         ADSL CUMDOSE are this sum); unit in ``AVALU`` = EXDOSU
RDI      relative dose intensity (%), only for drugs with a planned schedule
         (``safety.planned_dosing``: ``{CODE: {dose: 240, interval_days: 21}}``): actual dose
         intensity CUMDOSE / (DURD - 1 + interval) over the planned dose / interval, i.e.
         100 * CUMDOSE * interval / ((DURD - 1 + interval) * dose) (the last dose covers one
         interval; Longo et al., J Clin Oncol 1991;9:2042 definition of dose intensity)
======== =========================================================================

Subjects in the safety population who never received a given drug get ``AVAL = 0`` for NADMIN
so that every treated subject is in every denominator. A record without an end date is, with
``adsl.ex_missing_end: start``, a one-day administration (end = start); with ``ignore`` it is
left out of every ADEX parameter, as it is of the last-dose date (admiral ``ad_adex.R``: its
duration and so its dose are unknown; pharmaverseadam ADEX TDOSE leaves it out), so NADMIN,
DURD and CUMDOSE describe the same records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpmlib.errors import DataError
from mpmlib.derive.adsl import valid_doses

PARAMS = {"NADMIN": "Number of administrations", "DURD": "Duration of exposure (days)",
          "CUMDOSE": "Cumulative dose", "RDI": "Relative dose intensity (%)"}

#: EXDOSFRQ (CDISC FREQ) -> administrations per day
PER_DAY = {"QD": 1, "Q24H": 1, "BID": 2, "TID": 3, "QID": 4}
#: EXDOSFRQ -> days between administrations
EVERY_K_DAYS = {"QOD": 2, "QW": 7, "QM": 28}


def countable_administrations(frequency: pd.Series, days: pd.Series) -> pd.Series:
    """Administrations an EX record stands for, from EXDOSFRQ and its length in days (module
    docstring; CDISC FREQ codelist C71113), NaN where the record cannot be counted (a multi-day
    record without a countable frequency). Vectorised over records; shared by ADEX and the QC
    rule X-016, so validate and derive apply one rule.

    >>> countable_administrations(pd.Series(["QD", "ONCE", "Q3W", "BID", "QOD", "PRN"]),
    ...                           pd.Series([14, 1, 43, 3, 5, 4])).tolist()
    [14.0, 1.0, 3.0, 6.0, 3.0, nan]
    """
    freq = frequency.astype(object).where(frequency.notna(), "").astype(str).str.strip().str.upper()
    days = days.astype(float)
    per_day = freq.map(PER_DAY).astype(float)
    every = freq.map(EVERY_K_DAYS).astype(float)
    hours = pd.to_numeric(freq.str.extract(r"^Q(\d+)H$")[0], errors="coerce")
    per_day = per_day.fillna(24 / hours.where(hours > 0))
    n_days = pd.to_numeric(freq.str.extract(r"^Q(\d+)D$")[0], errors="coerce")
    n_weeks = pd.to_numeric(freq.str.extract(r"^Q(\d+)W$")[0], errors="coerce")
    every = every.fillna(n_days.where(n_days > 0)).fillna(7 * n_weeks.where(n_weeks > 0))
    count = (per_day * days).fillna(np.ceil(days / every))
    single = freq.isin(["ONCE", ""]) & days.le(1)
    return count.where(~single, 1.0)


def administrations(frequency: pd.Series, days: pd.Series, usubjid: pd.Series | None = None) -> pd.Series:
    """:func:`countable_administrations`, with a :class:`DataError` naming EX, EXDOSFRQ, the
    subjects and values for a record that cannot be counted (QC rule X-016 finds it first).

    >>> administrations(pd.Series(["QD", "ONCE", "Q3W", "BID", "QOD"]), pd.Series([14, 1, 43, 3, 5])).tolist()
    [14.0, 1.0, 3.0, 6.0, 3.0]
    """
    count = countable_administrations(frequency, days)
    bad = count.isna()
    if bad.any():
        freq = frequency.astype(object).where(frequency.notna(), "").astype(str).str.strip().str.upper()
        values = sorted({f"{f or 'missing'} over {int(d)} days" for f, d in zip(freq[bad], days[bad])})
        raise DataError("EX", "EXDOSFRQ", UNCOUNTABLE_RULE, usubjid[bad] if usubjid is not None else None,
                        f"values: {', '.join(values[:5])}")
    return count


#: the rule as worded in errors and in QC rule X-016
UNCOUNTABLE_RULE = ("dose frequency cannot be counted over the record's interval (one record per administration, "
                    "or a CDISC FREQ code such as QD, BID, QW, Q3W)")


def derive_adex(adsl: pd.DataFrame, ex: pd.DataFrame | None, study_drugs: dict[str, list[str]],
                missing_end: str = "start", planned_dosing: dict | None = None) -> pd.DataFrame:
    """Build ADEX for the safety population (``SAFFL = "Y"``), module rules."""
    columns = ["STUDYID", "USUBJID", "TRT01A", "PARCAT1", "PARAMCD", "PARAM", "AVAL", "AVALU"]
    safety = adsl.loc[adsl["SAFFL"].eq("Y"), ["STUDYID", "USUBJID", "TRT01A"]]
    if ex is None or ex.empty or not study_drugs or safety.empty:
        return pd.DataFrame(columns=columns)
    doses = valid_doses(ex, missing_end)
    doses = doses[doses["EXENDT"].notna()]            # open records under "ignore" (module docstring)
    extrt = doses["EXTRT"].fillna("").str.upper()
    frames = []
    for code, names in study_drugs.items():
        drug = doses[extrt.isin([n.upper() for n in names])]
        days = ((drug["EXENDT"] - drug["EXSTDT"]).dt.days + 1).clip(lower=1)
        frequency = drug["EXDOSFRQ"] if "EXDOSFRQ" in drug.columns else pd.Series(np.nan, index=drug.index)
        count = administrations(frequency, days, drug["USUBJID"])
        dose = drug["EXDOSE"] if "EXDOSE" in drug.columns else pd.Series(np.nan, index=drug.index)
        per_subject = drug.assign(N=count, DOSE=dose * count).groupby("USUBJID").agg(
            NADMIN=("N", "sum"), FIRST=("EXSTDT", "min"), LAST=("EXENDT", "max"),
            CUMDOSE=("DOSE", lambda d: d.sum(min_count=1)))
        per_subject["DURD"] = (per_subject["LAST"] - per_subject["FIRST"]).dt.days + 1
        plan = (planned_dosing or {}).get(code)
        per_subject["RDI"] = (100 * per_subject["CUMDOSE"] * plan["interval_days"]
                              / ((per_subject["DURD"] - 1 + plan["interval_days"]) * plan["dose"])) if plan else np.nan
        base = safety.merge(per_subject, how="left", left_on="USUBJID", right_index=True)
        base["NADMIN"] = base["NADMIN"].fillna(0)
        unit = drug["EXDOSU"].dropna().unique() if "EXDOSU" in drug.columns else []
        for paramcd in PARAMS:
            if paramcd == "RDI" and not plan:
                continue
            frames.append(base[["STUDYID", "USUBJID", "TRT01A"]].assign(
                PARCAT1=code, PARAMCD=paramcd, PARAM=PARAMS[paramcd], AVAL=base[paramcd].astype(float),
                AVALU=(unit[0] if paramcd == "CUMDOSE" and len(unit) == 1 else
                       ("DAYS" if paramcd == "DURD" else "%" if paramcd == "RDI" else np.nan))))
    return (pd.concat(frames, ignore_index=True)[columns]
            .sort_values(["USUBJID", "PARCAT1", "PARAMCD"], kind="stable").reset_index(drop=True))
