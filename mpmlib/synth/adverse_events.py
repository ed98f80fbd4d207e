"""Adverse events of the synthetic trial (AE, SUPPAE), coded with CTCAE v5.0.

Three sources (docs/synthetic-trial.md §6, with the published rate behind each term):

* H101 injection reactions, per injection (fever, injection-site reaction, procedural pain, flu-like
  symptoms, leukopenia, ...): H101 + nivolumab in HCC (PMC10937204), the H101 phase III (Xia,
  Ai Zheng 2004;23:1666) and phase I (PMID 12654194), meta-analyses (Front Oncol 2025);
* PD-1-inhibitor (immune-related) events, subject-level incidences (Wang et al., JAMA Oncol
  2019;5:1008; rows marked "[memory — verify]" in the docs), with their dose interruptions and
  withdrawals;
* disease-related events of advanced MPM (assumptions).

Collection from the first dose to the last dose of any study drug + 60 days. Terms, MedDRA codes
and SOCs come from ``mpmlib/resources/ctcae_v5_terms.csv``; every grade drawn is checked to be
one that CTCAE v5.0 defines for the term. The trial-level specials (one grade-5 AE, the AE-window
boundary pair, two partial start dates) go to the lowest-index qualifying subject (§9).
"""

from __future__ import annotations

import functools
import importlib.resources

import pandas as pd

from mpmlib.synth.draws import choice, draw_grade, pick, uint
from mpmlib.synth.frames import COLUMNS, frame
from mpmlib.synth.study import NEVER, month

AE_COLLECTION_DAYS = 60  # AEs collected to last dose of any study drug + 60 days

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
# Subject simulation: adverse events
# =============================================================================================
def draw_ir_candidates(S) -> None:
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
        onset = uint(rng, *spec["onset"])
        dur = uint(rng, *spec["dur"])
        g = draw_grade(rng, spec["grades"])
        S.ir.append(dict(spec=spec, start=onset, end=onset + dur - 1, grade=g,
                         interrupt=g in spec["interrupt"], withdraw=g in spec["withdraw"],
                         delayed=False, verbatim=pick(rng, spec["verbatim"])))


def ae_treatment_stop(S) -> None:
    """``S.t_ae_stop``: treatment stops 2 days after the onset of the earliest immune-related AE
    whose grade withdraws the drug (``S.ae_stop_event``); never if there is none."""
    S.t_ae_stop = NEVER
    for ev in S.ir:
        if ev["withdraw"] and ev["start"] + 2 < S.t_ae_stop:
            S.t_ae_stop = ev["start"] + 2
            S.ae_stop_event = ev


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


def sim_aes(S) -> None:
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
            start = day + choice(rng, *spec["onset"])
            end = start + uint(rng, *spec["dur"]) - 1
            g = draw_grade(rng, spec["grades"])
            if start <= busy_until or start > S.coll_end:
                continue
            busy_until = end
            _ae_record(S, spec["term"], pick(rng, spec["verbatim"]), g, start, end,
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
        g = draw_grade(rng, INFUSION_REACTION["grades"])
        _ae_record(S, INFUSION_REACTION["term"],
                   pick(rng, INFUSION_REACTION["verbatim"]), g, day, day, "NOT RELATED",
                   "RELATED", "N", "DOSE NOT CHANGED")
    for spec in DISEASE_AES:  # disease-related, onset uniform over the collection period
        if rng.random() >= spec["p"]:
            continue
        start = uint(rng, 0, max(0, S.coll_end))
        end = start + uint(rng, *spec["dur"]) - 1
        g = draw_grade(rng, spec["grades"])
        _ae_record(S, spec["term"], pick(rng, spec["verbatim"]), g, start, end,
                   "NOT RELATED", "NOT RELATED", "N", _default_acn(S, start))


# =============================================================================================
# Trial-level specials (lowest-index qualifying subject, so prefix-stable)
# =============================================================================================
def apply_fatal_ae(subjects) -> None:
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


def apply_window_aes(subjects) -> None:
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


def apply_partial_ae_dates(subjects, count: int = 2) -> None:
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


# =============================================================================================
# AE and SUPPAE rows
# =============================================================================================
def rows_ae(S):
    """AE rows with MedDRA code and SOC from CTCAE v5.0, AESEV from the grade (1 MILD, 2 MODERATE,
    >= 3 SEVERE) and AEREL RELATED when related to either drug; ``_supp`` carries SUPPAE."""
    cod = _ae_dictionary()
    for ae in S.rec["ae"]:
        code, soc, _ = cod[ae["term"]]
        g = ae["grade"]
        rel = "RELATED" if "RELATED" in (ae["relh1"], ae["relpd"]) else "NOT RELATED"
        start = S.d0 + ae["start"]
        yield dict(USUBJID=S.usubjid, AETERM=ae["verbatim"], AELLTCD=code, AEDECOD=ae["term"],
                   AEBODSYS=soc, AESEV="MILD" if g == 1 else ("MODERATE" if g == 2 else "SEVERE"),
                   AESER=ae["ser"], AEACN=ae["acn"], AEREL=rel, AEOUT=ae["out"], AETOXGR=g,
                   AESTDTC=month(start) if ae["partial"] else start,
                   AEENDTC=None if ae["end"] is None else S.d0 + ae["end"],
                   _sort=(start, ae["term"], ae["end"] if ae["end"] is not None else NEVER),
                   _supp=(ae["relh1"], ae["relpd"], ae["ir"]))


def suppae_frame(ae: pd.DataFrame) -> pd.DataFrame:
    """SUPPAE: relationship to each study drug and the immune-related flag, per AESEQ."""
    labels = {"AERELH1": "Relationship to H101", "AERELPD": "Relationship to PD-1 Inhibitor",
              "AEIRFL": "Immune-related AE Flag"}
    rows = []
    for uid, seq, supp in zip(ae["USUBJID"], ae["AESEQ"], ae["_supp"]):
        for qnam, val in zip(("AERELH1", "AERELPD", "AEIRFL"), supp):
            rows.append(dict(RDOMAIN="AE", USUBJID=uid, IDVAR="AESEQ", IDVARVAL=str(seq),
                             QNAM=qnam, QLABEL=labels[qnam], QVAL=val, QORIG="CRF", QEVAL="",
                             _sort=(int(seq), qnam)))
    df = frame("suppae", rows)
    df = df.sort_values(["USUBJID", "_s0", "_s1"], kind="stable")
    return df[COLUMNS["suppae"]].reset_index(drop=True)
