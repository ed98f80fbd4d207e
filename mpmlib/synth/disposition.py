"""Disposition, follow-up and deaths of the synthetic trial (DS, DD, SV).

Exit from the study (withdrawal, loss to follow-up after end of treatment, hazards in
:mod:`mpmlib.synth.course`), the end-of-treatment visit 3-14 days after the decision, survival
follow-up every 84 ± 7 days and a survival sweep in the 8 weeks before the cutoff
(docs/synthetic-trial.md §5). DS milestones and disposition events, DD primary cause of death
(SDTMIG 3.3 Death Details; the cause follows from the hazard the death came from, with no draw of
its own), SV visits spanning their procedures, and the one partial death date (§9).
"""

from __future__ import annotations

import numpy as np

from mpmlib.synth.draws import uint
from mpmlib.synth.study import (NEVER, V_BASELINE, V_EOT, V_SCREENING, first_of_month, month, visit_cycle,
                                visit_fu, visit_week)

FU_INTERVAL, FU_WINDOW = 84, 7
SWEEP_WEEKS = 8


def sim_exit(S) -> None:
    """Loss to follow-up (after end of treatment), death observation and the observation end.

    ``S.last_ok`` is the last day on which an ordinary record may lie: the day before death,
    the day before leaving the study, or the cutoff.
    """
    t_ltfu = (S.t_stop + S.ltfu_gap) if S.t_stop is not None and S.eot_reason != "DEATH" \
        else NEVER
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


def sim_followup_visits(S) -> None:
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
    tv = S.t_stop + uint(rng, 3, 14)
    if tv <= S.last_ok:
        S.t_eotv = tv
    t = S.t_stop
    while True:
        t += FU_INTERVAL + uint(rng, -FU_WINDOW, FU_WINDOW)
        if t > S.last_ok:
            break
        S.fu.append(t)
    if not S.death_obs and not S.exit_obs:
        last = max([S.t_stop, S.t_eotv or 0] + S.fu + [s["t"] for s in S.scans])
        lo = max(last + 1, S.cut_t - 7 * SWEEP_WEEKS + 1)
        if last < S.cut_t - 7 * SWEEP_WEEKS and lo <= S.cut_t:
            S.fu.append(uint(rng, lo, S.cut_t))


def sim_disposition(S) -> None:
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


def apply_partial_death_date(subjects) -> None:
    """Exactly one partial death date (``YYYY-MM``): the lowest-index subject who died in
    follow-up with every other record before the first day of the death month."""
    for S in subjects:
        if S.treated and S.death_obs and S.eot_reason != "DEATH" and \
                _subject_max_day(S) < first_of_month(S.d0 + S.t_death):
            S.death_partial = True
            return


def rows_ds(S):
    """DS rows; the death record carries the partial date (``YYYY-MM``) of the one subject chosen
    by :func:`apply_partial_death_date`."""
    for r in S.rec["ds"]:
        day = r["day"]
        dtc = month(day) if (r.get("death") and S.death_partial) else day
        yield dict(USUBJID=S.usubjid, DSTERM=r["term"], DSDECOD=r["decod"], DSCAT=r["cat"],
                   DSSCAT=r["scat"], EPOCH=r["epoch"], DSSTDTC=dtc, _sort=(day, r["order"]))


def rows_dd(S):
    """DD (SDTMIG 3.3 Death Details): the primary cause of death (DDTESTCD PRCDTH) of every
    observed death, dated as the DS death record."""
    for r in S.rec["ds"]:
        if r.get("death"):
            dtc = month(r["day"]) if S.death_partial else r["day"]
            yield dict(USUBJID=S.usubjid, DDTESTCD="PRCDTH", DDTEST="Primary Cause of Death",
                       DDORRES=getattr(S, "death_cause", "UNKNOWN"), DDSTRESC=getattr(S, "death_cause", "UNKNOWN"),
                       DDDTC=dtc, _sort=(r["day"],))


def rows_sv(S):
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
            add(visit_cycle(c, d), S.d0 + t)
        for sc in S.scans:
            add(visit_week(sc["week"]), S.d0 + sc["t"])
            if "qs_t" in sc:
                add(visit_week(sc["week"]), S.d0 + sc["qs_t"])
        if S.t_eotv is not None:
            add(V_EOT, S.d0 + S.t_eotv)
        for k, t in enumerate(sorted(S.fu), start=1):
            add(visit_fu(k), S.d0 + t)
    return [dict(USUBJID=S.usubjid, VISITNUM=v[1], VISIT=v[0], SVSTDTC=min(days),
                 SVENDTC=max(days)) for v, days in spans.items()]
