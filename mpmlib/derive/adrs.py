"""ADRS (ADaM BDS): RECIST 1.1 time-point responses and the per-subject response parameters.

The rules are those of RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247, §4.4 and
Table 3) as implemented by pharmaverse admiralonco (``ad_adrs.R`` template,
``derive_param_bor``, ``derive_param_confirmed_bor``, ``derive_param_clinbenefit``,
``derive_param_confirmed_resp``), so that results can be matched to the published pharmaverse
ADaM. Where this module differs on purpose, ``docs/efficacy-methods.md`` says why.

Parameters (``PARAMCD``), one record per ADSL subject except ``OVR``:

====== ============================================================================================
OVR    time-point overall response (RS ``RSTESTCD = OVRLRESP``, evaluator ``efficacy.evaluator``),
       one record per assessment. ``ANL01FL = "Y"``: a valid response dated on or after the
       reference date, the worst one when a date has two; ``ANL02FL = "Y"``: ANL01FL records up
       to and including the first PD (RECIST 1.1 §4.4: assessments after PD do not count).
BOR    best overall response, confirmation not required
CBOR   best overall response with confirmation (CR/PR need a confirming assessment >= 28 days
       later, at most one NE in between, no PR after a CR in between)
RSP    response (CR/PR) at any assessment, confirmation not required; BCP: BOR in CR/PR
CRSP   confirmed response; CBCP: CBOR in CR/PR
CB     clinical benefit (disease control): RSP, or CR/PR/SD/NON-CR/NON-PD >= 42 days after the
       reference date; CCB: the same with CRSP instead of RSP
PD     first progression (Y/N, ADT = date of the first PD)
LSTA   last disease assessment (last ANL01FL record, whatever its response)
DEATH  death (ADSL ``DTHDT``)
====== ============================================================================================

``AVAL`` of response parameters: CR 1, PR 2, SD 3, NON-CR/NON-PD 4, PD 5, NE 6, MISSING 7
(admiralonco ``aval_resp``); of Y/N parameters: 1/0. A subject without any usable assessment
has BOR/CBOR ``MISSING`` (not evaluable in the tables) and every flag ``N``.

Best response ND: a subject whose best candidate is ND (only ND assessments) gets BOR/CBOR
``NE`` (AVAL 6), never ``ND``. RECIST 1.1 has no ND best response (§4.4, missing assessments and
inevaluable designation: a time point without imaging is NE; Table 3 ends in NE).
admiralonco's deprecated ``derive_param_confirmed_bor`` returned ``ND`` with ``AVAL`` NA
(``aval_resp`` has no ND; methods.md §1.4, golden test 2), which falls out of every response
table while staying in the denominator; its successor events (``response_sources.R``) have no
ND event. Such a subject had an assessment visit, so it counts as not evaluable (NE), not as
"no post-baseline assessment" (MISSING).

Records not used for analysis (``ANL01FL`` blank, reason in ``ANLEXCL``, listed by
:func:`excluded_records`), besides unknown values and missing dates:

* assessments **after the data cut-off** (ADSL ``DCUTDT`` = parameter ``data_cutoff``): the
  analysis uses data up to the cut-off, the same cut ADTTE applies to PFS, OS and DoR, so a
  response after the cut can no longer start a duration of response that ends at the cut;
* assessments **after the start of new anticancer therapy**, when CM is given and
  ``efficacy.new_therapy_censoring`` is on (first CM record with ``CMCAT`` in
  ``efficacy.new_therapy_cmcat``, a partial date completed to the first day, as in ADTTE). The
  FDA 2018 endpoint guidance censors PFS, and so DoR, at the last assessment before new
  anticancer therapy (methods.md §2.1); a response seen only after it is not attributable to
  study treatment and would give a duration of response ending before it starts. An
  assessment on the day the new therapy starts still counts (as in ADTTE: the scan precedes
  the treatment).

DEATH is ``N`` for a death after the cut-off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpmlib.dates import date_imputation_flag, dtc_to_date, require_valid_dtc
from mpmlib.derive.recist import CONFIRMATION_MIN_DAYS
from mpmlib.errors import DataError

#: admiralonco ``aval_resp``
AVAL_RESP = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6, "MISSING": 7}
#: time-point responses accepted for analysis (ND = not done, kept but never a best response)
VALID_RESPONSES = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "ND")
#: rank for "worst response on a date" (admiralonco ``ad_adrs.R`` ``worst_resp``): higher = worse
WORST_RANK = {"ND": 0, "NE": 1, "CR": 2, "PR": 3, "SD": 4, "NON-CR/NON-PD": 5, "PD": 6}
#: best-response priority -> AVALC (lower wins; ties go to the earliest date)
PRIORITY_AVALC = {1: "CR", 2: "PR", 3: "SD", 4: "NON-CR/NON-PD", 5: "PD", 6: "NE", 7: "ND", 8: "MISSING"}

PARAM_LABELS = {
    "OVR": "Overall Response by Investigator",
    "BOR": "Best Overall Response (confirmation not required)",
    "CBOR": "Best Confirmed Overall Response",
    "RSP": "Response (CR/PR), confirmation not required",
    "BCP": "Best Overall Response of CR/PR (confirmation not required)",
    "CRSP": "Confirmed Response (CR/PR)",
    "CBCP": "Best Confirmed Overall Response of CR/PR",
    "CB": "Clinical Benefit (confirmation not required)",
    "CCB": "Confirmed Clinical Benefit",
    "PD": "Disease Progression",
    "LSTA": "Last Disease Assessment",
    "DEATH": "Death",
}

#: defaults of ``params["efficacy"]`` used here (see mpmlib.settings.load for the reasons)
DEFAULT_SETTINGS = {"evaluator": "INVESTIGATOR", "reference_date": None, "confirmation_days": 28,
                    "sd_min_days": 42, "max_ne_between": 1, "max_sd_between": 0,
                    "response_date_imputation": "last"}


def derive_adrs(adsl: pd.DataFrame, rs: pd.DataFrame | None, settings: dict | None = None,
                cm: pd.DataFrame | None = None) -> pd.DataFrame:
    """Build ADRS from ADSL and SDTM RS (RECIST 1.1 overall responses), and optionally CM (new
    anticancer therapy: later assessments are not used, module docstring).

    ``settings`` is ``params["efficacy"]``; missing keys take :data:`DEFAULT_SETTINGS`. The
    reference date is ADSL ``TTEREFDT`` unless ``reference_date`` names another ADSL date
    (``RANDDT`` reproduces the admiralonco template). Records that cannot be analysed (an
    unknown response such as pharmaversesdtm's ``CHECK``, a missing date) stay in OVR with
    ``ANL01FL`` blank and a reason in ``ANLEXCL``; :func:`excluded_records` lists them.
    Returns an empty frame with the ADRS columns when RS is absent.
    """
    s = {**DEFAULT_SETTINGS, **(settings or {})}
    ref = reference_dates(adsl, s["reference_date"])
    if rs is None or rs.empty:
        return _empty_adrs()
    ovr = derive_ovr(rs, ref, s["evaluator"], s["response_date_imputation"], analysis_limits(adsl, cm, s))
    used = ovr[ovr["ANL02FL"].eq("Y")]
    records = flag_confirmed(used, s["confirmation_days"], s["max_ne_between"], s["max_sd_between"])
    records = records.merge(ref, on="USUBJID", how="left")
    records["INWINDOW"] = records["ADT"] >= records["REFDT"] + pd.to_timedelta(s["sd_min_days"], unit="D")
    subjects = ref[["USUBJID"]]
    bor = best_response(records, subjects, confirmed=False)
    cbor = best_response(records, subjects, confirmed=True)
    params = [
        bor.assign(PARAMCD="BOR"), cbor.assign(PARAMCD="CBOR"),
        first_event(records, subjects, records["AVALC"].isin(["CR", "PR"]), "RSP"),
        yes_no(bor, bor["AVALC"].isin(["CR", "PR"]), "BCP"),
        first_event(records, subjects, records["CONFIRMED"], "CRSP"),
        yes_no(cbor, cbor["AVALC"].isin(["CR", "PR"]), "CBCP"),
        clinical_benefit(records, subjects, records["AVALC"].isin(["CR", "PR"]), "CB"),
        clinical_benefit(records, subjects, records["CONFIRMED"], "CCB"),
        first_event(ovr[ovr["ANL01FL"].eq("Y")], subjects, ovr.loc[ovr["ANL01FL"].eq("Y"), "AVALC"].eq("PD"), "PD"),
        last_assessment(ovr, subjects),
        death(adsl),
    ]

    adrs = pd.concat([ovr.assign(PARAMCD="OVR"), *params], ignore_index=True)
    adrs["PARAM"] = adrs["PARAMCD"].map(PARAM_LABELS)
    adrs = adrs.merge(ref, on="USUBJID", how="left")
    keep = ["USUBJID", "PARAMCD", "PARAM", "AVALC", "AVAL", "ADT", "ADTF", "ADY", "VISIT", "VISITNUM", "RSSEQ",
            "ANL01FL", "ANL02FL", "ANLEXCL", "REFDT"]
    days = (adrs["ADT"] - adrs["REFDT"]).dt.days
    adrs["ADY"] = days + (days >= 0)           # CDISC study day: no day 0, the reference date is day 1
    adrs = adrs.reindex(columns=keep)
    order = {p: i for i, p in enumerate(PARAM_LABELS)}
    adrs["_o"] = adrs["PARAMCD"].map(order)
    return (adrs.sort_values(["USUBJID", "_o", "ADT", "RSSEQ"], kind="stable", na_position="last")
            .drop(columns="_o").reset_index(drop=True))


def reference_dates(adsl: pd.DataFrame, variable: str | None) -> pd.DataFrame:
    """USUBJID and REFDT, the date windows are counted from (ADSL ``TTEREFDT`` by default)."""
    variable = variable or "TTEREFDT"
    if variable not in adsl.columns:
        raise DataError("ADSL", variable, "reference date variable not in ADSL (efficacy.reference_date)")
    return adsl[["USUBJID"]].assign(REFDT=adsl[variable].to_numpy())


def analysis_limits(adsl: pd.DataFrame, cm: pd.DataFrame | None, settings: dict) -> pd.DataFrame:
    """USUBJID, DCUTDT (ADSL data cut-off) and NACTDT (first new anticancer therapy from CM, when
    given and ``new_therapy_censoring`` is on): assessments after either are not analysed; DTHDT:
    an assessment date whose day was imputed is not later than the death date."""
    from mpmlib.derive.adtte import DEFAULT_SETTINGS as TTE_DEFAULTS, new_therapy_dates

    out = adsl[["USUBJID"]].assign(DCUTDT=adsl["DCUTDT"].to_numpy() if "DCUTDT" in adsl else pd.NaT)
    out["DCUTDT"] = pd.to_datetime(out["DCUTDT"])
    nact = None
    if settings.get("new_therapy_censoring", TTE_DEFAULTS["new_therapy_censoring"]):
        nact = new_therapy_dates(cm, settings.get("new_therapy_cmcat", TTE_DEFAULTS["new_therapy_cmcat"]))
    out["NACTDT"] = out["USUBJID"].map(nact) if nact is not None else pd.NaT
    out["NACTDT"] = pd.to_datetime(out["NACTDT"])
    out["DTHDT"] = pd.to_datetime(adsl["DTHDT"].to_numpy() if "DTHDT" in adsl else pd.NaT)
    return out


def derive_ovr(rs: pd.DataFrame, ref: pd.DataFrame, evaluator: str = "INVESTIGATOR",
               imputation: str = "last", limits: pd.DataFrame | None = None) -> pd.DataFrame:
    """OVR records with ADT, AVALC, AVAL, ANL01FL, ANL02FL and ANLEXCL.

    * Source: RS ``RSTESTCD = "OVRLRESP"`` and, when RSEVAL is present, ``RSEVAL = evaluator``.
    * ADT from RSDTC; a missing day is imputed to the last day of the month (admiralonco
      ``ad_adrs.R``: ``highest_imputation = "D"``, ``date_imputation = "last"``), flagged in ADTF,
      but not later than the death date when the death falls in that month (admiral
      ``derive_vars_dt(max_dates = ...)``; else a duration of response would end before it starts).
      A missing month is not imputed (the record is excluded).
    * ANL01FL: a valid response (:data:`VALID_RESPONSES`) dated on or after the reference date;
      of two on one date, the worst (:data:`WORST_RANK`; then the highest RSSEQ).
    * ANL02FL: ANL01FL records up to and including the first PD.
    * ``limits`` (:func:`analysis_limits`): records after the data cut-off (DCUTDT) or after the
      start of new anticancer therapy (NACTDT) are not used, with the reason in ANLEXCL.
    """
    for var in ("USUBJID", "RSTESTCD", "RSSTRESC", "RSDTC"):
        if var not in rs.columns:
            raise DataError("RS", var, "required variable is missing")
    require_valid_dtc(rs, "RS", "RSDTC")
    keep = rs["RSTESTCD"].eq("OVRLRESP")
    if "RSEVAL" in rs.columns and evaluator:
        keep &= rs["RSEVAL"].eq(evaluator)
    ovr = rs.loc[keep].copy()
    for col in ("RSSEQ", "VISIT", "VISITNUM"):
        if col not in ovr.columns:
            ovr[col] = np.nan
    ovr["AVALC"] = ovr["RSSTRESC"].astype("object")
    ovr["AVAL"] = ovr["AVALC"].map(AVAL_RESP).astype(float)
    dtc = ovr["RSDTC"].astype("object").where(ovr["RSDTC"].notna(), "")
    day_known_or_month = dtc.str.len().ge(7)
    ovr["ADT"] = dtc_to_date(ovr["RSDTC"], imputation).where(day_known_or_month)
    ovr["ADTF"] = date_imputation_flag(ovr["RSDTC"]).where(ovr["ADT"].notna(), "")
    ovr = ovr.merge(ref, on="USUBJID", how="left")
    reason = pd.Series("", index=ovr.index, dtype="object")
    reason[ovr["ADT"].lt(ovr["REFDT"])] = "before reference date"
    if limits is not None:
        lim = ovr[["USUBJID"]].merge(limits, on="USUBJID", how="left").set_index(ovr.index)
        if "DTHDT" in lim.columns:   # an imputed day never after death (admiral derive_vars_dt max_dates)
            month_start = dtc_to_date(ovr["RSDTC"], "first")
            capped = ovr["ADTF"].eq("D") & ovr["ADT"].gt(lim["DTHDT"]) & month_start.le(lim["DTHDT"])
            ovr.loc[capped, "ADT"] = lim.loc[capped, "DTHDT"]
        reason[ovr["ADT"].gt(lim["NACTDT"])] = "after the start of new anticancer therapy"
        reason[ovr["ADT"].gt(lim["DCUTDT"])] = "after the data cut-off"
    reason[ovr["REFDT"].isna()] = "no reference date (not treated)"
    reason[ovr["ADT"].isna()] = "assessment date missing or without month"
    reason[~ovr["AVALC"].isin(VALID_RESPONSES)] = "response value not in RECIST 1.1 terms: " + ovr["AVALC"].astype(str)
    ovr["ANLEXCL"] = reason
    usable = reason.eq("")
    rank = ovr["AVALC"].map(WORST_RANK).fillna(-1)
    order = ovr.assign(_rank=rank, _seq=ovr["RSSEQ"].fillna(-1)).sort_values(
        ["USUBJID", "ADT", "_rank", "_seq"], kind="stable")
    worst = order[usable.loc[order.index]].drop_duplicates(["USUBJID", "ADT"], keep="last").index
    ovr["ANL01FL"] = np.where(ovr.index.isin(worst), "Y", "")
    superseded = usable & ovr["ANL01FL"].eq("")
    ovr.loc[superseded, "ANLEXCL"] = "another response on the same date is worse"
    anl = ovr["ANL01FL"].eq("Y")
    first_pd = ovr[anl & ovr["AVALC"].eq("PD")].groupby("USUBJID")["ADT"].min()
    limit = ovr["USUBJID"].map(first_pd)
    ovr["ANL02FL"] = np.where(anl & (limit.isna() | (ovr["ADT"] <= limit)), "Y", "")
    cols = ["USUBJID", "RSSEQ", "VISIT", "VISITNUM", "RSDTC", "ADT", "ADTF", "AVALC", "AVAL",
            "ANL01FL", "ANL02FL", "ANLEXCL"]
    return ovr[cols].sort_values(["USUBJID", "ADT", "RSSEQ"], kind="stable").reset_index(drop=True)


def excluded_records(adrs: pd.DataFrame) -> pd.DataFrame:
    """OVR records not used for analysis, with the reason (for the efficacy report)."""
    ovr = adrs[adrs["PARAMCD"].eq("OVR") & adrs["ANLEXCL"].fillna("").ne("")]
    return ovr[["USUBJID", "VISIT", "ADT", "AVALC", "ANLEXCL"]].reset_index(drop=True)


def flag_confirmed(records: pd.DataFrame, confirm_days: int = CONFIRMATION_MIN_DAYS, max_ne: int = 1,
                   max_sd: int = 0) -> pd.DataFrame:
    """Add ``CONFIRMED``: the CR or PR at this assessment is confirmed (RECIST 1.1 §4.4, Table 3;
    admiralonco ``cbor_cr`` / ``cbor_pr`` event definitions).

    * CR: a later CR at least ``confirm_days`` after it; every assessment up to and including
      the first such CR is CR or NE, with at most ``max_ne`` NE.
    * PR: a later CR or PR at least ``confirm_days`` after it; every assessment up to and
      including the first such one is CR, PR or NE (or SD, at most ``max_sd``), at most
      ``max_ne`` NE, and no PR follows a CR among them.

    ``records`` are one subject's usable assessments (ANL02FL) in any order. Vectorised as a
    self-join of each subject's assessments (a few dozen per subject at most).
    """
    recs = records.sort_values(["USUBJID", "ADT"], kind="stable").reset_index(drop=True)
    recs["_POS"] = recs.groupby("USUBJID").cumcount()
    cand = recs.loc[recs["AVALC"].isin(["CR", "PR"]), ["USUBJID", "_POS", "ADT", "AVALC"]]
    later = recs[["USUBJID", "_POS", "ADT", "AVALC"]]
    pairs = cand.merge(later, on="USUBJID", suffixes=("", "_J"))
    pairs = pairs[pairs["_POS_J"] > pairs["_POS"]]
    far = pairs["ADT_J"] >= pairs["ADT"] + pd.to_timedelta(confirm_days, unit="D")
    confirms = far & (pairs["AVALC_J"].eq("CR") | (pairs["AVALC"].eq("PR") & pairs["AVALC_J"].eq("PR")))
    upper = pairs[confirms].groupby(["USUBJID", "_POS"])["_POS_J"].min().rename("_UPPER")
    window = pairs.merge(upper.reset_index(), on=["USUBJID", "_POS"])
    window = window[window["_POS_J"] <= window["_UPPER"]]
    is_cr, is_pr = window["AVALC_J"].eq("CR"), window["AVALC_J"].eq("PR")
    window = window.assign(
        _NE=window["AVALC_J"].eq("NE"), _SD=window["AVALC_J"].eq("SD"),
        _BAD=(window["AVALC"].eq("CR") & ~window["AVALC_J"].isin(["CR", "NE"]))
        | (window["AVALC"].eq("PR") & ~window["AVALC_J"].isin(["CR", "PR", "NE", "SD"])),
        _CRDT=window["ADT_J"].where(is_cr), _PRDT=window["ADT_J"].where(is_pr))
    agg = window.groupby(["USUBJID", "_POS"]).agg(
        bad=("_BAD", "any"), ne=("_NE", "sum"), sd=("_SD", "sum"),
        first_cr=("_CRDT", "min"), last_pr=("_PRDT", "max"), ncr=("_CRDT", "count"), npr=("_PRDT", "count"))
    pr_after_cr = (agg["ncr"] > 0) & (agg["npr"] > 0) & ~(agg["first_cr"] > agg["last_pr"])
    ok = ~agg["bad"] & (agg["ne"] <= max_ne) & (agg["sd"] <= max_sd)
    agg["CONFIRMED"] = ok
    cand_key = pd.MultiIndex.from_frame(cand[["USUBJID", "_POS"]])
    confirmed_cr = agg["CONFIRMED"].reindex(cand_key, fill_value=False).to_numpy() & cand["AVALC"].eq("CR").to_numpy()
    confirmed_pr = ((agg["CONFIRMED"] & ~pr_after_cr).reindex(cand_key, fill_value=False).to_numpy()
                    & cand["AVALC"].eq("PR").to_numpy())
    recs["CONFIRMED"] = False
    recs.loc[cand.index, "CONFIRMED"] = confirmed_cr | confirmed_pr
    return recs.drop(columns="_POS")


def response_priority(records: pd.DataFrame, confirmed: bool) -> pd.Series:
    """Priority of each assessment as a best-response candidate (1 = CR ... 7 = ND).

    Unconfirmed (admiralonco ``derive_param_bor``): any CR 1, any PR 2; CR/PR/SD on or after
    reference date + SD minimum 3 (SD); NON-CR/NON-PD in that window 4; PD 5; SD or
    NON-CR/NON-PD before the window, NE 6; ND 7.
    Confirmed (``derive_param_confirmed_bor``): confirmed CR 1, confirmed PR 2; then as above,
    an unconfirmed CR/PR counting as SD in the window and as NE before it (RECIST 1.1 Table 3).
    """
    avalc, window = records["AVALC"], records["INWINDOW"].fillna(False).astype(bool)
    prio = pd.Series(7, index=records.index)
    early = avalc.isin(["CR", "PR", "SD", "NON-CR/NON-PD"]) & ~window
    prio[avalc.eq("NE") | early] = 6
    prio[avalc.eq("PD")] = 5
    prio[avalc.eq("NON-CR/NON-PD") & window] = 4
    prio[avalc.isin(["CR", "PR", "SD"]) & window] = 3
    if confirmed:
        prio[avalc.eq("PR") & records["CONFIRMED"]] = 2
        prio[avalc.eq("CR") & records["CONFIRMED"]] = 1
    else:
        prio[avalc.eq("PR")] = 2
        prio[avalc.eq("CR")] = 1
    return prio


def best_response(records: pd.DataFrame, subjects: pd.DataFrame, confirmed: bool) -> pd.DataFrame:
    """BOR (``confirmed=False``) or CBOR: the candidate with the lowest priority, earliest date
    first; ``MISSING`` for a subject without usable assessments; ``NE`` (not ND) for a subject
    whose best candidate is ND (module docstring)."""
    cand = records.assign(_P=response_priority(records, confirmed))
    best = cand.sort_values(["USUBJID", "_P", "ADT"], kind="stable").drop_duplicates("USUBJID")
    out = subjects.merge(best[["USUBJID", "_P", "ADT", "VISIT", "VISITNUM", "RSSEQ"]], on="USUBJID", how="left")
    # ND (priority 7) is reported as NE: RECIST 1.1 has no ND best response (module docstring)
    out["AVALC"] = out["_P"].fillna(8).astype(int).map(PRIORITY_AVALC).replace({"ND": "NE"})
    out["AVAL"] = out["AVALC"].map(AVAL_RESP).astype(float)
    out["ANL01FL"] = "Y"
    return out.drop(columns="_P")


def first_event(records: pd.DataFrame, subjects: pd.DataFrame, condition: pd.Series, paramcd: str) -> pd.DataFrame:
    """Y/N per subject: any record meeting ``condition``; ADT = the first such date."""
    first = records.loc[np.asarray(condition, dtype=bool), ["USUBJID", "ADT"]].groupby("USUBJID")["ADT"].min()
    out = subjects.copy()
    out["ADT"] = out["USUBJID"].map(first)
    return _yes_no_from_date(out, paramcd)


def yes_no(best: pd.DataFrame, condition: pd.Series, paramcd: str) -> pd.DataFrame:
    """Y/N from a best-response record (BCP, CBCP); ADT of the best response when Y."""
    out = best[["USUBJID"]].copy()
    out["ADT"] = best["ADT"].where(condition)
    return _yes_no_from_date(out, paramcd)


def clinical_benefit(records: pd.DataFrame, subjects: pd.DataFrame, response: pd.Series, paramcd: str) -> pd.DataFrame:
    """CB / CCB (admiralonco ``derive_param_clinbenefit``): a response (``response``: any CR/PR
    for CB, a confirmed one for CCB) or CR/PR/SD/NON-CR/NON-PD on or after the reference date +
    SD minimum; ADT = the first qualifying date."""
    window = records["AVALC"].isin(["CR", "PR", "SD", "NON-CR/NON-PD"]) & records["INWINDOW"].fillna(False)
    return first_event(records, subjects, np.asarray(response, dtype=bool) | window.to_numpy(dtype=bool), paramcd)


def last_assessment(ovr: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
    """LSTA: the last ANL01FL assessment (admiralonco ``derive_param_lasta``), PD or not."""
    anl = ovr[ovr["ANL01FL"].eq("Y")].sort_values(["USUBJID", "ADT"], kind="stable").drop_duplicates("USUBJID", keep="last")
    out = subjects.merge(anl[["USUBJID", "ADT", "AVALC", "AVAL", "VISIT", "VISITNUM", "RSSEQ"]], on="USUBJID", how="left")
    return out.assign(PARAMCD="LSTA", ANL01FL="Y")


def death(adsl: pd.DataFrame) -> pd.DataFrame:
    """DEATH: Y/N from ADSL DTHDT (ADT = date of death); a death after the data cut-off (ADSL
    DCUTDT) is not used, as in ADTTE."""
    out = adsl[["USUBJID"]].assign(ADT=adsl["DTHDT"].to_numpy() if "DTHDT" in adsl else pd.NaT)
    if "DCUTDT" in adsl.columns:
        out["ADT"] = out["ADT"].where(~(out["ADT"] > adsl["DCUTDT"].to_numpy()))
    return _yes_no_from_date(out, "DEATH")


def _yes_no_from_date(out: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    has = out["ADT"].notna()
    return out.assign(PARAMCD=paramcd, AVALC=np.where(has, "Y", "N"), AVAL=has.astype(float), ANL01FL="Y")


def _empty_adrs() -> pd.DataFrame:
    cols = ["USUBJID", "PARAMCD", "PARAM", "AVALC", "AVAL", "ADT", "ADTF", "ADY", "VISIT", "VISITNUM", "RSSEQ",
            "ANL01FL", "ANL02FL", "ANLEXCL", "REFDT"]
    out = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    for c in ("ADT", "REFDT"):
        out[c] = pd.Series(dtype="datetime64[ns]")
    return out
