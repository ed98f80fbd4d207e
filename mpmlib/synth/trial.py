"""Synthetic SDTM data for the single-arm phase 2 trial H101 + toripalimab in PD-1-resistant MPM.

The generator writes the SDTM shape described in ``docs/data-spec.md``. The model, every
parameter and its published source are in ``docs/synthetic-trial.md``. In outline:

* One child random generator per screened subject,
  ``np.random.default_rng([seed, TAG, index])``. Subject ``k`` is therefore the same whatever
  ``n`` is (prefix stability). Trial-level choices (which subjects screen-fail or are never
  dosed) come from per-block generators, and the few trial-level "specials" (the one grade-5 AE,
  the one partial death date, the two partial AE start dates, the AE-window boundary cases) go to
  the lowest-index subject that qualifies. They are prefix-stable too.
* Each treated subject has a latent benefit score ``z`` (covariates + noise). It drives a
  two-class progression model (early progressors vs. benefit), the depth of tumour shrinkage,
  post-progression survival and quality of life.
* Tumour measurements (TR) come from a latent relative tumour size ``r(t)``. Every RS response is
  then *computed* from the rounded TR measurements with RECIST 1.1 (:func:`target_response`,
  :func:`nontarget_response`, :func:`overall_response`), so RS and TR always agree.
* Dates are handled as integer day numbers (days since 1970-01-01) and written as ISO 8601.
  ``t`` denotes days since the first dose (study day 1 is ``t = 0``).

Public API: :data:`STUDYID`, :data:`DATA_CUTOFF`, :func:`generate_trial`, :func:`write_sdtm_csv`.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
import math
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

STUDYID = "H101-MPM-201"
DATA_CUTOFF = "2026-03-31"  # ISO date; no record is dated after it

# ---------------------------------------------------------------------------------------------
# Calendar
# ---------------------------------------------------------------------------------------------
_EPOCH = np.datetime64("1970-01-01", "D")


def _dayno(iso: str) -> int:
    """Day number (days since 1970-01-01) of an ISO date ``YYYY-MM-DD``."""
    return int((np.datetime64(iso, "D") - _EPOCH).astype(np.int64))


_CUTOFF = _dayno(DATA_CUTOFF)
_ACCRUAL_START = _dayno("2024-03-01")  # first first dose (assumption)
_ACCRUAL_END = _dayno("2025-04-30")  # last first dose (assumption)
_NEVER = 10**7  # "does not happen" for latent event times (days)

# ---------------------------------------------------------------------------------------------
# Random-stream tags: distinct first elements after the seed, so streams never collide
# ---------------------------------------------------------------------------------------------
_TAG_ENROLLED, _TAG_SCRNFAIL, _TAG_SF_BLOCK, _TAG_NT_BLOCK, _TAG_NE_BLOCK, _TAG_DEEP_BLOCK = \
    1, 2, 3, 4, 5, 6
# Laboratory values (LB) have their own per-subject stream [seed, _TAG_LAB, k], so adding or
# changing LB never moves a draw of any other domain.
_TAG_LAB = 7

# ---------------------------------------------------------------------------------------------
# Parameters. Sources in docs/synthetic-trial.md; "assumption" = chosen for the demo.
# ---------------------------------------------------------------------------------------------
SITES = ["01", "02", "03", "04", "05", "06"]
SITE_WEIGHTS = [0.28, 0.22, 0.16, 0.14, 0.12, 0.08]
SF_BLOCK = (20, 3)  # each block of 20 enrolled subjects has 3 screen failures (~15 %)
NOT_TREATED_BLOCK = 25  # one never-dosed subject per 25 enrolled
NE_BLOCK = 20  # one subject per 20 enrolled has a target lesion unmeasured at its first scan
DEEP_BLOCK = 40  # one subject per 40 enrolled is a near-complete responder (rare CR)

P_MALE = 0.78  # asbestos-related disease, mostly men (assumption)
P_WHITE = 0.015  # otherwise ASIAN (Chinese sites)
HISTOLOGY = (["EPITHELIOID", "BIPHASIC", "SARCOMATOID"], [0.70, 0.20, 0.10])
P_ECOG0 = 0.45
PDL1_BANDS = [0.45, 0.38, 0.17]  # TPS 0 / 1-49 (geometric, mean ~8) / 50-100 (uniform)
P_PRIMARY_RES = 0.40  # PD1RES = PRIMARY, else ACQUIRED
PRIOR_LINES = ([1, 2, 3], [0.35, 0.45, 0.20])
P_INTRAPLEURAL_MEASURABLE = 0.34  # non-measurable subjects always get intrapleural H101
P_NON_MEASURABLE = 0.10

# Latent benefit z = covariate effects + N(0, 1) - centring (assumption; modest effects)
Z_EFFECTS = {"ACQUIRED": 0.35, "EPITHELIOID": 0.30, "SARCOMATOID": -0.45, "ECOG0": 0.30,
             "PDL1POS": 0.30}
Z_CENTRE = 0.675

# Progression model (calibrated to ORR ~25 %, DCR ~55 %, mPFS 4-6 mo, mOS 10-14 mo)
FAST_LOGIT = (-0.6, -0.9)  # P(early progressor) = logistic(a + b z)
FAST_TPROG = (12, 45)  # days, uniform
SLOW_TPROG_LOG = (math.log(280.0), 0.35, 0.75)  # log T = mu + b z + N(0, sd)
DEPTH_LOG = (math.log(0.72), -0.22, 0.28)  # benefit class: log(nadir ratio) = mu + b z + e
P_DEEP = 0.005  # benefit class: near-complete shrinkage (nadir ratio 0.005-0.04), rare CRs
TAU_DAYS = (20, 60)  # shrinkage time constant, uniform
GROWTH_LOG = (math.log(0.006), 0.4)  # target growth rate per day after regrowth starts
PD_MODE_MEASURABLE = (["TARGET", "NEW", "NONTARGET"], [0.60, 0.25, 0.15])
PD_MODE_NONMEASURABLE = (["NONTARGET", "NEW"], [0.60, 0.40])

EARLY_EVENTS = (["NONE", "DEATH", "WITHDRAWAL", "DETERIORATION"], [0.93, 0.025, 0.025, 0.02])
EARLY_EVENT_DAYS = (5, 36)
HAZ_DEATH_PRE_PD = 0.00025  # per day, before progression
PPS_WEIBULL = (1.1, math.log(205.0), 0.25)  # shape, log median (days), effect of z
HAZ_WITHDRAWAL = 0.00005  # study withdrawal, per day
HAZ_LTFU = 0.00015  # lost to follow-up after end of treatment, per day
HAZ_PHYSICIAN = 0.00015  # treatment stopped by physician decision, per day
HAZ_TX_WITHDRAWAL = 0.0002  # subject stops treatment but stays in follow-up, per day
P_TBP = 0.15  # treatment beyond progression (if on treatment, PD by target or new lesion)
P_EXTRA_SCAN_AFTER_PD = 0.05
P_MISSED_SCAN = 0.02
P_NE_SCAN = 0.005  # one target lesion not measured at a scan (plus NE_BLOCK)
MEAS_CV = 0.04  # lesion measurement noise, coefficient of variation
MAX_LESION_MM = 200.0  # plausibility cap on one lesion's diameter (uncapped growth reached 530 mm at n=10000)

# Treatment (protocol per the design spec (issue 2))
CYCLE_DAYS = 21
H101_CYCLES = 4
MAX_TREATMENT_DAYS = 730  # 2 years of toripalimab
DELAYS = ([-2, -1, 0, 1, 2, 3, 4, 5, 7], [0.01, 0.02, 0.78, 0.06, 0.04, 0.03, 0.02, 0.02, 0.02])
P_SKIP_CYCLE = 0.02
H101_DOSE, TORI_DOSE = 1.0e12, 240

# Follow-up
SCAN_INTERVAL, SCAN_WINDOW = 42, 4
FU_INTERVAL, FU_WINDOW = 84, 7
SWEEP_WEEKS = 8
AE_COLLECTION_DAYS = 60  # AEs collected to last dose of any study drug + 60 days
P_SUBSEQUENT_THERAPY = 0.50

# QLQ-C30
QS_COMPLIANCE = (0.95, 0.04, 0.70, 0.75)  # baseline, drop per visit, floor, end of treatment
P_ITEM_MISSING = 0.015

# Laboratory (LB), docs/synthetic-trial.md §7a. Per test: LBTEST, LBCAT, LBSPEC, unit, median,
# between-subject log-sd, effect of the latent benefit z on the log value, reference range,
# decimals. NEUT/LYM medians give a baseline NLR median ~3.8 with ~30 % of subjects at NLR >= 5
# (Kao et al., Clin Cancer Res 2010;16:5805-13: 42 % of 173 MM patients had NLR >= 5).
LAB_TESTS = {
    "NEUT": ("Neutrophils", "HEMATOLOGY", "BLOOD", "10^9/L", 4.6, 0.38, -0.12, (1.8, 6.3), 2),
    "LYM": ("Lymphocytes", "HEMATOLOGY", "BLOOD", "10^9/L", 1.25, 0.38, 0.10, (1.1, 3.2), 2),
    "ALB": ("Albumin", "CHEMISTRY", "SERUM", "g/L", 37.5, 0.10, 0.03, (40.0, 55.0), 1),
    "LDH": ("Lactate Dehydrogenase", "CHEMISTRY", "SERUM", "U/L", 215.0, 0.30, -0.08, (120.0, 250.0), 0),
}
LAB_WITHIN_SD = 0.12  # visit-to-visit log-sd around the subject's own level (assumption)
P_LAB_C1D1 = 0.5  # labs repeated before the first dose on cycle 1 day 1 (assumption)
LAB_CYCLES = (2, 3, 4)  # on-treatment labs on day 1 of these cycles, before the dose
P_LAB_NOT_DONE = 0.02  # per test and sample (LBSTAT NOT DONE)

# ---------------------------------------------------------------------------------------------
# Controlled terms and labels
# ---------------------------------------------------------------------------------------------
ARM = "H101 + Toripalimab"
ARMCD = "H101TORI"
TARGET_SITES = [("PLEURA", False, 5.0), ("LUNG", False, 2.0), ("CHEST WALL", False, 1.2),
                ("MEDIASTINAL LYMPH NODE", True, 1.8), ("DIAPHRAGM", False, 0.8),
                ("PERITONEUM", False, 0.6), ("PERICARDIUM", False, 0.3)]
NONTARGET_SITES = (["PLEURAL CAVITY", "PLEURA", "LUNG", "MEDIASTINAL LYMPH NODE",
                    "PERICARDIUM", "PERITONEAL CAVITY"], [0.35, 0.30, 0.12, 0.12, 0.05, 0.06])
NEW_LESION_SITES = (["LIVER", "BONE", "LUNG", "ABDOMINAL LYMPH NODE", "PERITONEUM",
                     "ADRENAL GLAND", "BRAIN"], [0.18, 0.18, 0.22, 0.14, 0.16, 0.08, 0.04])
RS_TESTS = [("TRGRESP", "Target Response"), ("NTRGRESP", "Non-target Response"),
            ("NEWLPROG", "New Lesion Progression"), ("OVRLRESP", "Overall Response")]
TR_TESTS = {"LDIAM": "Longest Diameter", "SAXIS": "Short Axis", "SUMDIAM": "Sum of Diameter",
            "TUMSTATE": "Tumor State"}

QSCAT = "EORTC QLQ-C30 V3.0"
QS_LABELS = [
    "Trouble Doing Strenuous Activities", "Trouble Taking a Long Walk",
    "Trouble Taking a Short Walk", "Need to Stay in Bed or Chair",
    "Need Help Eating/Dressing/Washing/Toilet", "Limited Doing Work/Daily Activities",
    "Limited Pursuing Hobbies/Leisure", "Were You Short of Breath", "Have You Had Pain",
    "Did You Need to Rest", "Have You Had Trouble Sleeping", "Have You Felt Weak",
    "Have You Lacked Appetite", "Have You Felt Nauseated", "Have You Vomited",
    "Have You Been Constipated", "Have You Had Diarrhea", "Were You Tired",
    "Pain Interfere With Daily Activities", "Difficulty Concentrating", "Did You Feel Tense",
    "Did You Worry", "Did You Feel Irritable", "Did You Feel Depressed",
    "Difficulty Remembering Things", "Interfered With Family Life",
    "Interfered With Social Activities", "Caused Financial Difficulties",
    "Rate Your Overall Health", "Rate Your Overall Quality of Life"]
QS_4PT = ["Not at All", "A Little", "Quite a Bit", "Very Much"]
# Item model, items 1-28: latent = mu - loading * q + N(0, 0.55); category = round(clip) + 1
QS_MU = np.array([1.3, 1.1, 0.5, 0.6, 0.15, 0.9, 0.9, 1.1, 1.0, 1.0, 0.7, 0.9, 0.7, 0.25, 0.1,
                  0.45, 0.15, 1.0, 0.8, 0.35, 0.5, 0.8, 0.4, 0.5, 0.35, 0.6, 0.7, 0.8])
QS_LOAD = np.array([0.9, 0.9, 0.8, 0.8, 0.5, 0.9, 0.9, 0.7, 0.7, 0.8, 0.4, 0.8, 0.6, 0.3, 0.2,
                    0.3, 0.1, 0.8, 0.7, 0.3, 0.4, 0.5, 0.3, 0.5, 0.3, 0.6, 0.7, 0.3])
QS_REASND = (["PATIENT REFUSED", "PATIENT TOO ILL", "QUESTIONNAIRE NOT ADMINISTERED"],
             [0.35, 0.45, 0.20])

# AE specifications. "grades" maps grade -> probability (only grades CTCAE allows; checked).
# H101 events are per injection: subject propensity p_subj, per-injection probability p_inj.
H101_AES = [
    dict(term="Fever", p_subj=0.80, p_inj=0.50, onset=([0, 1, 2], [0.6, 0.3, 0.1]), dur=(1, 3),
         grades={1: 0.752, 2: 0.24, 3: 0.008}, route=None,
         verbatim=["Fever", "Pyrexia", "Fever after H101 injection"]),
    dict(term="Chills", p_subj=0.18, p_inj=0.40, onset=([0, 1], [0.7, 0.3]), dur=(1, 1),
         grades={1: 0.9, 2: 0.1}, route=None, verbatim=["Chills", "Rigors"]),
    dict(term="Flu like symptoms", p_subj=0.10, p_inj=0.40, onset=([0, 1, 2], [0.5, 0.3, 0.2]),
         dur=(1, 3), grades={1: 0.8, 2: 0.2}, route=None,
         verbatim=["Flu-like symptoms", "Influenza-like illness"]),
    dict(term="Injection site reaction", p_subj=0.40, p_inj=0.35, onset=([0, 1], [0.7, 0.3]),
         dur=(1, 3), grades={1: 0.8, 2: 0.2}, route="INTRATUMOR",
         verbatim=["Injection site reaction", "Injection site swelling"]),
    dict(term="Pain", p_subj=0.25, p_inj=0.35, onset=([0], [1.0]), dur=(1, 2),
         grades={1: 0.75, 2: 0.25}, route=None,
         verbatim=["Puncture site pain", "Procedural pain", "Pain at injection site"]),
    dict(term="Pleuritic pain", p_subj=0.35, p_inj=0.35, onset=([0, 1], [0.6, 0.4]), dur=(1, 3),
         grades={1: 0.7, 2: 0.29, 3: 0.01}, route="INTRAPLEURAL",
         verbatim=["Pleuritic chest pain", "Chest pain after intrapleural injection"]),
    dict(term="Fatigue", p_subj=0.12, p_inj=0.35, onset=([0, 1, 2], [0.4, 0.4, 0.2]), dur=(1, 3),
         grades={1: 0.85, 2: 0.15}, route=None, verbatim=["Fatigue", "Tiredness"]),
    dict(term="Nausea", p_subj=0.13, p_inj=0.35, onset=([0, 1], [0.6, 0.4]), dur=(1, 2),
         grades={1: 0.85, 2: 0.15}, route=None, verbatim=["Nausea"]),
    dict(term="Vomiting", p_subj=0.06, p_inj=0.30, onset=([0, 1], [0.6, 0.4]), dur=(1, 1),
         grades={1: 0.85, 2: 0.15}, route=None, verbatim=["Vomiting"]),
    dict(term="White blood cell decreased", p_subj=0.22, p_inj=0.30,
         onset=([1, 2, 3], [0.4, 0.4, 0.2]), dur=(3, 7), grades={1: 0.6, 2: 0.37, 3: 0.03},
         route=None, verbatim=["Leukopenia", "WBC decreased", "White blood cell count decreased"]),
]
# PD-1 inhibitor events: subject incidence, onset window (days from first dose), duration.
# action: "interrupt" grades -> DRUG INTERRUPTED; "withdraw" grades -> DRUG WITHDRAWN.
PD1_AES = [
    dict(term="Hypothyroidism", p=0.09, onset=(42, 180), dur=(120, 720),
         grades={1: 0.35, 2: 0.63, 3: 0.02}, ir=(1, 2, 3), interrupt=(3,), withdraw=(),
         verbatim=["Hypothyroidism", "Immune-related hypothyroidism"]),
    dict(term="Hyperthyroidism", p=0.03, onset=(21, 90), dur=(21, 60), grades={1: 0.6, 2: 0.4},
         ir=(1, 2), interrupt=(), withdraw=(), verbatim=["Hyperthyroidism", "Thyroiditis"]),
    dict(term="Pneumonitis", p=0.065, onset=(42, 210), dur=(21, 60),
         grades={1: 0.2, 2: 0.45, 3: 0.33, 4: 0.02}, ir=(1, 2, 3, 4), interrupt=(1, 2),
         withdraw=(3, 4), verbatim=["Pneumonitis", "Immune-related pneumonitis",
                                    "Checkpoint inhibitor pneumonitis"]),
    dict(term="Rash maculo-papular", p=0.12, onset=(14, 90), dur=(14, 42),
         grades={1: 0.6, 2: 0.35, 3: 0.05}, ir=(1, 2, 3), interrupt=(3,), withdraw=(),
         verbatim=["Maculopapular rash", "Rash", "Skin rash"]),
    dict(term="Pruritus", p=0.10, onset=(14, 120), dur=(14, 60), grades={1: 0.7, 2: 0.28, 3: 0.02},
         ir=(1, 2, 3), interrupt=(), withdraw=(), verbatim=["Pruritus", "Itching"]),
    dict(term="Diarrhea", p=0.09, onset=(21, 180), dur=(3, 14), grades={1: 0.7, 2: 0.25, 3: 0.05},
         ir=(2, 3), interrupt=(3,), withdraw=(), verbatim=["Diarrhoea", "Loose stools"]),
    dict(term="Colitis", p=0.02, onset=(42, 180), dur=(14, 35), grades={2: 0.5, 3: 0.5},
         ir=(2, 3), interrupt=(2,), withdraw=(3,), verbatim=["Colitis", "Immune-mediated colitis"]),
    dict(term="Alanine aminotransferase increased", p=0.05, onset=(21, 150), dur=(14, 42),
         grades={1: 0.6, 2: 0.3, 3: 0.1}, ir=(2, 3), interrupt=(2,), withdraw=(3,),
         verbatim=["ALT increased", "Elevated ALT"]),
    dict(term="Aspartate aminotransferase increased", p=0.04, onset=(21, 150), dur=(14, 42),
         grades={1: 0.65, 2: 0.3, 3: 0.05}, ir=(2, 3), interrupt=(2,), withdraw=(3,),
         verbatim=["AST increased", "Elevated AST"]),
    dict(term="Fatigue", p=0.15, onset=(14, 120), dur=(14, 90), grades={1: 0.7, 2: 0.28, 3: 0.02},
         ir=(), interrupt=(), withdraw=(), verbatim=["Fatigue", "Asthenia"]),
    dict(term="Arthralgia", p=0.05, onset=(30, 180), dur=(14, 90), grades={1: 0.7, 2: 0.3},
         ir=(), interrupt=(), withdraw=(), verbatim=["Arthralgia", "Joint pain"]),
    dict(term="Adrenal insufficiency", p=0.01, onset=(60, 210), dur=(180, 720),
         grades={2: 0.6, 3: 0.4}, ir=(2, 3), interrupt=(3,), withdraw=(),
         verbatim=["Adrenal insufficiency"]),
]
INFUSION_REACTION = dict(term="Infusion related reaction", p=0.03, grades={1: 0.5, 2: 0.5},
                         verbatim=["Infusion reaction", "Infusion-related reaction"])
DISEASE_AES = [
    dict(term="Dyspnea", p=0.25, dur=(14, 90), grades={1: 0.5, 2: 0.4, 3: 0.1},
         verbatim=["Dyspnoea", "Shortness of breath"]),
    dict(term="Cough", p=0.22, dur=(14, 90), grades={1: 0.7, 2: 0.3}, verbatim=["Cough"]),
    dict(term="Pleural effusion", p=0.12, dur=(14, 60), grades={2: 0.6, 3: 0.4},
         verbatim=["Pleural effusion", "Increased pleural effusion"]),
    dict(term="Anorexia", p=0.15, dur=(14, 60), grades={1: 0.6, 2: 0.35, 3: 0.05},
         verbatim=["Decreased appetite", "Anorexia"]),
    dict(term="Chest wall pain", p=0.15, dur=(14, 90), grades={1: 0.6, 2: 0.35, 3: 0.05},
         verbatim=["Chest wall pain", "Chest pain"]),
    dict(term="Constipation", p=0.10, dur=(3, 21), grades={1: 0.8, 2: 0.2},
         verbatim=["Constipation"]),
    dict(term="Anemia", p=0.12, dur=(14, 90), grades={1: 0.5, 2: 0.4, 3: 0.1},
         verbatim=["Anaemia", "Haemoglobin decreased"]),
    dict(term="Hypoalbuminemia", p=0.10, dur=(14, 60), grades={1: 0.6, 2: 0.4},
         verbatim=["Hypoalbuminaemia"]),
    dict(term="Weight loss", p=0.08, dur=(30, 120), grades={1: 0.7, 2: 0.3},
         verbatim=["Weight loss", "Weight decreased"]),
    dict(term="Insomnia", p=0.08, dur=(7, 60), grades={1: 0.8, 2: 0.2}, verbatim=["Insomnia"]),
    dict(term="Back pain", p=0.06, dur=(7, 60), grades={1: 0.7, 2: 0.3}, verbatim=["Back pain"]),
    dict(term="Lung infection", p=0.05, dur=(7, 21), grades={2: 0.4, 3: 0.6},
         verbatim=["Pneumonia", "Lung infection"]),
    dict(term="Edema limbs", p=0.05, dur=(14, 60), grades={1: 0.7, 2: 0.3},
         verbatim=["Oedema lower limbs", "Peripheral oedema"]),
]
WINDOW_AES = [dict(term="Cough", grades={1: 1.0}, verbatim=["Cough"]),
              dict(term="Back pain", grades={1: 1.0}, verbatim=["Back pain"])]
FATAL_AE = dict(term="Pneumonitis", verbatim="Immune-related pneumonitis")

PD1_PRIOR = (["PEMBROLIZUMAB", "TORIPALIMAB", "SINTILIMAB", "TISLELIZUMAB", "CAMRELIZUMAB",
              "NIVOLUMAB"], [0.2, 0.25, 0.2, 0.15, 0.1, 0.1])
LATER_LINE_CHEMO = (["GEMCITABINE", "VINORELBINE", "ANLOTINIB"], [0.4, 0.4, 0.2])
SUBSEQUENT = ([["GEMCITABINE"], ["VINORELBINE"], ["ANLOTINIB"], ["PEMETREXED", "CARBOPLATIN"]],
              [0.35, 0.30, 0.20, 0.15])

# ---------------------------------------------------------------------------------------------
# Output column order per domain (fixed; see write_sdtm_csv)
# ---------------------------------------------------------------------------------------------
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


# =============================================================================================
# CTCAE term list
# =============================================================================================
@functools.lru_cache(maxsize=1)
def ctcae_terms() -> pd.DataFrame:
    """CTCAE v5.0 term list shipped with the package (``mpmlib/resources/ctcae_v5_terms.csv``).

    Columns ``MEDDRA_CODE, SOC, TERM, G1..G5`` (``Y``/``N`` = grade defined or not), extracted
    from the NCI workbook by ``tools/extract_ctcae.py``. Indexed by ``TERM``.
    """
    res = importlib.resources.files("mpmlib").joinpath("resources", "ctcae_v5_terms.csv")
    with res.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return df.set_index("TERM", drop=False)


@functools.lru_cache(maxsize=1)
def _ae_dictionary() -> dict[str, tuple[int, str, frozenset]]:
    """term -> (MedDRA code, SOC, allowed grades); checks every AE spec against CTCAE v5.0."""
    terms = ctcae_terms()
    out = {}
    specs = H101_AES + PD1_AES + DISEASE_AES + WINDOW_AES + [INFUSION_REACTION]
    for spec in specs + [dict(term=FATAL_AE["term"], grades={5: 1.0})]:
        row = terms.loc[spec["term"]]  # KeyError = term not in CTCAE v5.0
        allowed = frozenset(k for k in range(1, 6) if row[f"G{k}"] == "Y")
        bad = set(spec["grades"]) - allowed
        if bad:
            raise ValueError(f"CTCAE v5.0 does not define grade(s) {sorted(bad)} "
                             f"for {spec['term']!r}")
        out[spec["term"]] = (int(row["MEDDRA_CODE"]), row["SOC"], allowed)
    return out


# =============================================================================================
# RECIST 1.1 (used to derive RS from TR; the tests re-implement it independently)
# =============================================================================================
def target_response(sizes, is_node, baseline_sum: int, nadir: int | None):
    """Target-lesion response at one time point, RECIST 1.1 §4.3.1 (methods.md §1.1).

    ``sizes``: measurements in mm (``None`` = not measured); nodes by short axis, other lesions
    by longest diameter. ``nadir``: smallest *complete* sum of diameters before this time point,
    baseline included. The rules are checked in this order:

    * PD: sum ≥ 120 % of the nadir **and** ≥ 5 mm above it. If some lesions were not measured,
      the partial sum is checked against this rule, and if it is not PD the time point is NE
      ("if only some lesions were measured, NE unless those show PD").
    * CR: every non-nodal lesion is 0 mm and every nodal target is < 10 mm.
    * PR: sum ≤ 70 % of the **baseline** sum (≥ 30 % decrease).
    * SD otherwise.

    Integer arithmetic (``10*s >= 12*nadir``) avoids floating-point edge errors.
    Returns ``(response, sum or None)``.
    """
    measured = [s for s in sizes if s is not None]
    total = sum(measured)
    is_pd = 10 * total >= 12 * nadir and total - nadir >= 5
    if len(measured) < len(sizes):
        return ("PD" if is_pd else "NE"), None
    if is_pd:
        return "PD", total
    if all((s < 10) if node else (s == 0) for s, node in zip(sizes, is_node)):
        return "CR", total
    if 10 * total <= 7 * baseline_sum:
        return "PR", total
    return "SD", total


def nontarget_response(states) -> str | None:
    """Non-target response, RECIST 1.1 §4.3.2: any unequivocal progression is PD; any lesion not
    assessed gives NE; all absent (nodes normalised) is CR; otherwise NON-CR/NON-PD. ``None`` when
    the subject has no non-target lesions."""
    if not states:
        return None
    if "UNEQUIVOCAL PROGRESSION" in states:
        return "PD"
    if None in states:
        return "NE"
    if all(s == "ABSENT" for s in states):
        return "CR"
    return "NON-CR/NON-PD"


def overall_response(trg: str | None, ntrg: str | None, new_lesion: bool) -> str:
    """Time-point response, RECIST 1.1 Table 1 (target disease) / Table 2 (non-target only).

    ``trg`` is ``None`` for a subject without target lesions and ``ntrg`` is ``None`` for a
    subject without non-target lesions.
    """
    if new_lesion or trg == "PD" or ntrg == "PD":
        return "PD"
    if trg is None:  # Table 2
        return {"NE": "NE", "CR": "CR"}.get(ntrg, "NON-CR/NON-PD")
    if trg == "NE":
        return "NE"
    if trg == "CR":
        return "CR" if ntrg in (None, "CR") else "PR"
    return trg  # PR or SD, non-target non-PD or not all evaluated


# =============================================================================================
# Small helpers
# =============================================================================================
def _choice(rng, values, probs):
    """One value drawn with the given probabilities (inverse CDF of one uniform draw)."""
    u = rng.random()
    acc = 0.0
    for value, p in zip(values, probs):
        acc += p
        if u < acc:
            return value
    return values[-1]


def _uint(rng, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi] (both inclusive)."""
    return int(rng.integers(lo, hi + 1))


