"""ADEX (ADaM BDS, one record per subject, study drug and parameter): exposure summaries.

Parameters per study drug (``PARCAT1`` = drug code from ``adsl.study_drugs``):

======== =========================================================================
NADMIN   number of administrations received (valid EX records, see ``valid_doses``)
DURD     duration of exposure in days: last dose date - first dose date + 1
CUMDOSE  cumulative dose, sum of EXDOSE (unit in ``AVALU`` = EXDOSU)
RDI      relative dose intensity (%), only for drugs with a planned schedule
         (``safety.planned_dosing``: ``{CODE: {dose: 240, interval_days: 21}}``): actual dose
         intensity CUMDOSE / (DURD - 1 + interval) over the planned dose / interval, i.e.
         100 * CUMDOSE * interval / ((DURD - 1 + interval) * dose) (the last dose covers one
         interval; Longo et al., J Clin Oncol 1991;9:2042 definition of dose intensity)
======== =========================================================================

Subjects in the safety population who never received a given drug get ``AVAL = 0`` for NADMIN
so that every treated subject is in every denominator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .adsl import valid_doses

PARAMS = {"NADMIN": "Number of administrations", "DURD": "Duration of exposure (days)",
          "CUMDOSE": "Cumulative dose", "RDI": "Relative dose intensity (%)"}


def derive_adex(adsl: pd.DataFrame, ex: pd.DataFrame | None, study_drugs: dict[str, list[str]],
                missing_end: str = "start", planned_dosing: dict | None = None) -> pd.DataFrame:
    """Build ADEX for the safety population (``SAFFL = "Y"``)."""
    columns = ["STUDYID", "USUBJID", "TRT01A", "PARCAT1", "PARAMCD", "PARAM", "AVAL", "AVALU"]
    safety = adsl.loc[adsl["SAFFL"].eq("Y"), ["STUDYID", "USUBJID", "TRT01A"]]
    if ex is None or ex.empty or not study_drugs or safety.empty:
        return pd.DataFrame(columns=columns)
    doses = valid_doses(ex, missing_end)
    extrt = doses["EXTRT"].fillna("").str.upper()
    frames = []
    for code, names in study_drugs.items():
        drug = doses[extrt.isin([n.upper() for n in names])]
        dose = drug["EXDOSE"] if "EXDOSE" in drug.columns else pd.Series(np.nan, index=drug.index)
        per_subject = drug.assign(DOSE=dose).groupby("USUBJID").agg(
            NADMIN=("EXSTDT", "size"), FIRST=("EXSTDT", "min"), LAST=("EXENDT", "max"),
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
