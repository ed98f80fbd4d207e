"""ADTTE (ADaM BDS time-to-event): PFS, OS, duration of response (DOR), time to response (TTR).

One record per subject and parameter for every ADSL subject with a reference date
(``TTEREFDT``: first dose in this single-arm trial; randomisation in randomised data).
``AVAL`` is in days, ``ADT - STARTDT + 1`` (admiral ``derive_vars_duration`` default: the start
day is day 1); ``CNSR`` 0 = event, 1 = censored; ``EVNTDESC`` says what the date is and
``CNSDTDSC`` why a record is censored (blank for events).

PFS (investigator, RECIST 1.1) follows FDA guidance *Clinical Trial Endpoints for the Approval
of Cancer Drugs and Biologics* (2018), Table of PFS censoring (the primary analysis):

1. Event: the first PD (ADRS ``PD``) or death, whichever is first.
2. No adequate post-baseline assessment and no death -> censored at the reference date.
3. New anticancer therapy started before the event -> censored at the last adequate assessment
   on or before the start of that therapy (reference date if none).
4. Event after two or more missed assessments -> censored at the last adequate assessment
   (missed = the event is more than ``missed_assessments`` x interval + window days after it;
   the interval comes from ``assessment_schedule``, by study day of the last assessment).
5. Otherwise no event -> censored at the last adequate assessment.

An *adequate* assessment is a time-point response other than NE/ND (ADRS OVR, ANL01FL).
Events and assessments after the data cut-off (ADSL ``DCUTDT``) are not used. With no event at
all (every subject censored) every record is a censoring.
Rules 3 and 4 can be switched off (``new_therapy_censoring: false``, ``missed_assessments:
null``), which reproduces the pharmaverse ``ad_adtte.R`` template.

OS: event death from any cause; otherwise censored at the last date known alive (ADSL
``LSTALVDT``), or the reference date if that is earlier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpmlib.dates import dtc_to_date, require_valid_dtc
from mpmlib.errors import DataError

PARAM_LABELS = {"PFS": "Progression-free survival (days)", "OS": "Overall survival (days)",
                "DOR": "Duration of response (days)", "TTR": "Time to response (days)"}

DEFAULT_SETTINGS = {
    "assessment_schedule": [[1, 42], [169, 63]],   # [from study day, interval]: q6w, then q9w from week 24
    "assessment_window_days": 7,
    "missed_assessments": 2,
    "new_therapy_censoring": True,
    "new_therapy_cmcat": ["SUBSEQUENT ANTI-CANCER THERAPY"],
    "dor_response": "CRSP",
}

ADEQUATE = ["CR", "PR", "SD", "NON-CR/NON-PD", "PD"]
COLUMNS = ["USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "CNSR", "EVNTDESC", "CNSDTDSC",
           "SRCDOM", "SRCVAR"]


def derive_adtte(adsl: pd.DataFrame, adrs: pd.DataFrame, cm: pd.DataFrame | None = None,
                 settings: dict | None = None) -> pd.DataFrame:
    """PFS, OS, DOR and TTR for every ADSL subject with a reference date."""
    s = {**DEFAULT_SETTINGS, **(settings or {})}
    ref_var = s.get("reference_date") or "TTEREFDT"
    base = adsl.loc[adsl[ref_var].notna(), ["USUBJID"]].copy()
    base["STARTDT"] = adsl.loc[base.index, ref_var].to_numpy()
    base["DCUTDT"] = adsl.loc[base.index, "DCUTDT"].to_numpy() if "DCUTDT" in adsl else pd.NaT
    base["DTHDT"] = adsl.loc[base.index, "DTHDT"].to_numpy() if "DTHDT" in adsl else pd.NaT
    base["LSTALVDT"] = adsl.loc[base.index, "LSTALVDT"].to_numpy() if "LSTALVDT" in adsl else pd.NaT
    base = base.reset_index(drop=True)
    cut = base["DCUTDT"]
    base.loc[base["DTHDT"] > cut, "DTHDT"] = pd.NaT
    base["LSTALVDT"] = base["LSTALVDT"].where(~(base["LSTALVDT"] > cut), cut)
    ovr = adrs[adrs["PARAMCD"].eq("OVR") & adrs["ANL01FL"].eq("Y")] if len(adrs) else adrs
    ovr = ovr.merge(base[["USUBJID", "DCUTDT"]], on="USUBJID")
    ovr = ovr[~(ovr["ADT"] > ovr["DCUTDT"])]
    nact = new_therapy_dates(cm, s["new_therapy_cmcat"]) if s["new_therapy_censoring"] else None
    pfs = derive_pfs(base, ovr, nact, s)
    frames = [pfs, derive_os(base)]
    frames += derive_dor_ttr(base, adrs, pfs, s["dor_response"], nact)
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["PARAM"] = out["PARAMCD"].map(PARAM_LABELS)
    out["AVAL"] = (out["ADT"] - out["STARTDT"]).dt.days + 1
    out["CNSR"] = out["CNSR"].astype(int)
    order = {p: i for i, p in enumerate(PARAM_LABELS)}
    out = out.assign(_o=out["PARAMCD"].map(order)).sort_values(["USUBJID", "_o"], kind="stable")
    return out[COLUMNS].reset_index(drop=True)


def new_therapy_dates(cm: pd.DataFrame | None, categories: list[str]) -> pd.Series | None:
    """First start of a new anticancer therapy per subject (CM ``CMCAT`` in ``categories``);
    a partial start date is completed to the earliest possible day (conservative: censors
    earlier)."""
    if cm is None or not {"CMCAT", "CMSTDTC", "USUBJID"} <= set(cm.columns):
        return None
    require_valid_dtc(cm, "CM", "CMSTDTC")
    rows = cm[cm["CMCAT"].isin(categories)]
    dates = dtc_to_date(rows["CMSTDTC"], imputation="first")
    return dates.groupby(rows["USUBJID"]).min().dropna()


def _schedule_interval(day: pd.Series, schedule: list) -> pd.Series:
    """Protocol assessment interval (days) at each study day."""
    interval = pd.Series(float(schedule[0][1]), index=day.index)
    for start, length in schedule[1:]:
        interval[day >= start] = float(length)
    return interval


def derive_pfs(base: pd.DataFrame, ovr: pd.DataFrame, nact: pd.Series | None, s: dict) -> pd.DataFrame:
    """PFS records (rules in the module docstring), vectorised over subjects."""
    b = base.copy()
    pd_dt = ovr[ovr["AVALC"].eq("PD")].groupby("USUBJID")["ADT"].min()
    b["PDDT"] = b["USUBJID"].map(pd_dt)
    b["EVDT"] = b[["PDDT", "DTHDT"]].min(axis=1)
    b["EVKIND"] = np.where(b["PDDT"].notna() & ~(b["DTHDT"] < b["PDDT"]), "Disease progression",
                           np.where(b["DTHDT"].notna(), "Death without progression", ""))
    adequate = ovr[ovr["AVALC"].isin(ADEQUATE)][["USUBJID", "ADT"]]
    b["NACTDT"] = b["USUBJID"].map(nact) if nact is not None else pd.NaT
    # last adequate assessment before the event (all of them when there is no event)
    lim = adequate.merge(b[["USUBJID", "EVDT", "NACTDT"]], on="USUBJID")
    before_event = lim[lim["EVDT"].isna() | (lim["ADT"] < lim["EVDT"])]
    b["LASTADT"] = b["USUBJID"].map(before_event.groupby("USUBJID")["ADT"].max())
    before_nact = lim[lim["ADT"] <= lim["NACTDT"]]
    b["LASTNACT"] = b["USUBJID"].map(before_nact.groupby("USUBJID")["ADT"].max())

    out = b[["USUBJID", "STARTDT"]].assign(PARAMCD="PFS", SRCDOM="ADSL", SRCVAR="TTEREFDT")
    out["ADT"] = b["LASTADT"].fillna(b["STARTDT"])
    out["CNSR"] = 1
    out["EVNTDESC"] = np.where(b["LASTADT"].notna(), "Last adequate tumour assessment", "Reference date")
    out["CNSDTDSC"] = np.where(b["LASTADT"].notna(), "Alive without progression at last adequate assessment",
                               "No adequate post-baseline assessment")
    has_event = b["EVDT"].notna()
    # column by column with where(): also right when no subject has an event (all censored)
    progression = b["EVKIND"].eq("Disease progression")
    out["ADT"] = b["EVDT"].where(has_event, out["ADT"])
    out["CNSR"] = np.where(has_event, 0, out["CNSR"])
    out["EVNTDESC"] = np.where(has_event, b["EVKIND"], out["EVNTDESC"])
    out["CNSDTDSC"] = np.where(has_event, "", out["CNSDTDSC"])
    out["SRCDOM"] = np.where(has_event, np.where(progression, "ADRS", "ADSL"), out["SRCDOM"])
    out["SRCVAR"] = np.where(has_event, np.where(progression, "ADT", "DTHDT"), out["SRCVAR"])
    out.loc[~has_event & b["LASTADT"].notna(), ["SRCDOM", "SRCVAR"]] = ["ADRS", "ADT"]

    if s.get("missed_assessments"):
        last = b["LASTADT"].fillna(b["STARTDT"])
        day = (last - b["STARTDT"]).dt.days + 1
        allowed = (s["missed_assessments"] * _schedule_interval(day, s["assessment_schedule"])
                   + s["assessment_window_days"])
        late = has_event & ((b["EVDT"] - last).dt.days > allowed)
        out.loc[late, "ADT"] = last[late]
        out.loc[late, "CNSR"] = 1
        out.loc[late, "EVNTDESC"] = np.where(b.loc[late, "LASTADT"].notna(), "Last adequate tumour assessment",
                                             "Reference date")
        out.loc[late, "CNSDTDSC"] = f"Event after {s['missed_assessments']} or more missed assessments"
        out.loc[late, ["SRCDOM", "SRCVAR"]] = ["ADRS", "ADT"]
    nact_first = b["NACTDT"].notna() & (b["EVDT"].isna() | (b["NACTDT"] < b["EVDT"]))
    if nact_first.any():
        at = b.loc[nact_first, "LASTNACT"].fillna(b.loc[nact_first, "STARTDT"])
        out.loc[nact_first, "ADT"] = at
        out.loc[nact_first, "CNSR"] = 1
        out.loc[nact_first, "EVNTDESC"] = np.where(b.loc[nact_first, "LASTNACT"].notna(),
                                                   "Last adequate tumour assessment before new anticancer therapy",
                                                   "Reference date")
        out.loc[nact_first, "CNSDTDSC"] = "New anticancer therapy before progression"
        out.loc[nact_first, ["SRCDOM", "SRCVAR"]] = ["ADRS", "ADT"]
    return out


def derive_os(base: pd.DataFrame) -> pd.DataFrame:
    """OS: death (event) or last known alive (censored), never before the reference date."""
    dead = base["DTHDT"].notna()
    alive_dt = base["LSTALVDT"].where(base["LSTALVDT"] >= base["STARTDT"], base["STARTDT"])
    out = base[["USUBJID", "STARTDT"]].assign(PARAMCD="OS")
    out["ADT"] = base["DTHDT"].where(dead, alive_dt)
    out["CNSR"] = np.where(dead, 0, 1)
    out["EVNTDESC"] = np.where(dead, "Death", "Last date known alive")
    out["CNSDTDSC"] = np.where(dead, "", "Alive at last contact")
    out["SRCDOM"] = "ADSL"
    out["SRCVAR"] = np.where(dead, "DTHDT", "LSTALVDT")
    return out


def derive_dor_ttr(base: pd.DataFrame, adrs: pd.DataFrame, pfs: pd.DataFrame, response: str = "CRSP",
                   nact: pd.Series | None = None) -> list:
    """DOR and TTR for responders (``response``: ``CRSP`` confirmed, ``RSP`` unconfirmed).

    DOR starts at the first date response criteria were met (the response ADT) and ends with
    the PFS event or censoring date (same rules as PFS). TTR is reference date to that first
    response, an event for every responder (a descriptive measure in responders).

    A duration of response is never negative:

    * responses after the data cut-off are not in ADRS (``derive_adrs``), nor after the start of
      new anticancer therapy when ADRS was derived with CM. As a second line here, a response
      first seen **after the start of new anticancer therapy** (``nact``, PFS rule 3) gives no
      DOR and no TTR record: it is not attributable to study treatment (FDA 2018 endpoint
      guidance, PFS and DoR censored at the last assessment before new therapy), and its PFS
      censoring date lies before the response;
    * any other response after the subject's PFS event (a death dated before a response
      assessment) is impossible data: :class:`~mpmlib.errors.DataError` naming the subjects.
    """
    if not len(adrs):
        return []
    rsp = adrs[adrs["PARAMCD"].eq(response) & adrs["AVALC"].eq("Y")][["USUBJID", "ADT"]]
    rsp = rsp.rename(columns={"ADT": "RSPDT"}).merge(base[["USUBJID", "STARTDT"]], on="USUBJID")
    if nact is not None and len(rsp):
        rsp = rsp[~(rsp["RSPDT"] > rsp["USUBJID"].map(nact))]
    dor = rsp.merge(pfs.drop(columns=["STARTDT", "PARAMCD"]), on="USUBJID")
    negative = dor["ADT"] < dor["RSPDT"]
    if negative.any():
        raise DataError("ADSL", "DTHDT", "response assessment after the PFS event (death before a response "
                        "date): duration of response would be negative", dor.loc[negative, "USUBJID"],
                        "; ".join(f"response {r:%Y-%m-%d}, PFS {a:%Y-%m-%d}" for r, a in
                                  zip(dor.loc[negative, "RSPDT"].head(5), dor.loc[negative, "ADT"].head(5))))
    dor = dor.assign(PARAMCD="DOR", STARTDT=dor["RSPDT"]).drop(columns="RSPDT")
    ttr = rsp.assign(PARAMCD="TTR", ADT=rsp["RSPDT"], CNSR=0, EVNTDESC="First response (" + response + ")",
                     CNSDTDSC="", SRCDOM="ADRS", SRCVAR="ADT").drop(columns="RSPDT")
    return [dor, ttr]