def _grade(rng, grades: dict) -> int:
    """A CTCAE grade drawn from ``{grade: probability}``."""
    return int(_choice(rng, list(grades), list(grades.values())))


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _visit_cycle(c: int, d: int):
    return f"CYCLE {c} DAY {d}", 10 * c + d


def _visit_week(w: int):
    return f"WEEK {w}", 1000 + w


V_SCREENING, V_BASELINE, V_EOT = ("SCREENING", 1), ("BASELINE", 2), ("END OF TREATMENT", 2000)


def _visit_fu(k: int):
    return f"SURVIVAL FOLLOW-UP {k}", 3000 + k


def _iso(day: int) -> str:
    return str(_EPOCH + np.timedelta64(int(day), "D"))


def _month(day: int) -> str:
    return _iso(day)[:7]


def _first_of_month(day: int) -> int:
    return _dayno(_month(day) + "-01")


# =============================================================================================
# Screening plan (who is enrolled, who screen-fails, who is never dosed)
# =============================================================================================
def _screening_plan(n: int, seed: int) -> list[tuple[str, int]]:
    """Screening order as ``(kind, index)`` with kind ``"ENR"`` or ``"SF"``.

    Each block of 20 enrolled subjects gets 3 screen failures at positions drawn from the block's
    own generator, so the plan for the first k subjects does not depend on ``n``. Screen
    failures after the n-th enrolled subject are dropped.
    """
    per, n_sf = SF_BLOCK
    plan: list[tuple[str, int]] = []
    enr = sf = 0
    for b in range(math.ceil(n / per)):
        rng = np.random.default_rng([seed, _TAG_SF_BLOCK, b])
        sf_slots = set(int(x) for x in rng.choice(per + n_sf, n_sf, replace=False))
        for slot in range(per + n_sf):
            if slot in sf_slots:
                plan.append(("SF", sf))
                sf += 1
            elif enr < n:
                plan.append(("ENR", enr))
                enr += 1
    while plan and plan[-1][0] == "SF":
        plan.pop()
    return plan


