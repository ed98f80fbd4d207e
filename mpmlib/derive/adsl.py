"""ADSL: one record per subject in DM, with population flags, treatment dates and covariates.

Follows ADaMIG 1.3 (ADSL variable names) and the pharmaverse admiral ``ad_adsl.R`` template
where it has a rule (treatment dates from EX, last known alive date from every contact).
Screen failures stay in ADSL with ``ENRLFL = "N"`` so the disposition flow can show them;
every analysis population is a subset of ``ENRLFL = "Y"``.

Variables (all dates are ``datetime64``; ``--DTF`` flags say which were imputed):

=========== =================================================================================
ENRLFL      enrolled: ``ARMCD`` present and not a non-enrolment code (``SCRNFAIL``, ``NOTASSGN``)
SAFFL       safety population: enrolled and received any dose of any study drug
EFFFL       efficacy population: SAFFL and measurable disease at baseline (>= 1 TARGET lesion
            identified on or before the first dose; RECIST 1.1 §3.1, §4.1)
TRT01P/A    planned arm (``ARM``) / actual arm (``ACTARM``, treated subjects only)
TRTSDT/EDT  first/last dose date of any study drug; ``<CODE>SDT/EDT`` per study drug
TRTDURD     TRTEDT - TRTSDT + 1 (days)
RANDDT      randomisation date (DS ``DSDECOD = RANDOMIZED``), if any
TTEREFDT    time-to-event origin: TRTSDT or RANDDT (``adsl.reference_date``)
DTHDT       death date (DM ``DTHDTC``, else DS ``DEATH``); partial dates imputed (see below)
LSTALVDT    last date known alive, with its source ``LALVDOM``/``LALVVAR``
EOSSTT      end-of-study status (COMPLETED / DISCONTINUED / ONGOING) and ``DCSREAS``
EOTSTT      end-of-treatment status and ``DCTREAS`` (when DS has END OF TREATMENT records)
<VAR>BL     baseline laboratory values and ratios from LB (``adsl.lab_baseline``; e.g. NEUTBL,
            LYMBL, NLRBL): last non-missing LBSTRESN on or before TRTSDT (:func:`merge_lab_baseline`)
=========== =================================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpmlib.dates import date_imputation_flag, dtc_to_date, require_valid_dtc
from mpmlib.errors import DataError

DM_KEEP = ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC",
           "COUNTRY", "ARMCD", "ARM", "ACTARMCD", "ACTARM"]
DM_REQUIRED = ["USUBJID", "ARMCD", "ARM"]

#: Dated contacts that prove a subject was alive (admiral ad_adsl.R ``LSTALVDT`` sources,
#: extended to every domain this project reads). Death records are excluded in the code.
ALIVE_SOURCES = [
    ("dm", "RFICDTC"), ("dm", "RFSTDTC"), ("ex", "EXSTDTC"), ("ex", "EXENDTC"),
    ("ae", "AESTDTC"), ("ae", "AEENDTC"), ("rs", "RSDTC"), ("tr", "TRDTC"), ("tu", "TUDTC"),
    ("qs", "QSDTC"), ("ds", "DSSTDTC"), ("cm", "CMSTDTC"), ("cm", "CMENDTC"),
    ("sv", "SVSTDTC"), ("sv", "SVENDTC"), ("lb", "LBDTC"),
]


def derive_adsl(sdtm: dict[str, pd.DataFrame], adsl_params: dict,
                data_cutoff: str | None = None) -> pd.DataFrame:
    """Build ADSL from SDTM domains (lower-case keys) and the ``adsl`` section of the parameters.

    Raises :class:`DataError` when DM is missing, a required DM variable is missing, a subject
    appears twice in DM, or another domain holds subjects that are not in DM (they would
    otherwise be lost from every denominator).
    """
    dm = require_domain(sdtm, "dm", DM_REQUIRED)
    check_unique_subjects(dm, "DM")
    check_subjects_in_dm(sdtm, dm)
    adsl = dm[[c for c in DM_KEEP if c in dm.columns]].copy()
    adsl = derive_var_enrlfl(adsl, adsl_params["not_enrolled_armcd"])
    adsl = derive_var_agegr1(adsl, adsl_params["age_groups"])
    adsl = merge_treatment_dates(adsl, sdtm.get("ex"), adsl_params["study_drugs"],
                                 adsl_params["ex_missing_end"])
    adsl = derive_treatment_vars(adsl)
    adsl = merge_randdt(adsl, sdtm.get("ds"))
    adsl = derive_var_tterefdt(adsl, adsl_params["reference_date"])
    adsl = merge_consent_date(adsl, dm)
    adsl = merge_lstalvdt(adsl, sdtm)
    adsl = merge_death(adsl, dm, sdtm.get("ds"))
    adsl = merge_disposition(adsl, sdtm.get("ds"))
    adsl = derive_var_efffl(adsl, sdtm.get("tu"))
    adsl = merge_covariates(adsl, sdtm, adsl_params["covariates"])
    adsl = merge_lab_baseline(adsl, sdtm.get("lb"), adsl_params.get("lab_baseline") or {})
    adsl["DCUTDT"] = pd.Timestamp(data_cutoff) if data_cutoff else pd.NaT
    return adsl.sort_values("USUBJID", kind="stable").reset_index(drop=True)


# ---- checks -----------------------------------------------------------------------------------

def require_domain(sdtm: dict, domain: str, variables: list[str]) -> pd.DataFrame:
    """The domain's DataFrame, or a :class:`DataError` naming what is missing."""
    if domain not in sdtm:
        raise DataError(domain.upper(), None, "required domain is missing from the SDTM folder")
    df = sdtm[domain]
    missing = [v for v in variables if v not in df.columns]
    if missing:
        raise DataError(domain.upper(), ", ".join(missing), "required variable is missing")
    return df


