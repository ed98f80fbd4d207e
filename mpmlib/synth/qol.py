"""Quality of life in the synthetic trial (QS): the EORTC QLQ-C30 version 3.0, 30 items.

Administered at baseline, at every tumour assessment up to the first PD and at the end-of-treatment
visit. A latent QoL level (baseline by ECOG, better with tumour shrinkage, worse after progression
and near death) drives the items; item means reflect MPM (assumption; docs/synthetic-trial.md §7,
scoring rules in docs/efficacy-methods.md). Compliance 95 % at baseline falling to a 70 % floor;
1.5 % item non-response; a missed questionnaire is one ``QSTESTCD = QSALL`` record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpmlib.synth.course import relative_size
from mpmlib.synth.draws import choice, uint
from mpmlib.synth.study import STUDYID, V_BASELINE, V_EOT, visit_week

QS_COMPLIANCE = (0.95, 0.04, 0.70, 0.75)  # baseline, drop per visit, floor, end of treatment
P_ITEM_MISSING = 0.015

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


def _qol_latent(S, t: int, progressed: bool) -> float:
    """Latent QoL at day ``t``: baseline level (ECOG) + tumour shrinkage benefit − progression
    and end-of-life decline + visit noise."""
    r = relative_size(S, max(t, 0))
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
    reason = choice(rng, *QS_REASND)
    if not done:
        S.qs.append((visit, t, None, reason))
        return
    y = np.clip(np.rint(QS_MU - QS_LOAD * q + noise), 0, 3).astype(int) + 1
    g = np.clip(np.rint(4.6 + 1.2 * q + gnoise), 1, 7).astype(int)
    scores = np.concatenate([y, g])
    scores[miss] = 0
    S.qs.append((visit, t, scores, None))


def sim_qs(S) -> None:
    """QLQ-C30 at baseline (day -7..1), at each tumour assessment up to and including the first
    PD, and at the end-of-treatment visit. Compliance 95 % at baseline, falling by 4 points per
    visit to a 70 % floor (75 % at end of treatment)."""
    rng = S.rng
    S.q0 = 0.35 * (S.ecog == 0) - 0.15 + rng.normal(0, 0.55)
    p0, drop, floor, p_eot = QS_COMPLIANCE
    t_bl = uint(rng, max(S.consent - S.d0, -7), 0)
    S.qs_bl_t = t_bl
    _add_questionnaire(S, V_BASELINE, t_bl, _qol_latent(S, 0, False), p0)
    last = len(S.scans) if S.first_pd is None else S.first_pd + 1
    for j, sc in enumerate(S.scans[:last]):
        t = min(sc["t"] + choice(rng, [0, 1, 2], [0.7, 0.2, 0.1]), S.last_ok)
        sc["qs_t"] = t
        q = _qol_latent(S, t, sc["ovr"] == "PD")
        _add_questionnaire(S, visit_week(sc["week"]), t, q, max(floor, p0 - drop * (j + 1)))
    if S.t_eotv is not None:
        progressed = S.first_pd is not None and S.scans[S.first_pd]["t"] <= S.t_eotv
        _add_questionnaire(S, V_EOT, S.t_eotv, _qol_latent(S, S.t_eotv, progressed), p_eot)


def qs_frame(subjects) -> pd.DataFrame:
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