def _block_flags(n: int, seed: int, tag: int, block: int) -> set[int]:
    """One enrolled index per block of ``block`` subjects, drawn from the block's own generator
    (prefix-stable). Used for: never dosed (25), forced NE time point (20), deep responder (40).
    """
    out = set()
    for b in range(math.ceil(n / block)):
        rng = np.random.default_rng([seed, tag, b])
        k = b * block + int(rng.integers(block))
        if k < n:
            out.add(k)
    return out


# =============================================================================================
# Subject simulation: baseline
# =============================================================================================
def _new_subject(rng, index: int, kind: str) -> SimpleNamespace:
    """Site and demographics (first draws of every subject's generator)."""
    S = SimpleNamespace(index=index, kind=kind, rng=rng, rec=defaultdict(list), qs=[],
                        treated=False, dthdtc=None, death_partial=False, eos=None,
                        fatal=False, window_subject=False)
    S.siteid = _choice(rng, SITES, SITE_WEIGHTS)
    S.age = int(round(45 + 37 * rng.beta(4.5, 3.4)))
    S.sex = "M" if rng.random() < P_MALE else "F"
    S.race = "WHITE" if rng.random() < P_WHITE else "ASIAN"
    return S


def _draw_covariates(S) -> None:
    """Baseline covariates (SUPPDM) and the latent benefit score ``z``."""
    rng = S.rng
    S.histol = _choice(rng, *HISTOLOGY)
    S.ecog = 0 if rng.random() < P_ECOG0 else 1
    band = _choice(rng, [0, 1, 2], PDL1_BANDS)
    S.tps = 0 if band == 0 else (int(min(49, rng.geometric(0.12))) if band == 1
                                 else _uint(rng, 50, 100))
    S.pd1res = "PRIMARY" if rng.random() < P_PRIMARY_RES else "ACQUIRED"
    S.priorln = _choice(rng, *PRIOR_LINES)
    e = Z_EFFECTS
    lp = (e["ACQUIRED"] * (S.pd1res == "ACQUIRED") + e["EPITHELIOID"] * (S.histol == "EPITHELIOID")
          + e["SARCOMATOID"] * (S.histol == "SARCOMATOID") + e["ECOG0"] * (S.ecog == 0)
          + e["PDL1POS"] * (S.tps >= 1))
    S.z = lp - Z_CENTRE + rng.normal()


def _draw_lesions(S) -> None:
    """Baseline lesions: 1-5 targets (≤ 2 per organ) or none (non-measurable), 0-3 non-targets.

    Non-nodal target longest diameter 10-70 mm, nodal target short axis 15-40 mm (RECIST 1.1
    §3.1 measurability: ≥ 10 mm on CT, nodes ≥ 15 mm short axis).
    """
    rng = S.rng
    S.measurable = rng.random() >= P_NON_MEASURABLE
    S.targets = []  # dicts: loc, node, base, a (heterogeneity exponent)
    if S.measurable:
        n_t = _choice(rng, [1, 2, 3, 4, 5], [0.15, 0.30, 0.30, 0.15, 0.10])
        counts: dict[str, int] = defaultdict(int)
        for _ in range(n_t):
            opts = [s for s in TARGET_SITES if counts[s[0]] < 2]
            w = np.array([s[2] for s in opts])
            loc, node, _w = opts[int(rng.choice(len(opts), p=w / w.sum()))]
            counts[loc] += 1
            if node:
                base = int(np.clip(round(math.exp(rng.normal(math.log(19), 0.2))), 15, 40))
            else:
                base = int(np.clip(round(math.exp(rng.normal(math.log(24), 0.45))), 10, 70))
            S.targets.append(dict(loc=loc, node=node, base=base,
                                  a=float(math.exp(rng.normal(0, 0.15)))))
        n_nt = _choice(rng, [0, 1, 2, 3], [0.25, 0.40, 0.25, 0.10])
    else:
        n_nt = _choice(rng, [1, 2, 3], [0.50, 0.35, 0.15])
    S.nontargets = [dict(loc=_choice(rng, *NONTARGET_SITES),
                         theta=float(rng.uniform(0.10, 0.40))) for _ in range(n_nt)]


def _draw_dates(S) -> None:
    """First (planned) dose uniform over the accrual period; consent 3-21 days before it."""
    rng = S.rng
    S.d0 = _uint(rng, _ACCRUAL_START, _ACCRUAL_END)
    S.consent = S.d0 - _uint(rng, 3, 21)
    S.cut_t = _CUTOFF - S.d0