def check_unique_subjects(dm: pd.DataFrame, domain: str = "DM") -> None:
    """DM has one record per subject (SDTMIG 3.3 §5.2)."""
    missing = dm["USUBJID"].isna()
    if missing.any():
        raise DataError(domain, "USUBJID", "missing subject identifier",
                        detail=f"{int(missing.sum())} record(s)")
    dup = dm["USUBJID"].duplicated(keep=False)
    if dup.any():
        raise DataError(domain, "USUBJID", "subject appears more than once", dm.loc[dup, "USUBJID"])


def check_subjects_in_dm(sdtm: dict, dm: pd.DataFrame) -> None:
    """Every subject with data in any domain is in DM (otherwise it would be silently lost)."""
    known = set(dm["USUBJID"])
    for domain, df in sorted(sdtm.items()):
        if domain == "dm" or "USUBJID" not in df.columns:
            continue
        unknown = set(df["USUBJID"].dropna()) - known
        if unknown:
            raise DataError(domain.upper(), "USUBJID", "subject not in DM", unknown)


# ---- population flags and groups ----------------------------------------------------------------

def derive_var_enrlfl(adsl: pd.DataFrame, not_enrolled_armcd: list[str]) -> pd.DataFrame:
    """ENRLFL = "Y" when ARMCD is present and not a non-enrolment code (SDTMIG 3.3 DM: screen
    failures ``SCRNFAIL``, not assigned ``NOTASSGN``), else "N"."""
    codes = {c.upper() for c in not_enrolled_armcd}
    enrolled = adsl["ARMCD"].notna() & ~adsl["ARMCD"].str.upper().isin(codes)
    adsl["ENRLFL"] = np.where(enrolled, "Y", "N")
    return adsl


def derive_var_agegr1(adsl: pd.DataFrame, cut_points: list[int]) -> pd.DataFrame:
    """AGEGR1: age groups from the cut points, e.g. [65] -> "<65", ">=65" (ICH E7 uses 65)."""
    if "AGE" not in adsl.columns:
        adsl["AGEGR1"] = np.nan
        return adsl
    bounds = sorted(cut_points)
    labels = [f"<{bounds[0]}"] + [f"{lo}-{hi - 1}" for lo, hi in zip(bounds, bounds[1:])] + [f">={bounds[-1]}"]
    groups = pd.cut(adsl["AGE"], bins=[-np.inf, *bounds, np.inf], right=False, labels=labels)
    adsl["AGEGR1"] = groups.astype("object").where(adsl["AGE"].notna(), np.nan)
    return adsl


# ---- exposure ---------------------------------------------------------------------------------

