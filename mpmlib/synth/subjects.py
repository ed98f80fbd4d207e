"""Subjects of the synthetic trial: site, demographics, baseline covariates and dates (DM, SUPPDM).

Parameters and their sources: docs/synthetic-trial.md §2 (design of issue 2 unless marked
"assumption"). Sites and weights, age 45 + 37·Beta(4.5, 3.4), 78 % male (asbestos-related disease,
assumption), 98.5 % ASIAN (Chinese sites); SUPPDM histology (70/20/10 %), ECOG (0: 45 %), PD-L1
TPS bands, type of PD-1 resistance (primary 40 %) and number of prior lines. The latent benefit
score ``z`` is drawn here from the covariates (effect sizes are assumptions, modest against the
unit noise). Screen failures (3 per 20 enrolled) get consent, a screen-failure day and a reason.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from mpmlib.synth.draws import choice, uint
from mpmlib.synth.study import ACCRUAL_END, ACCRUAL_START, ARM, ARMCD, CUTOFF_DAY, STUDYID, month

SITES = ["01", "02", "03", "04", "05", "06"]
SITE_WEIGHTS = [0.28, 0.22, 0.16, 0.14, 0.12, 0.08]
P_MALE = 0.78  # asbestos-related disease, mostly men (assumption)
P_WHITE = 0.015  # otherwise ASIAN (Chinese sites)
HISTOLOGY = (["EPITHELIOID", "BIPHASIC", "SARCOMATOID"], [0.70, 0.20, 0.10])
P_ECOG0 = 0.45
PDL1_BANDS = [0.45, 0.38, 0.17]  # TPS 0 / 1-49 (geometric, mean ~8) / 50-100 (uniform)
P_PRIMARY_RES = 0.40  # PD1RES = PRIMARY, else ACQUIRED
PRIOR_LINES = ([1, 2, 3], [0.35, 0.45, 0.20])

# Latent benefit z = covariate effects + N(0, 1) - centring (assumption; modest effects)
Z_EFFECTS = {"ACQUIRED": 0.35, "EPITHELIOID": 0.30, "SARCOMATOID": -0.45, "ECOG0": 0.30,
             "PDL1POS": 0.30}
Z_CENTRE = 0.675


def new_subject(rng, index: int, kind: str) -> SimpleNamespace:
    """Site and demographics (first draws of every subject's generator)."""
    S = SimpleNamespace(index=index, kind=kind, rng=rng, rec=defaultdict(list), qs=[],
                        treated=False, dthdtc=None, death_partial=False, eos=None,
                        fatal=False, window_subject=False)
    S.siteid = choice(rng, SITES, SITE_WEIGHTS)
    S.age = int(round(45 + 37 * rng.beta(4.5, 3.4)))
    S.sex = "M" if rng.random() < P_MALE else "F"
    S.race = "WHITE" if rng.random() < P_WHITE else "ASIAN"
    return S


def draw_covariates(S) -> None:
    """Baseline covariates (SUPPDM) and the latent benefit score ``z``."""
    rng = S.rng
    S.histol = choice(rng, *HISTOLOGY)
    S.ecog = 0 if rng.random() < P_ECOG0 else 1
    band = choice(rng, [0, 1, 2], PDL1_BANDS)
    S.tps = 0 if band == 0 else (int(min(49, rng.geometric(0.12))) if band == 1
                                 else uint(rng, 50, 100))
    S.pd1res = "PRIMARY" if rng.random() < P_PRIMARY_RES else "ACQUIRED"
    S.priorln = choice(rng, *PRIOR_LINES)
    e = Z_EFFECTS
    lp = (e["ACQUIRED"] * (S.pd1res == "ACQUIRED") + e["EPITHELIOID"] * (S.histol == "EPITHELIOID")
          + e["SARCOMATOID"] * (S.histol == "SARCOMATOID") + e["ECOG0"] * (S.ecog == 0)
          + e["PDL1POS"] * (S.tps >= 1))
    S.z = lp - Z_CENTRE + rng.normal()


def draw_dates(S) -> None:
    """First (planned) dose uniform over the accrual period; consent 3-21 days before it."""
    rng = S.rng
    S.d0 = uint(rng, ACCRUAL_START, ACCRUAL_END)
    S.consent = S.d0 - uint(rng, 3, 21)
    S.cut_t = CUTOFF_DAY - S.d0


def draw_screen_failure(S) -> None:
    """A screen failure's consent day (over the accrual period, from 21 days before its start),
    the screen-failure day 3-28 days later and the reason."""
    rng = S.rng
    S.consent = uint(rng, ACCRUAL_START - 21, ACCRUAL_END)
    S.t_sf = S.consent + uint(rng, 3, 28)
    S.sf_reason = choice(rng, ["DID NOT MEET INCLUSION CRITERIA", "MET EXCLUSION CRITERIA",
                               "NO PRIOR PD-1 INHIBITOR FAILURE DOCUMENTED"], [0.5, 0.35, 0.15])


def records_dm(subjects) -> tuple[list, list]:
    """DM and SUPPDM record dicts of every subject, in screening order.

    Arm ``SCRNFAIL`` for screen failures and ``NOTTRT`` (actual arm) for subjects never dosed;
    ``RFSTDTC = RFXSTDTC`` = first dose, ``RFXENDTC`` = last dose of either drug, ``RFENDTC`` =
    end of study; a partial death date is written ``YYYY-MM`` in ``DTHDTC`` (and ``RFENDTC``).
    SUPPDM holds the five baseline covariates of enrolled subjects.
    """
    dm, supp = [], []
    for S in subjects:
        treated = S.treated
        if S.kind == "SF":
            arm = ("Screen Failure", "SCRNFAIL")
            act = arm
            rfst = rfxst = rfxen = rfen = None
        else:
            arm = (ARM, ARMCD)
            act = arm if treated else ("Assigned, Not Treated", "NOTTRT")
            rfst = rfxst = S.d0 if treated else None
            rfxen = S.d0 + S.last_dose if treated else None
            rfen = S.eos[1] if S.eos else None
        dth = None
        if S.dthdtc is not None:
            dth = month(S.dthdtc) if S.death_partial else S.dthdtc
        if rfen is not None and S.death_partial and rfen == S.dthdtc:
            rfen = dth
        dm.append(dict(USUBJID=S.usubjid, SUBJID=S.subjid, RFSTDTC=rfst, RFENDTC=rfen,
                       RFXSTDTC=rfxst, RFXENDTC=rfxen, RFICDTC=S.consent, DTHDTC=dth,
                       DTHFL="Y" if dth is not None else "", SITEID=S.siteid, AGE=S.age,
                       AGEU="YEARS", SEX=S.sex, RACE=S.race, ETHNIC="NOT HISPANIC OR LATINO",
                       ARMCD=arm[1], ARM=arm[0], ACTARMCD=act[1], ACTARM=act[0],
                       COUNTRY="CHN", DMDTC=S.consent))
        if S.kind == "SF":
            continue
        for qnam, qlabel, qval in (
                ("HISTOL", "Histological Subtype", S.histol),
                ("ECOG", "ECOG Performance Status at Baseline", str(S.ecog)),
                ("PDL1TPS", "PD-L1 Tumor Proportion Score (%)", str(S.tps)),
                ("PD1RES", "Type of Resistance to Prior PD-1", S.pd1res),
                ("PRIORLN", "Number of Prior Systemic Lines", str(S.priorln))):
            supp.append(dict(RDOMAIN="DM", USUBJID=S.usubjid, IDVAR="", IDVARVAL="", QNAM=qnam,
                             QLABEL=qlabel, QVAL=qval, QORIG="CRF", QEVAL=""))
    return dm, supp


def assign_ids(plan, subjects_by_key) -> None:
    """USUBJID = STUDYID-SITE-NNNN, numbered per site in screening order."""
    counters: dict[str, int] = defaultdict(int)
    for key in plan:
        S = subjects_by_key[key]
        counters[S.siteid] += 1
        S.subjid = f"{S.siteid}-{counters[S.siteid]:04d}"
        S.usubjid = f"{STUDYID}-{S.subjid}"