# =============================================================================================
# Subject simulation: latent course
# =============================================================================================
def _draw_latent(S) -> None:
    """Latent progression, tumour-size curve, deaths and drop-out times (days from first dose).

    * Early events before the first scan (~7 %): death, withdrawal, clinical deterioration.
    * Two-class progression: early progressors (P = logistic(a + b z), progression day
      uniform 12-45) and a benefit class with log-normal time to progression.
    * Relative tumour size ``r(t) = delta + (1 - delta) exp(-t / tau)`` up to ``t_g``, then
      exponential regrowth at rate ``g``. For PD by target growth, ``t_g`` is set so that ``r``
      is 1.3 x its plateau at the latent progression day.
    * Death = min(pre-progression death, progression + Weibull post-progression survival).
    """
    rng = S.rng
    S.early = _choice(rng, *EARLY_EVENTS)
    S.early_t = _uint(rng, *EARLY_EVENT_DAYS)
    fast = rng.random() < _logistic(FAST_LOGIT[0] + FAST_LOGIT[1] * S.z)
    if fast:
        S.t_prog = float(rng.uniform(*FAST_TPROG))
        S.delta = float(rng.uniform(0.85, 1.05))
    else:
        mu, b, sd = SLOW_TPROG_LOG
        S.t_prog = max(45.0, math.exp(mu + b * S.z + rng.normal(0, sd)))
        mu, b, sd = DEPTH_LOG
        S.delta = float(min(1.05, math.exp(mu + b * S.z + rng.normal(0, sd))))
        if rng.random() < P_DEEP:
            S.delta = float(rng.uniform(0.005, 0.04))
    if S.deep:  # block-assigned near-complete responder (see DEEP_BLOCK)
        fast = False
        S.early = "NONE"
        S.t_prog = max(S.t_prog, 300.0) * 1.5
        S.delta = float(rng.uniform(0.005, 0.04))
    S.fast = fast
    S.tau = float(rng.uniform(*TAU_DAYS))
    S.g = float(math.exp(rng.normal(*GROWTH_LOG)))
    has_nt = bool(S.nontargets)
    if S.measurable:
        modes, probs = PD_MODE_MEASURABLE
    else:
        modes, probs = PD_MODE_NONMEASURABLE
    S.mode = _choice(rng, modes, probs)
    if S.mode == "NONTARGET" and not has_nt:
        S.mode = "NEW"
    if S.mode == "TARGET":
        S.t_g = S.t_prog - math.log(1.3) / S.g
        if S.t_g < 0:
            S.t_g, S.g = 0.0, max(S.g, math.log(1.3) / S.t_prog)
    else:
        S.t_g, S.g = S.t_prog, 0.0015
    S.n_new = 1 if rng.random() < 0.7 else 2
    S.new_locs = [_choice(rng, *NEW_LESION_SITES) for _ in range(S.n_new)]
    # deaths and drop-outs
    shape, logmed, bz = PPS_WEIBULL
    pps = math.exp(logmed + bz * S.z) * (rng.weibull(shape) / math.log(2) ** (1 / shape))
    t_pre = rng.exponential(1 / HAZ_DEATH_PRE_PD)
    S.t_withdraw = int(1 + rng.exponential(1 / HAZ_WITHDRAWAL))
    S.t_phys = int(1 + rng.exponential(1 / HAZ_PHYSICIAN))
    S.t_txwd = int(1 + rng.exponential(1 / HAZ_TX_WITHDRAWAL))
    S.ltfu_gap = int(1 + rng.exponential(1 / HAZ_LTFU))
    S.no_scans = False
    # primary cause of death (DD PRCDTH), from which hazard the death came; no random draw, so
    # every other record is unchanged (docs/synthetic-trial.md, deaths)
    if S.early == "DEATH":
        S.t_death = S.early_t
        S.death_cause = "UNKNOWN"
    elif S.early == "WITHDRAWAL":
        S.t_withdraw = S.early_t
        S.t_death = int(S.t_prog + pps)
        S.death_cause = "DISEASE PROGRESSION"
    elif S.early == "DETERIORATION":
        S.no_scans = True
        S.t_phys = S.early_t
        S.t_prog = float(S.early_t)
        S.t_death = int(S.early_t + 0.7 * pps) + 1
        S.death_cause = "DISEASE PROGRESSION"
    else:
        pre_pd = not S.deep and t_pre < S.t_prog + pps
        S.t_death = int(min(t_pre if not S.deep else _NEVER, S.t_prog + pps)) + 1
        S.death_cause = "CARDIAC ARREST" if pre_pd else "DISEASE PROGRESSION"
    # candidates for trial-level specials (always drawn, so streams stay aligned)
    S.window_offsets = (_uint(rng, 30, 37), _uint(rng, 5, 20), _uint(rng, 38, 45),
                        _uint(rng, 5, 20))
    S.fatal_u = float(rng.random())


def _r(S, t: float) -> float:
    """Latent relative tumour size at day ``t`` (1 = baseline)."""
    tt = min(t, S.t_g)
    r = S.delta + (1 - S.delta) * math.exp(-tt / S.tau)
    if t > S.t_g:
        r *= math.exp(S.g * (t - S.t_g))
    return r


def _draw_ir_candidates(S) -> None:
    """PD-1-related AE candidates (onset, duration, grade) before the dosing schedule is known.

    Published rates (Wang, JAMA Oncol 2019; methods.md §6.3) are subject-level incidences. An
    event is kept later only if it starts while the subject is observed and at most 90 days
    after the last toripalimab dose.
    """
    rng = S.rng
    S.ir = []
    for spec in PD1_AES:
        if rng.random() >= spec["p"]:
            continue
        onset = _uint(rng, *spec["onset"])
        dur = _uint(rng, *spec["dur"])
        g = _grade(rng, spec["grades"])
        S.ir.append(dict(spec=spec, start=onset, end=onset + dur - 1, grade=g,
                         interrupt=g in spec["interrupt"], withdraw=g in spec["withdraw"],
                         delayed=False, verbatim=_choice_list(rng, spec["verbatim"])))


def _choice_list(rng, values):
    return values[int(rng.integers(len(values)))]


# =============================================================================================
# Subject simulation: tumour assessments
# =============================================================================================
def _measure(S, t: float, ne: bool):
    """Rounded target measurements (mm) at day ``t``; ``ne`` leaves one lesion unmeasured.

    Non-nodal lesions < 2.5 mm are recorded as 0 (disappeared), 2.5-5 mm as 5 ("too small to
    measure", RECIST 1.1 §3.2); nodes are never below 4 mm; no lesion exceeds MAX_LESION_MM.
    """
    rng = S.rng
    r = _r(S, t)
    sizes = []
    for L in S.targets:
        s = min(L["base"] * r ** L["a"] * (1 + MEAS_CV * rng.normal()), MAX_LESION_MM)
        if L["node"]:
            sizes.append(max(4, int(round(s))))
        else:
            sizes.append(0 if s < 2.5 else (5 if s < 5 else int(round(s))))
    if ne and sizes:
        sizes[int(rng.integers(len(sizes)))] = None
    return sizes


def _sim_scans(S) -> None:
    """Baseline scan plus scans every 42 ± 4 days until PD, death, withdrawal or cutoff.

    After the first PD, scanning stops except for subjects treated beyond progression (one more
    scan, ~15 %) and an occasional extra scan (~5 %). Every time point's RS values are computed
    from its TR values (RECIST 1.1).
    """
    rng = S.rng
    S.t_base = -_uint(rng, 1, S.d0 - S.consent)
    base = [L["base"] for L in S.targets]
    S.scans = []
    S.first_pd = None
    S.t_pd_stop = _NEVER
    if S.no_scans:
        return
    limit = min(S.t_death, S.t_withdraw, S.cut_t + 1)
    base_sum = sum(base)
    nadir = base_sum
    min_r = 1.0
    new_seen_at = None
    extra_left = None
    k = 0
    while True:
        k += 1
        t = SCAN_INTERVAL * k + _uint(rng, -SCAN_WINDOW, SCAN_WINDOW)
        if t >= limit or (extra_left is not None and extra_left == 0):
            break
        if k > 1 and rng.random() < P_MISSED_SCAN:
            continue
        ne = S.measurable and (rng.random() < P_NE_SCAN or (S.force_ne and not S.scans))
        sizes = _measure(S, t, ne)
        min_r = min(min_r, _r(S, t))
        nt_states = ["ABSENT" if min_r < L["theta"] else "PRESENT" for L in S.nontargets]
        if S.mode == "NONTARGET" and t >= S.t_prog:
            nt_states[0] = "UNEQUIVOCAL PROGRESSION"
        if S.mode == "NEW" and t >= S.t_prog and new_seen_at is None:
            new_seen_at = len(S.scans)
        new = new_seen_at is not None
        if S.targets:
            trg, sumd = target_response(sizes, [L["node"] for L in S.targets], base_sum, nadir)
            if sumd is not None:
                nadir = min(nadir, sumd)
        else:
            trg, sumd = None, None
        ntrg = nontarget_response(nt_states)
        ovr = overall_response(trg, ntrg, new)
        S.scans.append(dict(t=t, week=6 * k, sizes=sizes, sum=sumd, nt=nt_states, new=new,
                            new_first=(new_seen_at == len(S.scans)), trg=trg, ntrg=ntrg, ovr=ovr))
        if extra_left is not None:
            extra_left -= 1
        elif ovr == "PD":
            S.first_pd = len(S.scans) - 1
            on_tx = t < min(S.t_phys, S.t_txwd, S.t_ae_stop, MAX_TREATMENT_DAYS)
            S.tbp = on_tx and S.mode in ("TARGET", "NEW") and rng.random() < P_TBP
            extra = S.tbp or rng.random() < P_EXTRA_SCAN_AFTER_PD
            extra_left = 1 if extra else 0
            S.t_pd_stop = t
    if S.first_pd is not None and S.tbp and len(S.scans) > S.first_pd + 1:
        S.t_pd_stop = S.scans[S.first_pd + 1]["t"]


# =============================================================================================
# Subject simulation: treatment, disposition, follow-up
# =============================================================================================
def _sim_treatment(S) -> None:
    """Dosing schedule (EX) and end-of-treatment reason.

    Toripalimab 240 mg IV on day 1 of every 21-day cycle; H101 1.0E12 VP on days 1 and 3 of
    cycles 1-4. Treatment stops at the first of: PD (or the confirming scan when treated beyond
    progression), death, withdrawal, a discontinuing immune-related AE, physician decision,
    2 years. Dose delays and occasional skipped cycles; a dose due while an interrupting AE is
    ongoing waits until 1-3 days after it ends.
    """
    rng = S.rng
    stops = [("DEATH", S.t_death), ("PROGRESSIVE DISEASE", S.t_pd_stop),
             ("ADVERSE EVENT", S.t_ae_stop), ("WITHDRAWAL BY SUBJECT", min(S.t_withdraw, S.t_txwd)),
             ("PHYSICIAN DECISION", S.t_phys)]
    reason, t_stop = min(stops, key=lambda x: x[1])  # ties: earlier in the list wins
    S.doses = []  # (t, cycle, day, drug)
    t, c = 0, 1
    while True:
        if t >= t_stop or t > S.cut_t:
            break
        if t >= MAX_TREATMENT_DAYS:
            reason, t_stop = "COMPLETED", t
            break
        if c <= H101_CYCLES:
            S.doses.append((t, c, 1, "H101"))
        S.doses.append((t, c, 1, "TORIPALIMAB"))
        if c <= H101_CYCLES and t + 2 < t_stop and t + 2 <= S.cut_t:
            S.doses.append((t + 2, c, 3, "H101"))
        nxt = t + CYCLE_DAYS + _choice(rng, *DELAYS)
        c += 1
        if rng.random() < P_SKIP_CYCLE:
            nxt += CYCLE_DAYS
            c += 1
        for ev in S.ir:
            if ev["interrupt"] and ev["start"] <= nxt <= ev["end"] and ev["start"] < t_stop:
                nxt = max(nxt, min(ev["end"], ev["start"] + 42) + _uint(rng, 1, 3))
                ev["delayed"] = True
        t = nxt
    S.ongoing = t_stop > S.cut_t
    S.t_stop, S.eot_reason = (None, None) if S.ongoing else (t_stop, reason)
    S.last_dose = max(d[0] for d in S.doses)
    S.last_h101 = max(d[0] for d in S.doses if d[3] == "H101")
    S.last_pd1 = max(d[0] for d in S.doses if d[3] == "TORIPALIMAB")