def valid_doses(ex: pd.DataFrame, missing_end: str = "start") -> pd.DataFrame:
    """EX records that count as a received dose, with ``EXSTDT``/``EXENDT`` dates.

    Rule (admiral ``ad_adsl.R``): ``EXDOSE > 0``, or ``EXDOSE == 0`` for a placebo
    (``EXTRT`` contains "PLACEBO"), or EXDOSE not collected; and a complete ``EXSTDTC`` (partial
    dosing dates are not imputed for treatment start/end). A missing ``EXENDTC``:
    ``missing_end="start"`` treats the record as a single-day administration (end = start; H101
    injections and infusions are often recorded with a start date only); ``"ignore"`` leaves the
    record out of the end date, as admiral does (``filter_add = !is.na(EXENDTM)``).
    """
    require_valid_dtc(ex, "EX", "EXSTDTC")
    require_valid_dtc(ex, "EX", "EXENDTC")
    ex = ex.copy()
    if "EXDOSE" in ex.columns:
        placebo = ex["EXTRT"].fillna("").str.upper().str.contains("PLACEBO")
        dosed = (ex["EXDOSE"] > 0) | ((ex["EXDOSE"] == 0) & placebo) | ex["EXDOSE"].isna()
    else:
        dosed = pd.Series(True, index=ex.index)
    ex["EXSTDT"] = dtc_to_date(ex["EXSTDTC"])
    end = dtc_to_date(ex["EXENDTC"]) if "EXENDTC" in ex.columns else ex["EXSTDT"]
    ex["EXENDT"] = end.fillna(ex["EXSTDT"]) if missing_end == "start" else end
    return ex[dosed & ex["EXSTDT"].notna()]


def merge_treatment_dates(adsl: pd.DataFrame, ex: pd.DataFrame | None,
                          study_drugs: dict[str, list[str]], missing_end: str = "start") -> pd.DataFrame:
    """TRTSDT/TRTEDT over all study drugs and ``<CODE>SDT``/``<CODE>EDT`` per drug.

    With no ``study_drugs`` in the parameters every EX record is a study drug. EXTRT values that
    belong to no listed drug are ignored for the dates (e.g. a run-in product).
    """
    if ex is None or ex.empty:
        adsl["TRTSDT"] = pd.NaT
        adsl["TRTEDT"] = pd.NaT
        for code in study_drugs:
            adsl[f"{code}SDT"] = pd.NaT
            adsl[f"{code}EDT"] = pd.NaT
        return adsl
    require_domain({"ex": ex}, "ex", ["USUBJID", "EXTRT", "EXSTDTC"])
    doses = valid_doses(ex, missing_end)
    extrt = doses["EXTRT"].fillna("").str.upper()
    drug_of = pd.Series(np.nan, index=doses.index, dtype="object")
    for code, names in study_drugs.items():
        drug_of[extrt.isin([n.upper() for n in names])] = code
    study = doses if not study_drugs else doses[drug_of.notna()]
    overall = study.groupby("USUBJID").agg(TRTSDT=("EXSTDT", "min"), TRTEDT=("EXENDT", "max"))
    adsl = adsl.merge(overall, how="left", left_on="USUBJID", right_index=True)
    if study_drugs:
        per_drug = doses.assign(DRUG=drug_of).dropna(subset=["DRUG"]).groupby(["USUBJID", "DRUG"]).agg(
            SDT=("EXSTDT", "min"), EDT=("EXENDT", "max")).unstack("DRUG")
        for code in study_drugs:
            for part in ("SDT", "EDT"):
                col = (part, code)
                values = per_drug[col] if col in per_drug.columns else pd.Series(dtype="datetime64[ns]")
                adsl[f"{code}{part}"] = adsl["USUBJID"].map(values)
    return adsl


def derive_treatment_vars(adsl: pd.DataFrame) -> pd.DataFrame:
    """SAFFL, TRT01P/TRT01A and TRTDURD.

    SAFFL = "Y" for enrolled subjects with any study drug (TRTSDT present; ICH E9 safety set).
    TRT01P = ARM for enrolled subjects; TRT01A = ACTARM for treated subjects.
    TRTDURD = TRTEDT - TRTSDT + 1 days (ADaMIG convention: both days count).
    """
    enrolled = adsl["ENRLFL"].eq("Y")
    treated = enrolled & adsl["TRTSDT"].notna()
    adsl["SAFFL"] = np.where(treated, "Y", "N")
    adsl["TRT01P"] = adsl["ARM"].where(enrolled)
    actual = adsl["ACTARM"] if "ACTARM" in adsl.columns else adsl["ARM"]
    adsl["TRT01A"] = actual.where(treated)
    adsl["TRTDURD"] = (adsl["TRTEDT"] - adsl["TRTSDT"]).dt.days + 1
    return adsl