def _sim_exit(S) -> None:
    """Loss to follow-up (after end of treatment), death observation and the observation end.

    ``S.last_ok`` is the last day on which an ordinary record may lie: the day before death,
    the day before leaving the study, or the cutoff.
    """
    t_ltfu = (S.t_stop + S.ltfu_gap) if S.t_stop is not None and S.eot_reason != "DEATH" \
        else _NEVER
    S.t_exit = min(S.t_withdraw, t_ltfu)
    S.exit_reason = "WITHDRAWAL BY SUBJECT" if S.t_withdraw <= t_ltfu else "LOST TO FOLLOW-UP"
    S.death_obs = S.t_death <= S.cut_t and S.t_death <= S.t_exit
    S.exit_obs = not S.death_obs and S.t_exit <= S.cut_t
    if S.death_obs:
        S.last_ok = S.t_death - 1
    elif S.exit_obs:
        S.last_ok = S.t_exit - 1
    else:
        S.last_ok = S.cut_t
    S.scans = [s for s in S.scans if s["t"] <= S.last_ok]
    if S.first_pd is not None and S.first_pd >= len(S.scans):
        S.first_pd = None


def _sim_followup_visits(S) -> None:
    """End-of-treatment visit (3-14 days after the decision) and survival follow-up contacts
    every 84 ± 7 days after end of treatment; alive subjects in follow-up get a survival sweep
    contact in the 8 weeks before the cutoff if their last contact is older than that."""
    rng = S.rng
    S.t_eotv = None
    S.fu = []
    if S.t_stop is None or S.eot_reason == "DEATH":
        return
    if S.eot_reason == "WITHDRAWAL BY SUBJECT" and S.t_withdraw == S.t_stop:
        return
    tv = S.t_stop + _uint(rng, 3, 14)
    if tv <= S.last_ok:
        S.t_eotv = tv
    t = S.t_stop
    while True:
        t += FU_INTERVAL + _uint(rng, -FU_WINDOW, FU_WINDOW)
        if t > S.last_ok:
            break
        S.fu.append(t)
    if not S.death_obs and not S.exit_obs:
        last = max([S.t_stop, S.t_eotv or 0] + S.fu + [s["t"] for s in S.scans])
        lo = max(last + 1, S.cut_t - 7 * SWEEP_WEEKS + 1)
        if last < S.cut_t - 7 * SWEEP_WEEKS and lo <= S.cut_t:
            S.fu.append(_uint(rng, lo, S.cut_t))


# =============================================================================================
# Subject simulation: adverse events
# =============================================================================================
def _ae_record(S, term, verbatim, grade, start, end, rel_h1, rel_pd, ir, acn, serious=None):
    """One AE with outcome, seriousness and action derived per the rules in the docs."""
    rng = S.rng
    if serious is None:
        serious = (grade >= 3 and rng.random() < 0.7) or (grade == 2 and rng.random() < 0.04)
    if end is not None and end > S.last_ok:
        end = None
    if grade == 5:
        out = "FATAL"
    elif end is not None:
        out = "RECOVERED/RESOLVED"
    elif S.death_obs:
        out = "NOT RECOVERED/NOT RESOLVED"
    else:
        out = "RECOVERING/RESOLVING" if rng.random() < 0.4 else "NOT RECOVERED/NOT RESOLVED"
    S.rec["ae"].append(dict(term=term, verbatim=verbatim, grade=grade, start=start, end=end,
                            relh1=rel_h1, relpd=rel_pd, ir=ir, acn=acn,
                            ser="Y" if serious else "N", out=out, partial=False))


def _default_acn(S, start: int) -> str:
    """DOSE NOT CHANGED while on treatment, NOT APPLICABLE once treatment has ended."""
    return "NOT APPLICABLE" if start > S.last_dose else "DOSE NOT CHANGED"


def _sim_aes(S) -> None:
    """Adverse events: H101 injection reactions, PD-1-related/immune-related AEs and
    disease-related AEs, collected from the first dose to the last dose + 60 days."""
    rng = S.rng
    S.coll_end = min(S.last_dose + AE_COLLECTION_DAYS, S.last_ok)
    h101_days = [d[0] for d in S.doses if d[3] == "H101"]
    for spec in H101_AES:  # per-injection reactions (methods.md §6.2)
        prone = rng.random() < spec["p_subj"]
        if not prone or (spec["route"] and spec["route"] != S.route):
            continue
        busy_until = -1
        for day in h101_days:
            if rng.random() >= spec["p_inj"]:
                continue
            start = day + _choice(rng, *spec["onset"])
            end = start + _uint(rng, *spec["dur"]) - 1
            g = _grade(rng, spec["grades"])
            if start <= busy_until or start > S.coll_end:
                continue
            busy_until = end
            _ae_record(S, spec["term"], _choice_list(rng, spec["verbatim"]), g, start, end,
                       "RELATED", "NOT RELATED", "N", _default_acn(S, start))
    for ev in S.ir:  # PD-1-related (methods.md §6.3)
        if ev["start"] > min(S.coll_end, S.last_pd1 + 90) and not ev.get("stopped_treatment"):
            continue
        spec, g = ev["spec"], ev["grade"]
        if ev.get("stopped_treatment"):
            acn = "DRUG WITHDRAWN"
        elif ev["delayed"]:
            acn = "DRUG INTERRUPTED"
        else:
            acn = _default_acn(S, ev["start"])
        _ae_record(S, spec["term"], ev["verbatim"], g, ev["start"], ev["end"], "NOT RELATED",
                   "RELATED", "Y" if g in spec["ir"] else "N", acn)
    if rng.random() < INFUSION_REACTION["p"]:
        infusions = [d[0] for d in S.doses if d[3] == "TORIPALIMAB"][:2]
        day = infusions[int(rng.integers(len(infusions)))]
        g = _grade(rng, INFUSION_REACTION["grades"])
        _ae_record(S, INFUSION_REACTION["term"],
                   _choice_list(rng, INFUSION_REACTION["verbatim"]), g, day, day, "NOT RELATED",
                   "RELATED", "N", "DOSE NOT CHANGED")
    for spec in DISEASE_AES:  # disease-related, onset uniform over the collection period
        if rng.random() >= spec["p"]:
            continue
        start = _uint(rng, 0, max(0, S.coll_end))
        end = start + _uint(rng, *spec["dur"]) - 1
        g = _grade(rng, spec["grades"])
        _ae_record(S, spec["term"], _choice_list(rng, spec["verbatim"]), g, start, end,
                   "NOT RELATED", "NOT RELATED", "N", _default_acn(S, start))


# =============================================================================================
# Subject simulation: QLQ-C30
# =============================================================================================
def _qol_latent(S, t: int, progressed: bool) -> float:
    """Latent QoL at day ``t``: baseline level (ECOG) + tumour shrinkage benefit − progression
    and end-of-life decline + visit noise."""
    r = _r(S, max(t, 0))
    q = S.q0 + 0.5 * float(np.clip(1 - r, -0.5, 0.8)) - 0.35 * progressed
    if S.death_obs and S.t_death - t < 90:
        q -= 0.5
    return q + 0.25 * S.rng.normal()


def _add_questionnaire(S, visit, t: int, q: float, p_done: float) -> None:
    """One QLQ-C30 administration: all 30 items, or a QSALL 'NOT DONE' record."""
    rng = S.rng
    noise = rng.normal(0, 0.55, 28)
    gnoise = rng.normal(0, 0.7, 2)
    miss = rng.random(30) < P_ITEM_MISSING
    done = rng.random() < p_done
    reason = _choice(rng, *QS_REASND)
    if not done:
        S.qs.append((visit, t, None, reason))
        return
    y = np.clip(np.rint(QS_MU - QS_LOAD * q + noise), 0, 3).astype(int) + 1
    g = np.clip(np.rint(4.6 + 1.2 * q + gnoise), 1, 7).astype(int)
    scores = np.concatenate([y, g])
    scores[miss] = 0
    S.qs.append((visit, t, scores, None))


def _sim_qs(S) -> None:
    """QLQ-C30 at baseline (day -7..1), at each tumour assessment up to and including the first
    PD, and at the end-of-treatment visit. Compliance 95 % at baseline, falling by 4 points per
    visit to a 70 % floor (75 % at end of treatment)."""
    rng = S.rng
    S.q0 = 0.35 * (S.ecog == 0) - 0.15 + rng.normal(0, 0.55)
    p0, drop, floor, p_eot = QS_COMPLIANCE
    t_bl = _uint(rng, max(S.consent - S.d0, -7), 0)
    S.qs_bl_t = t_bl
    _add_questionnaire(S, V_BASELINE, t_bl, _qol_latent(S, 0, False), p0)
    last = len(S.scans) if S.first_pd is None else S.first_pd + 1
    for j, sc in enumerate(S.scans[:last]):
        t = min(sc["t"] + _choice(rng, [0, 1, 2], [0.7, 0.2, 0.1]), S.last_ok)
        sc["qs_t"] = t
        q = _qol_latent(S, t, sc["ovr"] == "PD")
        _add_questionnaire(S, _visit_week(sc["week"]), t, q, max(floor, p0 - drop * (j + 1)))
    if S.t_eotv is not None:
        progressed = S.first_pd is not None and S.scans[S.first_pd]["t"] <= S.t_eotv
        _add_questionnaire(S, V_EOT, S.t_eotv, _qol_latent(S, S.t_eotv, progressed), p_eot)


# =============================================================================================
# Subject simulation: concomitant / prior / subsequent therapy
# =============================================================================================
def _sim_prior_therapy(S) -> None:
    """Prior systemic lines (CMCAT PRIOR ANTI-CANCER THERAPY, partial dates YYYY-MM).

    Exactly PRIORLN lines; one of them contains a PD-1 inhibitor (first-line nivolumab +
    ipilimumab per CheckMate 743, or platinum-pemetrexed + PD-1, or PD-1 monotherapy in the
    second line). Duration of the PD-1 line: 2-5 months for primary, 6-18 months for acquired
    resistance. The last line ends 1-3 months before consent.
    """
    rng = S.rng
    lines: list[tuple[list[str], bool]] = []  # (drugs, is_pd1_line)
    platin = "CISPLATIN" if rng.random() < 0.5 else "CARBOPLATIN"
    pd1 = _choice(rng, *PD1_PRIOR)
    if S.priorln == 1:
        if rng.random() < 0.5:
            lines.append((["NIVOLUMAB", "IPILIMUMAB"], True))
        else:
            lines.append((["PEMETREXED", platin, pd1], True))
    else:
        if rng.random() < 0.3:
            lines += [(["NIVOLUMAB", "IPILIMUMAB"], True), (["PEMETREXED", platin], False)]
        else:
            lines += [(["PEMETREXED", platin], False), ([pd1], True)]
        if S.priorln == 3:
            lines.append(([_choice(rng, *LATER_LINE_CHEMO)], False))
    end = S.consent - _uint(rng, 30, 90)
    for drugs, is_pd1 in reversed(lines):
        if is_pd1:
            dur = _uint(rng, 60, 150) if S.pd1res == "PRIMARY" else _uint(rng, 180, 540)
        else:
            dur = _uint(rng, 90, 150)
        start = end - dur
        lineno = lines.index((drugs, is_pd1)) + 1
        for drug in drugs:
            S.rec["cm"].append(dict(trt=drug, cat="PRIOR ANTI-CANCER THERAPY",
                                    scat=f"LINE {lineno}", indc="MESOTHELIOMA",
                                    start=_month(start), end=_month(end), sortday=start))
        end = start - _uint(rng, 20, 90)


def _sim_post_therapy(S) -> None:
    """Subsequent anti-cancer therapy (~40 % of progressed subjects, 2-8 weeks after end of
    treatment) and concomitant medication linked to AEs (paracetamol for fever, levothyroxine
    for hypothyroidism, corticosteroids for grade ≥ 2 pneumonitis or colitis)."""
    rng = S.rng
    progressed = S.first_pd is not None or S.eot_reason == "PROGRESSIVE DISEASE"
    if progressed and S.t_stop is not None and rng.random() < P_SUBSEQUENT_THERAPY:
        anchor = max(S.t_stop, S.scans[S.first_pd]["t"] if S.first_pd is not None else 0)
        start = anchor + _uint(rng, 14, 60)
        stop = start + _uint(rng, 42, 150)
        drugs = SUBSEQUENT[0][int(rng.choice(len(SUBSEQUENT[0]), p=SUBSEQUENT[1]))]
        if start <= S.last_ok:
            for drug in drugs:
                S.rec["cm"].append(dict(trt=drug, cat="SUBSEQUENT ANTI-CANCER THERAPY",
                                        scat="", indc="MESOTHELIOMA", start=S.d0 + start,
                                        end=S.d0 + stop if stop <= S.last_ok else None,
                                        sortday=S.d0 + start))
    seen = set()
    for ae in S.rec["ae"]:
        med = None
        if ae["term"] == "Fever" and "Fever" not in seen and rng.random() < 0.5:
            med = "PARACETAMOL"
        elif ae["term"] == "Hypothyroidism" and ae["grade"] >= 2:
            med = "LEVOTHYROXINE"
        elif ae["term"] in ("Pneumonitis", "Colitis") and ae["grade"] >= 2:
            med = "METHYLPREDNISOLONE"
        if med is None:
            continue
        seen.add(ae["term"])
        S.rec["cm"].append(dict(trt=med, cat="CONCOMITANT MEDICATION", scat="",
                                indc=ae["term"].upper(), start=S.d0 + ae["start"],
                                end=None if ae["end"] is None else S.d0 + ae["end"],
                                sortday=S.d0 + ae["start"]))


# =============================================================================================
# Subject-level drivers
# =============================================================================================
def _simulate_treated(S) -> None:
    """Full course of a dosed subject (latent draws, scans, dosing, follow-up, AEs, QS, CM)."""
    rng = S.rng
    S.treated = True
    S.route = "INTRAPLEURAL" if (not S.measurable or rng.random() < P_INTRAPLEURAL_MEASURABLE) \
        else "INTRATUMOR"
    _draw_latent(S)
    _draw_ir_candidates(S)
    S.t_ae_stop = _NEVER
    for ev in S.ir:
        if ev["withdraw"] and ev["start"] + 2 < S.t_ae_stop:
            S.t_ae_stop = ev["start"] + 2
            S.ae_stop_event = ev
    S.tbp = False
    _sim_scans(S)
    _sim_treatment(S)
    if S.eot_reason == "ADVERSE EVENT":
        S.ae_stop_event["stopped_treatment"] = True
    _sim_exit(S)
    _sim_followup_visits(S)
    _sim_aes(S)
    _sim_qs(S)
    _sim_prior_therapy(S)
    _sim_post_therapy(S)


def _simulate_not_treated(S) -> None:
    """Enrolled, baseline scan done, consent withdrawn before the first dose."""
    rng = S.rng
    S.t_withdraw_pre = _uint(rng, S.consent - S.d0 + 1, -1)
    S.t_base = _uint(rng, S.consent - S.d0, S.t_withdraw_pre)
    S.scans = []
    _sim_prior_therapy(S)


def _simulate_enrolled(k: int, seed: int, never_dosed: bool, force_ne: bool = False,
                       deep: bool = False) -> SimpleNamespace:
    S = _new_subject(np.random.default_rng([seed, _TAG_ENROLLED, k]), k, "ENR")
    S.force_ne, S.deep = force_ne, deep
    _draw_dates(S)
    _draw_covariates(S)
    _draw_lesions(S)
    if never_dosed:
        _simulate_not_treated(S)
    else:
        _simulate_treated(S)
    return S


def _simulate_screen_failure(m: int, seed: int) -> SimpleNamespace:
    S = _new_subject(np.random.default_rng([seed, _TAG_SCRNFAIL, m]), m, "SF")
    rng = S.rng
    S.consent = _uint(rng, _ACCRUAL_START - 21, _ACCRUAL_END)
    S.t_sf = S.consent + _uint(rng, 3, 28)
    S.sf_reason = _choice(rng, ["DID NOT MEET INCLUSION CRITERIA", "MET EXCLUSION CRITERIA",
                                "NO PRIOR PD-1 INHIBITOR FAILURE DOCUMENTED"], [0.5, 0.35, 0.15])
    return S


# =============================================================================================
# Laboratory values (LB): own random stream, so no other domain changes
# =============================================================================================
def _lab_samples(S) -> list[tuple[tuple[str, int], int, str]]:
    """Blood samples of an enrolled subject as ``(visit, day number, epoch)``, all on days that
    are already contacts in other domains (so LB never moves a last-alive date): the baseline
    visit (the baseline scan day), cycle 1 day 1 before the first dose (drawn later), and day 1
    of cycles 2-4 before that cycle's toripalimab dose."""
    out = [(V_BASELINE, S.d0 + S.t_base, "SCREENING")]
    if S.treated:
        for t, c, d, drug in S.doses:
            if d == 1 and drug == "TORIPALIMAB" and (c == 1 or c in LAB_CYCLES):
                out.append((_visit_cycle(c, d), S.d0 + t, "TREATMENT"))
    return out


def _sim_labs(S, seed: int) -> None:
    """LB records: NEUT, LYM, ALB, LDH per sample (parameters :data:`LAB_TESTS`).

    Subject level ``log m = log median + effect * z + N(0, sd)`` (high NLR, low albumin and high
    LDH go with less benefit, as published for MPM); each sample ``log x = log m + N(0, 0.12)``,
    rounded to the test's decimals; 2 % of results NOT DONE. ``LBBLFL = Y`` on the last
    non-missing result on or before the first dose (SDTMIG 3.3). Generator
    ``[seed, _TAG_LAB, k]``.
    """
    rng = np.random.default_rng([seed, _TAG_LAB, S.index])
    level = {code: math.log(spec[4]) + spec[6] * S.z + spec[5] * rng.normal()
             for code, spec in LAB_TESTS.items()}
    c1d1 = rng.random() < P_LAB_C1D1
    S.labs = []
    for (visit, day, epoch) in _lab_samples(S):
        if visit[0] == "CYCLE 1 DAY 1" and not c1d1:
            continue
        for order, (code, spec) in enumerate(LAB_TESTS.items()):
            value = round(math.exp(level[code] + LAB_WITHIN_SD * rng.normal()), spec[8])
            done = rng.random() >= P_LAB_NOT_DONE
            S.labs.append(dict(code=code, visit=visit, day=day, epoch=epoch, order=order,
                               value=value if done else None, blfl=""))
    if S.treated:
        last = {}
        for i, r in enumerate(S.labs):
            if r["value"] is not None and r["day"] <= S.d0:
                last[r["code"]] = i
        for i in last.values():
            S.labs[i]["blfl"] = "Y"


def _rows_lb(S):
    for r in S.labs:
        name, cat, spec_, unit, _m, _sd, _b, (lo, hi), _dec = LAB_TESTS[r["code"]]
        v = r["value"]
        text = "" if v is None else _fmt_number(v)
        ind = "" if v is None else ("LOW" if v < lo else ("HIGH" if v > hi else "NORMAL"))
        yield dict(USUBJID=S.usubjid, LBTESTCD=r["code"], LBTEST=name, LBCAT=cat, LBORRES=text,
                   LBORRESU=unit, LBORNRLO=_fmt_number(lo), LBORNRHI=_fmt_number(hi), LBSTRESC=text,
                   LBSTRESN=np.nan if v is None else v, LBSTRESU=unit, LBSTNRLO=lo, LBSTNRHI=hi,
                   LBNRIND=ind, LBSTAT="" if v is not None else "NOT DONE",
                   LBREASND="" if v is not None else "SAMPLE NOT RECEIVED", LBSPEC=spec_,
                   LBBLFL=r["blfl"], VISITNUM=r["visit"][1], VISIT=r["visit"][0], EPOCH=r["epoch"],
                   LBDTC=r["day"], _sort=(r["day"], r["visit"][1], r["order"]))


# =============================================================================================
# Trial-level specials (lowest-index qualifying subject, so prefix-stable)
# =============================================================================================
def _apply_fatal_ae(subjects) -> None:
    """At most one grade-5 AE: fatal immune-related pneumonitis for the lowest-index subject who
    died on treatment (before any PD) at least 14 days after the first dose. It starts after the
    last dose and ends on the death date; AEOUT FATAL, serious, DRUG WITHDRAWN."""
    for S in subjects:
        if (S.treated and S.death_obs and S.eot_reason == "DEATH" and S.t_death >= 14
                and S.first_pd is None):
            span = min(20, S.t_death - S.last_dose)
            start = S.last_dose + 1 + int(S.fatal_u * span) if span > 0 else S.t_death
            start = min(start, S.t_death)
            S.rec["ae"].append(dict(term=FATAL_AE["term"], verbatim=FATAL_AE["verbatim"],
                                    grade=5, start=start, end=S.t_death, relh1="NOT RELATED",
                                    relpd="RELATED", ir="Y", acn="DRUG WITHDRAWN", ser="Y",
                                    out="FATAL", partial=False))
            S.fatal = True
            S.death_cause = FATAL_AE["term"].upper()
            return


def _apply_window_aes(subjects) -> None:
    """AE-window boundary cases: for the lowest-index dosed subject observed long enough, one AE
    starting 30-37 days after the last H101 dose (inside the TEAE window) and one starting
    38-45 days after it (outside)."""
    for S in subjects:
        if S.treated and not S.fatal and \
                min(S.coll_end, S.last_ok) >= S.last_h101 + 45:
            o1, d1, o2, d2 = S.window_offsets
            for spec, off, dur in ((WINDOW_AES[0], o1, d1), (WINDOW_AES[1], o2, d2)):
                start = S.last_h101 + off
                _ae_record(S, spec["term"], spec["verbatim"][0], 1, start, start + dur - 1,
                           "NOT RELATED", "NOT RELATED", "N", _default_acn(S, start),
                           serious=False)
            S.window_subject = True
            return


def _apply_partial_ae_dates(subjects, count: int = 2) -> None:
    """Two partial AE start dates (``YYYY-MM``): the first not-related AE starting ≥ 35 days
    after the first dose, in each of the two lowest-index dosed subjects that have one. Day 35
    or later is always in a later month than the first dose, so treatment-emergence stays
    decidable."""
    for S in subjects:
        if count == 0:
            return
        if not S.treated or S.window_subject:
            continue
        for ae in S.rec["ae"]:
            if ae["relh1"] == "NOT RELATED" and ae["relpd"] == "NOT RELATED" and ae["start"] >= 35:
                ae["partial"] = True
                count -= 1
                break


def _subject_max_day(S) -> int:
    """Latest day number of any record of the subject except the death itself."""
    days = [S.consent]
    d0 = S.d0
    days += [d0 + d[0] for d in S.doses] + [d0 + s["t"] for s in S.scans]
    days += [d0 + t for t in S.fu] + ([d0 + S.t_eotv] if S.t_eotv is not None else [])
    days += [d0 + q[1] for q in S.qs]
    for ae in S.rec["ae"]:
        days.append(d0 + ae["start"])
        if ae["end"] is not None and ae["grade"] < 5:
            days.append(d0 + ae["end"])
    for cm in S.rec["cm"]:
        for key in ("start", "end"):
            if isinstance(cm[key], (int, np.integer)):
                days.append(int(cm[key]))
    if S.t_stop is not None and S.eot_reason != "DEATH":
        days.append(d0 + S.t_stop)
    return max(days)