# ---- key dates --------------------------------------------------------------------------------

def merge_randdt(adsl: pd.DataFrame, ds: pd.DataFrame | None) -> pd.DataFrame:
    """RANDDT = first DS ``DSSTDTC`` with ``DSDECOD = "RANDOMIZED"`` (complete dates only)."""
    adsl["RANDDT"] = pd.NaT
    if ds is None or "DSDECOD" not in ds.columns or "DSSTDTC" not in ds.columns:
        return adsl
    require_valid_dtc(ds, "DS", "DSSTDTC")
    rand = ds[ds["DSDECOD"].eq("RANDOMIZED")]
    if len(rand):
        first = rand.assign(DT=dtc_to_date(rand["DSSTDTC"])).groupby("USUBJID")["DT"].min()
        adsl["RANDDT"] = adsl["USUBJID"].map(first)
    return adsl


def derive_var_tterefdt(adsl: pd.DataFrame, reference: str) -> pd.DataFrame:
    """TTEREFDT: the origin of every time-to-event endpoint, TRTSDT (single-arm default) or
    RANDDT (randomised data, e.g. the admiralonco ADTTE template)."""
    adsl["TTEREFDT"] = adsl[reference]
    return adsl


def merge_consent_date(adsl: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """RFICDT: informed consent date from DM ``RFICDTC`` (complete dates only)."""
    if "RFICDTC" in dm.columns:
        require_valid_dtc(dm, "DM", "RFICDTC")
        adsl["RFICDT"] = adsl["USUBJID"].map(dict(zip(dm["USUBJID"], dtc_to_date(dm["RFICDTC"]))))
    else:
        adsl["RFICDT"] = pd.NaT
    return adsl


def alive_contacts(sdtm: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The latest dated contact that shows a subject alive, per subject and source: USUBJID,
    DATE, DOMAIN, VARIABLE, ORDER (the source's place in :data:`ALIVE_SOURCES`).

    Partial dates are completed to the earliest possible day (the subject was alive at least
    then); records of death (DS ``DSDECOD = DEATH``, the end date of a fatal AE) are left out.
    Each source is reduced to its latest date per subject before the sources are combined.
    """
    frames = []
    for order, (domain, variable) in enumerate(ALIVE_SOURCES):
        df = sdtm.get(domain)
        if df is None or variable not in df.columns or "USUBJID" not in df.columns:
            continue
        require_valid_dtc(df, domain.upper(), variable)
        keep = pd.Series(True, index=df.index)
        if domain == "ds" and "DSDECOD" in df.columns:
            keep &= ~df["DSDECOD"].eq("DEATH")
        if domain == "ae" and variable == "AEENDTC" and "AEOUT" in df.columns:
            keep &= ~df["AEOUT"].eq("FATAL")
        dates = pd.DataFrame({"USUBJID": df.loc[keep, "USUBJID"],
                              "DATE": dtc_to_date(df.loc[keep, variable], imputation="first")})
        latest = dates.dropna(subset=["DATE"]).groupby("USUBJID", sort=False)["DATE"].max().reset_index()
        frames.append(latest.assign(DOMAIN=domain.upper(), VARIABLE=variable, ORDER=order))
    if not frames:
        return pd.DataFrame(columns=["USUBJID", "DATE", "DOMAIN", "VARIABLE", "ORDER"])
    return pd.concat(frames, ignore_index=True)


def merge_lstalvdt(adsl: pd.DataFrame, sdtm: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """LSTALVDT = latest alive contact over all domains (admiral ``ad_adsl.R``,
    ``derive_vars_extreme_event(mode = "last")``), with its source LALVDOM / LALVVAR.

    Ties keep the first source in :data:`ALIVE_SOURCES` order, so the result is deterministic.
    """
    contacts = alive_contacts(sdtm)
    last = (contacts.sort_values(["USUBJID", "DATE", "ORDER"], ascending=[True, False, True], kind="stable")
            .drop_duplicates("USUBJID").set_index("USUBJID"))
    adsl["LSTALVDT"] = adsl["USUBJID"].map(last["DATE"])
    adsl["LALVDOM"] = adsl["USUBJID"].map(last["DOMAIN"])
    adsl["LALVVAR"] = adsl["USUBJID"].map(last["VARIABLE"])
    return adsl


def merge_death(adsl: pd.DataFrame, dm: pd.DataFrame, ds: pd.DataFrame | None) -> pd.DataFrame:
    """DTHFL, DTHDT, DTHDTF.

    Source: DM ``DTHDTC``; if blank, the DS record with ``DSDECOD = "DEATH"``. A partial death
    date is completed to the first day of the period, but never earlier than the last date the
    subject is known alive within that period (a widely used SAP rule; admiral ``derive_vars_dt``
    with ``highest_imputation = "M"``, ``date_imputation = "first"`` plus the alive-date floor).
    A contact after the end of the death period is a data contradiction left for QC to report;
    it does not move the death date.
    DTHDTF says what was imputed ("D" day, "M" month and day). DTHFL is "Y" or missing (ADaMIG).
    """
    require_valid_dtc(dm, "DM", "DTHDTC")
    death_dtc = adsl["USUBJID"].map(dict(zip(dm["USUBJID"], dm["DTHDTC"]))) if "DTHDTC" in dm.columns \
        else pd.Series(np.nan, index=adsl.index, dtype="object")
    if ds is not None and {"DSDECOD", "DSSTDTC"} <= set(ds.columns):
        ds_death = ds[ds["DSDECOD"].eq("DEATH")].dropna(subset=["DSSTDTC"]).drop_duplicates("USUBJID")
        death_dtc = death_dtc.fillna(adsl["USUBJID"].map(dict(zip(ds_death["USUBJID"], ds_death["DSSTDTC"]))))
    death_dtc = death_dtc.astype("object")
    imputed = dtc_to_date(death_dtc, imputation="first")
    period_end = dtc_to_date(death_dtc, imputation="last")
    flag = date_imputation_flag(death_dtc)
    alive = adsl["LSTALVDT"]
    floor = alive.where(flag.ne("") & (alive > imputed) & (alive <= period_end))
    adsl["DTHDT"] = imputed.where(floor.isna(), floor)
    adsl["DTHDTF"] = flag.where(flag.ne(""), np.nan)
    dthfl = dm.set_index("USUBJID")["DTHFL"] if "DTHFL" in dm.columns else pd.Series(dtype=object)
    adsl["DTHFL"] = np.where(adsl["DTHDT"].notna() | adsl["USUBJID"].map(dthfl).eq("Y"), "Y", None)
    return adsl


def merge_disposition(adsl: pd.DataFrame, ds: pd.DataFrame | None) -> pd.DataFrame:
    """EOSSTT/DCSREAS and EOTSTT/DCTREAS from DS disposition events (ADaMIG 1.3 ADSL).

    End of study: a ``DSCAT = "DISPOSITION EVENT"`` record with ``DSSCAT = "END OF STUDY"`` (or
    without DSSCAT, as in the CDISC pilot). ``COMPLETED`` -> COMPLETED; ``SCREEN FAILURE`` is not
    an end of study of an enrolled subject; anything else -> DISCONTINUED with the reason;
    no record -> ONGOING. End of treatment: records with ``DSSCAT = "END OF TREATMENT"``.
    """
    for var in ("EOSSTT", "DCSREAS", "EOTSTT", "DCTREAS"):
        adsl[var] = np.nan
    enrolled = adsl["ENRLFL"].eq("Y")
    if ds is None or not {"DSCAT", "DSDECOD"} <= set(ds.columns):
        return adsl
    events = ds[ds["DSCAT"].eq("DISPOSITION EVENT") & ~ds["DSDECOD"].eq("SCREEN FAILURE")]
    scat = events["DSSCAT"] if "DSSCAT" in events.columns else pd.Series(np.nan, index=events.index)
    for status, reason, records in (
        ("EOSSTT", "DCSREAS", events[scat.isna() | scat.eq("END OF STUDY")]),
        ("EOTSTT", "DCTREAS", events[scat.eq("END OF TREATMENT")]),
    ):
        last = records.drop_duplicates("USUBJID", keep="last").set_index("USUBJID")["DSDECOD"]
        decod = adsl["USUBJID"].map(last)
        if status == "EOTSTT" and records.empty:
            continue
        adsl[status] = np.where(decod.isna(), "ONGOING",
                                np.where(decod.eq("COMPLETED"), "COMPLETED", "DISCONTINUED"))
        adsl[reason] = decod.where(decod.notna() & decod.ne("COMPLETED"))
        adsl.loc[~enrolled, [status, reason]] = np.nan
    return adsl


def derive_var_efffl(adsl: pd.DataFrame, tu: pd.DataFrame | None) -> pd.DataFrame:
    """EFFFL = "Y": safety population and measurable disease at baseline, i.e. at least one
    TARGET lesion (TU ``TUSTRESC``/``TUORRES`` = TARGET, investigator where ``TUEVAL`` exists)
    identified on or before the first dose (RECIST 1.1 §3.1 and §4.1: target lesions are chosen
    at baseline). Without TU (non-oncology data) nobody has measurable disease: EFFFL = "N"."""
    adsl["MDISFL"] = "N"
    if tu is not None and "USUBJID" in tu.columns:
        result = tu["TUSTRESC"] if "TUSTRESC" in tu.columns else tu.get("TUORRES")
        if result is not None:
            target = tu[result.eq("TARGET")]
            if "TUEVAL" in target.columns:
                target = target[target["TUEVAL"].isna() | target["TUEVAL"].str.upper().eq("INVESTIGATOR")]
            when = dtc_to_date(target["TUDTC"], imputation="first") if "TUDTC" in target.columns \
                else pd.Series(pd.NaT, index=target.index)
            first_dose = target["USUBJID"].map(adsl.set_index("USUBJID")["TRTSDT"])
            baseline_visit = target["VISIT"].str.upper().isin(["BASELINE", "SCREENING"]) \
                if "VISIT" in target.columns else pd.Series(False, index=target.index)
            at_baseline = (when <= first_dose) | (when.isna() & baseline_visit)
            measurable = set(target.loc[at_baseline, "USUBJID"])
            adsl["MDISFL"] = np.where(adsl["USUBJID"].isin(measurable), "Y", "N")
    adsl["EFFFL"] = np.where(adsl["SAFFL"].eq("Y") & adsl["MDISFL"].eq("Y"), "Y", "N")
    return adsl


# ---- covariates -------------------------------------------------------------------------------

def merge_covariates(adsl: pd.DataFrame, sdtm: dict[str, pd.DataFrame], specs: dict) -> pd.DataFrame:
    """Baseline covariates named in the parameter file (``adsl.covariates``).

    Each entry is ``VAR: {source: SUPPDM, qnam: QNAM, type: text|number}`` or
    ``VAR: {source: EX, drug: [EXTRT values], variable: EXROUTE}`` (value at the first dose).
    A covariate whose source is absent is added as all-missing, so tables show it as "Missing"
    instead of failing; a number that is not a number is a :class:`DataError`.
    """
    for name, spec in specs.items():
        source = str(spec.get("source", "")).upper()
        if source == "SUPPDM":
            adsl[name] = _suppdm_value(adsl, sdtm.get("suppdm"), spec["qnam"], spec.get("type", "text"))
        elif source == "EX":
            adsl[name] = _first_dose_value(adsl, sdtm.get("ex"), spec["drug"], spec["variable"])
        else:
            raise DataError("PARAMS", name, f"unknown covariate source {source!r} (use SUPPDM or EX)")
    return adsl


def _suppdm_value(adsl, suppdm, qnam: str, kind: str) -> pd.Series:
    if suppdm is None or not {"QNAM", "QVAL"} <= set(suppdm.columns):
        return pd.Series(np.nan, index=adsl.index, dtype="object")
    rows = suppdm[suppdm["QNAM"].eq(qnam)]
    dup = rows["USUBJID"].duplicated(keep=False)
    if dup.any():
        raise DataError("SUPPDM", f"QNAM={qnam}", "more than one value per subject", rows.loc[dup, "USUBJID"])
    values = adsl["USUBJID"].map(dict(zip(rows["USUBJID"], rows["QVAL"])))
    if kind == "number":
        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna() & values.notna()
        if bad.any():
            raise DataError("SUPPDM", f"QVAL (QNAM={qnam})", "must be numeric", adsl.loc[bad, "USUBJID"],
                            f"values: {', '.join(sorted(set(values[bad].astype(str)))[:5])}")
        return numbers
    return values.astype("object")


def _first_dose_value(adsl, ex, drug_names, variable: str) -> pd.Series:
    if ex is None or variable not in ex.columns:
        return pd.Series(np.nan, index=adsl.index, dtype="object")
    names = [drug_names] if isinstance(drug_names, str) else list(drug_names)
    doses = valid_doses(ex)
    doses = doses[doses["EXTRT"].str.upper().isin([n.upper() for n in names])]
    first = doses.sort_values(["USUBJID", "EXSTDT"], kind="stable").drop_duplicates("USUBJID")
    return adsl["USUBJID"].map(dict(zip(first["USUBJID"], first[variable])))


# ---- baseline laboratory values -----------------------------------------------------------------

LB_REQUIRED = ["USUBJID", "LBTESTCD", "LBSTRESN", "LBDTC"]


def lab_records(lb: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """LB results that can be a baseline: non-missing ``LBSTRESN``, a complete ``LBDTC`` date on
    or before the subject's first dose (TRTSDT), in baseline order.

    Rule: ADaMIG 1.3 / admiral ``derive_var_extreme_flag(mode = "last")`` for ``ABLFL``: the last
    non-missing value on or before the reference start; a result on the day of the first dose
    counts (dates only are compared, as EX gives dates), a partial date does not (not imputed).
    Order: date, then the full ``LBDTC`` (a time if given), ``VISITNUM``, ``LBSEQ`` (admiral
    ``ad_adlb.R`` orders by ``ADT, VISITNUM, LBSEQ``). Subjects never dosed have no baseline.
    ``LBBLFL`` is not used: the baseline is the analysis' own definition (ADaM ``ABLFL``) and
    ``LBBLFL`` is deprecated in SDTMIG 3.4 (``LBLOBXFL``); the demo data's LBBLFL agrees (tested).
    """
    require_domain({"lb": lb}, "lb", LB_REQUIRED)
    require_valid_dtc(lb, "LB", "LBDTC")
    values = pd.to_numeric(lb["LBSTRESN"], errors="coerce")
    bad = values.isna() & lb["LBSTRESN"].notna()
    if bad.any():
        raise DataError("LB", "LBSTRESN", "must be numeric", lb.loc[bad, "USUBJID"])
    out = pd.DataFrame({"USUBJID": lb["USUBJID"], "LBTESTCD": lb["LBTESTCD"], "AVAL": values,
                        "UNIT": lb["LBSTRESU"] if "LBSTRESU" in lb.columns else np.nan,
                        "ADT": dtc_to_date(lb["LBDTC"]), "DTC": lb["LBDTC"].astype("object"),
                        "VISITNUM": pd.to_numeric(lb["VISITNUM"], errors="coerce") if "VISITNUM" in lb.columns else np.nan,
                        "SEQ": pd.to_numeric(lb["LBSEQ"], errors="coerce") if "LBSEQ" in lb.columns else np.nan})
    first = out["USUBJID"].map(adsl.set_index("USUBJID")["TRTSDT"])
    out = out[out["AVAL"].notna() & out["ADT"].notna() & (out["ADT"] <= first)]
    return out.sort_values(["USUBJID", "LBTESTCD", "ADT", "DTC", "VISITNUM", "SEQ"], kind="stable")


def _single_unit(base: pd.DataFrame, code: str, name: str) -> None:
    """The baseline values of one test share one standard unit (else the ADSL variable would mix
    units): a :class:`DataError` naming the subjects outside the most common unit (all of them
    when no unit is the most common)."""
    units = base["UNIT"].fillna("(none)")
    if units.nunique() > 1:
        counts = units.value_counts()
        odd = units.ne(counts.index[0]) if counts.iloc[0] > counts.iloc[1] else pd.Series(True, index=units.index)
        raise DataError("LB", "LBSTRESU", f"LBTESTCD={code}: more than one standard unit among the baseline "
                        f"values for {name}", base.loc[odd, "USUBJID"],
                        f"units: {', '.join(sorted(units.unique()))}")


def baseline_value(records: pd.DataFrame, adsl: pd.DataFrame, code: str, name: str) -> pd.Series:
    """Per ADSL subject, the baseline LBSTRESN of LBTESTCD ``code`` (:func:`lab_records`);
    missing when the subject has none."""
    base = records[records["LBTESTCD"].eq(code)].drop_duplicates("USUBJID", keep="last")
    _single_unit(base, code, name)
    return adsl["USUBJID"].map(base.set_index("USUBJID")["AVAL"]).astype(float)


def baseline_ratio(records: pd.DataFrame, adsl: pd.DataFrame, numerator: str, denominator: str,
                   name: str) -> pd.Series:
    """Per ADSL subject, the baseline ratio numerator / denominator (e.g. NLR = NEUT / LYM).

    Rule: the ratio is computed within one blood sample (same subject and ``LBDTC``; admiral
    ``derive_param_computed`` by subject and date), then the baseline is the last sample on or
    before the first dose with both results non-missing (:func:`lab_records` order). Both results
    must be in the same standard unit (``LBSTRESU``), else :class:`DataError`; a zero denominator
    is a :class:`DataError`. A subject whose baseline samples lack either result gets missing.
    """
    pair = records[records["LBTESTCD"].isin([numerator, denominator])]
    pair = pair.drop_duplicates(["USUBJID", "DTC", "LBTESTCD"], keep="last")
    wide = pair.pivot(index=["USUBJID", "DTC"], columns="LBTESTCD", values=["AVAL", "UNIT"])
    if wide.empty or ("AVAL", numerator) not in wide.columns or ("AVAL", denominator) not in wide.columns:
        return pd.Series(np.nan, index=adsl.index, dtype=float)
    both = wide[wide[("AVAL", numerator)].notna() & wide[("AVAL", denominator)].notna()]
    num_u, den_u = both[("UNIT", numerator)].fillna("(none)"), both[("UNIT", denominator)].fillna("(none)")
    differ = num_u.ne(den_u)
    if differ.any():
        raise DataError("LB", "LBSTRESU", f"{numerator} and {denominator} in different standard units, "
                        f"so {name} cannot be computed", both.index[differ].get_level_values("USUBJID"),
                        f"units: {', '.join(sorted(set(num_u[differ] + ' vs ' + den_u[differ])))}")
    zero = both[("AVAL", denominator)].eq(0)
    if zero.any():
        raise DataError("LB", "LBSTRESN", f"LBTESTCD={denominator} is 0, so {name} cannot be computed",
                        both.index[zero].get_level_values("USUBJID"))
    ratio = (both[("AVAL", numerator)] / both[("AVAL", denominator)]).astype(float)
    order = pair.drop_duplicates(["USUBJID", "DTC"], keep="last").set_index(["USUBJID", "DTC"])
    ratio = ratio.to_frame("R").join(order[["ADT", "VISITNUM", "SEQ"]]).reset_index()
    last = ratio.sort_values(["USUBJID", "ADT", "DTC", "VISITNUM", "SEQ"], kind="stable").drop_duplicates(
        "USUBJID", keep="last")
    return adsl["USUBJID"].map(last.set_index("USUBJID")["R"]).astype(float)


def merge_lab_baseline(adsl: pd.DataFrame, lb: pd.DataFrame | None, spec: dict) -> pd.DataFrame:
    """Baseline laboratory variables named in ``adsl.lab_baseline`` (parameter file).

    ``tests: {ADSL variable: LBTESTCD}`` gives each test's baseline value
    (:func:`baseline_value`); ``ratios: {ADSL variable: [numerator, denominator LBTESTCD]}`` a
    same-sample ratio (:func:`baseline_ratio`), e.g. ``NLRBL: [NEUT, LYM]``, the
    neutrophil-to-lymphocyte ratio (Kao et al., Clin Cancer Res 2010;16:5805-13). Without LB
    every variable is added as all-missing, so the factor tables show "Missing" (or leave the
    factor out as absent) instead of failing. Every subject keeps its row.
    """
    tests, ratios = spec.get("tests") or {}, spec.get("ratios") or {}
    if lb is None or lb.empty or not (tests or ratios):
        for name in [*tests, *ratios]:
            adsl[name] = np.nan
        return adsl
    records = lab_records(lb, adsl)
    for name, code in tests.items():
        adsl[name] = baseline_value(records, adsl, code, name)
    for name, (numerator, denominator) in ratios.items():
        adsl[name] = baseline_ratio(records, adsl, numerator, denominator, name)
    return adsl