def _apply_partial_death_date(subjects) -> None:
    """Exactly one partial death date (``YYYY-MM``): the lowest-index subject who died in
    follow-up with every other record before the first day of the death month."""
    for S in subjects:
        if S.treated and S.death_obs and S.eot_reason != "DEATH" and \
                _subject_max_day(S) < _first_of_month(S.d0 + S.t_death):
            S.death_partial = True
            return


# =============================================================================================
# Assembly of the domains
# =============================================================================================
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
        out[ints] = np.datetime_as_string(_EPOCH + d.astype("timedelta64[D]"), unit="D")
        days[ints] = d
    for i in np.flatnonzero(~ints):
        out[i] = values[i] if isinstance(values[i], str) else ""
    return out, days


def _frame(domain: str, rows: list[dict]) -> pd.DataFrame:
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


def _finish(domain: str, df: pd.DataFrame, rfst: dict[str, float],
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


def _records_dm(subjects) -> tuple[list, list]:
    dm, supp = [], []
    for S in subjects:
        treated = S.treated
        if S.kind == "SF":
            arm = armcd = ("Screen Failure", "SCRNFAIL")
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
            dth = _month(S.dthdtc) if S.death_partial else S.dthdtc
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


def _disposition(S) -> None:
    """DS records and the end-of-study (date, reason) used for DM.RFENDTC."""
    ds = S.rec["ds"]
    ds.append(dict(term="INFORMED CONSENT OBTAINED", decod="INFORMED CONSENT OBTAINED",
                   cat="PROTOCOL MILESTONE", scat="", epoch="SCREENING", day=S.consent, order=0))
    if S.kind == "SF":
        ds.append(dict(term=S.sf_reason, decod="SCREEN FAILURE", cat="DISPOSITION EVENT",
                       scat="END OF STUDY", epoch="SCREENING", day=S.t_sf, order=2))
        S.eos = ("SCREEN FAILURE", S.t_sf)
        return
    if not S.treated:
        day = S.d0 + S.t_withdraw_pre
        ds.append(dict(term="WITHDREW CONSENT BEFORE FIRST DOSE", decod="WITHDRAWAL BY SUBJECT",
                       cat="DISPOSITION EVENT", scat="END OF STUDY", epoch="SCREENING", day=day,
                       order=2))
        S.eos = ("WITHDRAWAL BY SUBJECT", day)
        return
    if S.t_stop is not None:
        terms = {"PROGRESSIVE DISEASE": "DISEASE PROGRESSION", "DEATH": "DEATH",
                 "ADVERSE EVENT": "ADVERSE EVENT", "WITHDRAWAL BY SUBJECT": "SUBJECT DECISION",
                 "PHYSICIAN DECISION": "CLINICAL DETERIORATION, INVESTIGATOR DECISION",
                 "COMPLETED": "COMPLETED 2 YEARS OF TREATMENT"}
        ds.append(dict(term=terms[S.eot_reason], decod=S.eot_reason, cat="DISPOSITION EVENT",
                       scat="END OF TREATMENT", epoch="TREATMENT", day=S.d0 + S.t_stop, order=1))
    if S.death_obs:
        day = S.d0 + S.t_death
        S.dthdtc = day
        ds.append(dict(term="DEATH", decod="DEATH", cat="DISPOSITION EVENT", scat="END OF STUDY",
                       epoch="TREATMENT" if S.eot_reason == "DEATH" else "FOLLOW-UP", day=day,
                       order=2, death=True))
        S.eos = ("DEATH", day)
    elif S.exit_obs:
        day = S.d0 + S.t_exit
        on_tx = S.t_stop is None or S.t_exit <= S.t_stop
        ds.append(dict(term="WITHDREW CONSENT" if S.exit_reason == "WITHDRAWAL BY SUBJECT"
                       else "LOST TO FOLLOW-UP", decod=S.exit_reason, cat="DISPOSITION EVENT",
                       scat="END OF STUDY", epoch="TREATMENT" if on_tx else "FOLLOW-UP", day=day,
                       order=2))
        S.eos = (S.exit_reason, day)


def _rows_ds(S):
    for r in S.rec["ds"]:
        day = r["day"]
        dtc = _month(day) if (r.get("death") and S.death_partial) else day
        yield dict(USUBJID=S.usubjid, DSTERM=r["term"], DSDECOD=r["decod"], DSCAT=r["cat"],
                   DSSCAT=r["scat"], EPOCH=r["epoch"], DSSTDTC=dtc, _sort=(day, r["order"]))


def _rows_dd(S):
    """DD (SDTMIG 3.3 Death Details): the primary cause of death (DDTESTCD PRCDTH) of every
    observed death, dated as the DS death record."""
    for r in S.rec["ds"]:
        if r.get("death"):
            dtc = _month(r["day"]) if S.death_partial else r["day"]
            yield dict(USUBJID=S.usubjid, DDTESTCD="PRCDTH", DDTEST="Primary Cause of Death",
                       DDORRES=getattr(S, "death_cause", "UNKNOWN"), DDSTRESC=getattr(S, "death_cause", "UNKNOWN"),
                       DDDTC=dtc, _sort=(r["day"],))


def _rows_ex(S):
    for t, c, d, drug in S.doses:
        visit, vnum = _visit_cycle(c, d)
        h = drug == "H101"
        yield dict(USUBJID=S.usubjid, EXTRT=drug, EXDOSE=H101_DOSE if h else TORI_DOSE,
                   EXDOSU="VP" if h else "mg", EXDOSFRM="INJECTION" if h else "SOLUTION",
                   EXDOSFRQ="ONCE", EXROUTE=S.route if h else "INTRAVENOUS", VISITNUM=vnum,
                   VISIT=visit, EPOCH="TREATMENT", EXSTDTC=S.d0 + t, EXENDTC=S.d0 + t,
                   _sort=(t, 0 if h else 1))


def _rows_ae(S):
    cod = _ae_dictionary()
    for ae in S.rec["ae"]:
        code, soc, _ = cod[ae["term"]]
        g = ae["grade"]
        rel = "RELATED" if "RELATED" in (ae["relh1"], ae["relpd"]) else "NOT RELATED"
        start = S.d0 + ae["start"]
        yield dict(USUBJID=S.usubjid, AETERM=ae["verbatim"], AELLTCD=code, AEDECOD=ae["term"],
                   AEBODSYS=soc, AESEV="MILD" if g == 1 else ("MODERATE" if g == 2 else "SEVERE"),
                   AESER=ae["ser"], AEACN=ae["acn"], AEREL=rel, AEOUT=ae["out"], AETOXGR=g,
                   AESTDTC=_month(start) if ae["partial"] else start,
                   AEENDTC=None if ae["end"] is None else S.d0 + ae["end"],
                   _sort=(start, ae["term"], ae["end"] if ae["end"] is not None else _NEVER),
                   _supp=(ae["relh1"], ae["relpd"], ae["ir"]))


def _rows_tumour(S):
    """TU, TR and RS rows for baseline and every scan."""
    tu, tr, rs = [], [], []
    uid = S.usubjid
    t_ids = [f"T{j + 1:02d}" for j in range(len(S.targets))]
    nt_ids = [f"NT{j + 1:02d}" for j in range(len(S.nontargets))]
    common = dict(USUBJID=uid, TRMETHOD="CT SCAN", TREVAL="INVESTIGATOR")
    bday = S.d0 + S.t_base
    for lid, L in zip(t_ids, S.targets):
        tu.append(dict(USUBJID=uid, TUGRPID="TARGET", TULNKID=lid, TUTESTCD="TUMIDENT",
                       TUTEST="Tumor Identification", TUORRES="TARGET", TUSTRESC="TARGET",
                       TULOC=L["loc"], TUMETHOD="CT SCAN", TUEVAL="INVESTIGATOR", VISITNUM=2,
                       VISIT="BASELINE", TUDTC=bday, _sort=(bday, lid)))
    for lid, L in zip(nt_ids, S.nontargets):
        tu.append(dict(USUBJID=uid, TUGRPID="NON-TARGET", TULNKID=lid, TUTESTCD="TUMIDENT",
                       TUTEST="Tumor Identification", TUORRES="NON-TARGET",
                       TUSTRESC="NON-TARGET", TULOC=L["loc"], TUMETHOD="CT SCAN",
                       TUEVAL="INVESTIGATOR", VISITNUM=2, VISIT="BASELINE", TUDTC=bday,
                       _sort=(bday, lid)))
    visits = [(("BASELINE", 2), S.t_base, dict(sizes=[L["base"] for L in S.targets],
                                               sum=sum(L["base"] for L in S.targets),
                                               nt=["PRESENT"] * len(S.nontargets),
                                               new=False, new_first=False), True)]
    visits += [(_visit_week(sc["week"]), sc["t"], sc, False) for sc in S.scans]
    for (visit, vnum), t, sc, is_base in visits:
        day = S.d0 + t
        vd = dict(VISITNUM=vnum, VISIT=visit, TRDTC=day)
        for lid, L, s in zip(t_ids, S.targets, sc["sizes"]):
            test = "SAXIS" if L["node"] else "LDIAM"
            if s is None:
                tr.append(dict(common, **vd, TRGRPID="TARGET", TRLNKID=lid, TRTESTCD=test,
                               TRTEST=TR_TESTS[test], TRSTAT="NOT DONE",
                               TRREASND="LESION NOT EVALUABLE", _sort=(day, 0, lid)))
            else:
                tr.append(dict(common, **vd, TRGRPID="TARGET", TRLNKID=lid, TRTESTCD=test,
                               TRTEST=TR_TESTS[test], TRORRES=str(s), TRORRESU="mm",
                               TRSTRESC=str(s), TRSTRESN=s, TRSTRESU="mm", _sort=(day, 0, lid)))
        if S.targets:
            if sc["sum"] is None:
                tr.append(dict(common, **vd, TRGRPID="TARGET", TRTESTCD="SUMDIAM",
                               TRTEST=TR_TESTS["SUMDIAM"], TRSTAT="NOT DONE",
                               TRREASND="TARGET LESION NOT EVALUABLE", _sort=(day, 1, "")))
            else:
                tr.append(dict(common, **vd, TRGRPID="TARGET", TRTESTCD="SUMDIAM",
                               TRTEST=TR_TESTS["SUMDIAM"], TRORRES=str(sc["sum"]),
                               TRORRESU="mm", TRSTRESC=str(sc["sum"]), TRSTRESN=sc["sum"],
                               TRSTRESU="mm", _sort=(day, 1, "")))
        for lid, st in zip(nt_ids, sc["nt"]):
            tr.append(dict(common, **vd, TRGRPID="NON-TARGET", TRLNKID=lid, TRTESTCD="TUMSTATE",
                           TRTEST=TR_TESTS["TUMSTATE"], TRORRES=st, TRSTRESC=st,
                           _sort=(day, 2, lid)))
        if sc["new"]:
            for j, loc in enumerate(S.new_locs):
                lid = f"NEW{j + 1:02d}"
                if sc["new_first"]:
                    tu.append(dict(USUBJID=uid, TUGRPID="NEW", TULNKID=lid, TUTESTCD="TUMIDENT",
                                   TUTEST="Tumor Identification", TUORRES="NEW", TUSTRESC="NEW",
                                   TULOC=loc, TUMETHOD="CT SCAN", TUEVAL="INVESTIGATOR",
                                   VISITNUM=vnum, VISIT=visit, TUDTC=day, _sort=(day, lid)))
                tr.append(dict(common, **vd, TRGRPID="NEW", TRLNKID=lid, TRTESTCD="TUMSTATE",
                               TRTEST=TR_TESTS["TUMSTATE"], TRORRES="PRESENT", TRSTRESC="PRESENT",
                               _sort=(day, 3, lid)))
        if is_base:
            continue
        vals = {"TRGRESP": sc["trg"], "NTRGRESP": sc["ntrg"],
                "NEWLPROG": "Y" if sc["new"] else "N", "OVRLRESP": sc["ovr"]}
        for j, (code, label) in enumerate(RS_TESTS):
            if vals[code] is None:
                continue
            rs.append(dict(USUBJID=uid, RSTESTCD=code, RSTEST=label, RSCAT="RECIST 1.1",
                           RSORRES=vals[code], RSSTRESC=vals[code], RSEVAL="INVESTIGATOR",
                           RSACPTFL="Y", VISITNUM=vnum, VISIT=visit, RSDTC=day, _sort=(day, j)))
    return tu, tr, rs


def _rows_sv(S):
    """One SV row per visit that happened, spanning the dates of its procedures."""
    spans: dict[tuple[str, int], list[int]] = {}

    def add(visit, day):
        spans.setdefault(visit, []).append(day)

    add(V_SCREENING, S.consent)
    if S.kind == "SF":
        return []
    add(V_BASELINE, S.d0 + S.t_base)
    if S.treated:
        if S.qs:
            add(V_BASELINE, S.d0 + S.qs_bl_t)
        for t, c, d, _drug in S.doses:
            add(_visit_cycle(c, d), S.d0 + t)
        for sc in S.scans:
            add(_visit_week(sc["week"]), S.d0 + sc["t"])
            if "qs_t" in sc:
                add(_visit_week(sc["week"]), S.d0 + sc["qs_t"])
        if S.t_eotv is not None:
            add(V_EOT, S.d0 + S.t_eotv)
        for k, t in enumerate(sorted(S.fu), start=1):
            add(_visit_fu(k), S.d0 + t)
    return [dict(USUBJID=S.usubjid, VISITNUM=v[1], VISIT=v[0], SVSTDTC=min(days),
                 SVENDTC=max(days)) for v, days in spans.items()]


def _rows_cm(S):
    for r in S.rec["cm"]:
        yield dict(USUBJID=S.usubjid, CMTRT=r["trt"], CMCAT=r["cat"], CMSCAT=r["scat"],
                   CMINDC=r["indc"], CMSTDTC=r["start"], CMENDTC=r["end"],
                   _sort=(r["sortday"], r["trt"]))


def _qs_frame(subjects) -> pd.DataFrame:
    """QS rows, built column-wise (it is by far the largest domain).

    A questionnaire that was not completed is one ``QSTESTCD = QSALL`` record with
    ``QSSTAT = NOT DONE`` and ``QSREASND``; an unanswered item has ``QSSTAT = NOT DONE``,
    ``QSREASND = NOT ANSWERED`` and empty results.
    """
    uid, vis, vnum, day, item, score, reason = [], [], [], [], [], [], []
    items = list(range(1, 31))
    for S in subjects:
        for (visit, vn), t, scores, why in S.qs:
            m = 1 if scores is None else 30
            uid += [S.usubjid] * m
            vis += [visit] * m
            vnum += [vn] * m
            day += [S.d0 + t] * m
            if scores is None:
                item.append(0), score.append(0), reason.append(why)
            else:
                item += items
                score += scores.tolist()
                reason += ["" if s else "NOT ANSWERED" for s in scores.tolist()]
    item_a = np.array(item, dtype=np.int64)
    score_a = np.array(score, dtype=np.int64)
    codes = np.array(["QSALL"] + [f"EOR01{j:02d}" for j in items], dtype=object)
    labels = np.array(["All Questions"] + QS_LABELS, dtype=object)
    txt4 = np.array([""] + QS_4PT, dtype=object)
    num = np.where(score_a > 0, score_a.astype(str), "").astype(object)
    orres = np.where(item_a >= 29, num, txt4[np.clip(score_a, 0, 4)]).astype(object)
    return pd.DataFrame({
        "STUDYID": STUDYID, "DOMAIN": "QS", "USUBJID": uid, "QSSEQ": 0,
        "QSTESTCD": codes[item_a], "QSTEST": labels[item_a], "QSCAT": QSCAT, "QSORRES": orres,
        "QSSTRESC": num, "QSSTRESN": pd.array(np.where(score_a > 0, score_a, np.nan),
                                              dtype="Int64"),
        "QSSTAT": np.where(score_a > 0, "", "NOT DONE").astype(object), "QSREASND": reason,
        "VISITNUM": vnum, "VISIT": vis, "QSDTC": day, "QSDY": pd.NA, "_s0": day, "_s1": item_a})


def _assign_ids(plan, subjects_by_key) -> None:
    """USUBJID = STUDYID-SITE-NNNN, numbered per site in screening order."""
    counters: dict[str, int] = defaultdict(int)
    for key in plan:
        S = subjects_by_key[key]
        counters[S.siteid] += 1
        S.subjid = f"{S.siteid}-{counters[S.siteid]:04d}"
        S.usubjid = f"{STUDYID}-{S.subjid}"


# =============================================================================================
# Public API
# =============================================================================================
def generate_trial(n: int = 40, seed: int = 20261124) -> dict[str, pd.DataFrame]:
    """Simulate the trial and return SDTM domains keyed by lower-case domain name.

    Keys: ``dm, suppdm, ex, ae, suppae, rs, tr, tu, qs, ds, cm, sv, lb``. ``n`` is the number of
    enrolled subjects (dosed or not); about 15 % screen failures are added to DM/DS. The same
    ``(n, seed)`` always gives the same data, and subject k's data do not depend on ``n``.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    plan = _screening_plan(n, seed)
    never = _block_flags(n, seed, _TAG_NT_BLOCK, NOT_TREATED_BLOCK)
    force_ne = _block_flags(n, seed, _TAG_NE_BLOCK, NE_BLOCK)
    deep = _block_flags(n, seed, _TAG_DEEP_BLOCK, DEEP_BLOCK)
    subjects_by_key = {}
    for kind, idx in plan:
        S = (_simulate_enrolled(idx, seed, idx in never, idx in force_ne, idx in deep)
             if kind == "ENR" else _simulate_screen_failure(idx, seed))
        subjects_by_key[(kind, idx)] = S
    _assign_ids(plan, subjects_by_key)
    enrolled = [subjects_by_key[("ENR", k)] for k in range(n)]
    _apply_fatal_ae(enrolled)
    _apply_window_aes(enrolled)
    _apply_partial_ae_dates(enrolled)
    for S in subjects_by_key.values():
        _disposition(S)
    _apply_partial_death_date(enrolled)
    for S in enrolled:
        _sim_labs(S, seed)
    subjects = [subjects_by_key[k] for k in plan]
    return _build_domains(subjects)


def _build_domains(subjects) -> dict[str, pd.DataFrame]:
    """Collect every subject's records into one DataFrame per domain."""
    rows = defaultdict(list)
    dm, suppdm = _records_dm(subjects)
    for S in subjects:
        rows["ds"] += list(_rows_ds(S))
        rows["dd"] += list(_rows_dd(S))
        rows["sv"] += _rows_sv(S)
        if S.kind == "SF":
            continue
        rows["cm"] += list(_rows_cm(S))
        tu, tr, rs = _rows_tumour(S)
        rows["tu"] += tu
        rows["tr"] += tr
        rows["rs"] += rs
        rows["lb"] += list(_rows_lb(S))
        if S.treated:
            rows["ex"] += list(_rows_ex(S))
            rows["ae"] += list(_rows_ae(S))
    rfst = {S.usubjid: (float(S.d0) if S.treated else np.nan) for S in subjects}
    out = {"dm": _finish("dm", _frame("dm", dm), rfst),
           "suppdm": _finish("suppdm", _frame("suppdm", suppdm), rfst)}
    for dom in ["ex", "rs", "tr", "tu", "ds", "cm", "sv", "lb", "dd"]:
        out[dom] = _finish(dom, _frame(dom, rows[dom]), rfst)
    ae = _finish("ae", _frame("ae", rows["ae"]), rfst, keep=("_supp",))
    out["suppae"] = _suppae(ae)
    out["ae"] = ae[COLUMNS["ae"]]
    out["qs"] = _finish("qs", _qs_frame(subjects), rfst)
    return _typed({k: out[k] for k in DOMAINS})


def _suppae(ae: pd.DataFrame) -> pd.DataFrame:
    """SUPPAE: relationship to each study drug and the immune-related flag, per AESEQ."""
    labels = {"AERELH1": "Relationship to H101", "AERELPD": "Relationship to PD-1 Inhibitor",
              "AEIRFL": "Immune-related AE Flag"}
    rows = []
    for uid, seq, supp in zip(ae["USUBJID"], ae["AESEQ"], ae["_supp"]):
        for qnam, val in zip(("AERELH1", "AERELPD", "AEIRFL"), supp):
            rows.append(dict(RDOMAIN="AE", USUBJID=uid, IDVAR="AESEQ", IDVARVAL=str(seq),
                             QNAM=qnam, QLABEL=labels[qnam], QVAL=val, QORIG="CRF", QEVAL="",
                             _sort=(int(seq), qnam)))
    df = _frame("suppae", rows)
    df = df.sort_values(["USUBJID", "_s0", "_s1"], kind="stable")
    return df[COLUMNS["suppae"]].reset_index(drop=True)


_INT_VARS = {"AGE", "EXSEQ", "AESEQ", "RSSEQ", "TRSEQ", "TUSEQ", "QSSEQ", "DSSEQ", "CMSEQ",
             "VISITNUM", "AELLTCD", "AETOXGR", "EXDOSE", "TRSTRESN", "QSSTRESN", "LBSEQ"}
_FLOAT_VARS = {"LBSTRESN", "LBSTNRLO", "LBSTNRHI"}  # laboratory results and ranges (decimals)


def _typed(out: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
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


# =============================================================================================
# Writing
# =============================================================================================
def _fmt_number(x) -> str:
    """Fixed, locale-free number text: integers as integers, other floats positional."""
    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return ""
    if float(x).is_integer():
        return str(int(x))
    return np.format_float_positional(float(x), trim="-")


def write_sdtm_csv(domains: dict[str, pd.DataFrame], out_dir) -> list[Path]:
    """Write ``<domain>.csv`` per domain with deterministic bytes.

    UTF-8, ``\\n`` line endings, no index, the fixed column order of :data:`COLUMNS` (other
    columns after, in their order), rows sorted by the domain's natural keys (USUBJID and --SEQ,
    or VISITNUM / QNAM), numbers in a fixed format (integer-valued numbers as integers, others
    positional, never ``1e-05``), missing values as empty fields. Returns the paths written,
    in domain order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in sorted(domains, key=lambda d: (DOMAINS.index(d) if d in DOMAINS else 99, d)):
        df = domains[name]
        cols = [c for c in COLUMNS.get(name, []) if c in df.columns]
        cols += [c for c in df.columns if c not in cols]
        df = df[cols]
        keys = [k for k in SORT_KEYS.get(name, []) if k in df.columns]
        if keys:
            df = df.sort_values(keys, kind="stable")
        text = pd.DataFrame({c: _column_text(df[c]) for c in cols}, index=df.index)
        buf = io.StringIO()
        text.to_csv(buf, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        path = out_dir / f"{name}.csv"
        path.write_bytes(buf.getvalue().encode("utf-8"))
        paths.append(path)
    return paths


def _column_text(s: pd.Series) -> pd.Series:
    """A column as text: integers as integers, other numbers positional, missing as ''."""
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("string").fillna("").astype(object)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.map(_fmt_number).astype(object)
    return s.astype(object).where(s.notna(), "").astype(str).astype(object)
