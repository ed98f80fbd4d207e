"""Study treatment of the synthetic trial (EX): H101 route, dosing schedule and end of treatment.

Protocol per the design of issue 2 (docs/synthetic-trial.md §3): toripalimab 240 mg IV on day 1
of every 21-day cycle for up to 2 years; H101 1.0E12 VP on days 1 and 3 of cycles 1-4,
intratumoral or intrapleural (non-measurable subjects always intrapleural). Dose delays (78 % on
time) and 2 % skipped cycles are assumptions; an interrupting immune-related AE postpones the next
cycle until 1-3 days after it ends.
"""

from __future__ import annotations

from mpmlib.synth.draws import choice, uint
from mpmlib.synth.study import visit_cycle

P_INTRAPLEURAL_MEASURABLE = 0.34  # non-measurable subjects always get intrapleural H101

# Treatment (protocol per the design spec (issue 2))
CYCLE_DAYS = 21
H101_CYCLES = 4
MAX_TREATMENT_DAYS = 730  # 2 years of toripalimab
DELAYS = ([-2, -1, 0, 1, 2, 3, 4, 5, 7], [0.01, 0.02, 0.78, 0.06, 0.04, 0.03, 0.02, 0.02, 0.02])
P_SKIP_CYCLE = 0.02
H101_DOSE, TORI_DOSE = 1.0e12, 240


def draw_route(S) -> None:
    """H101 route, fixed per subject: intrapleural for every non-measurable subject and for 34 %
    of measurable ones (about 40 % overall), otherwise intratumoral (CT-guided)."""
    rng = S.rng
    S.route = "INTRAPLEURAL" if (not S.measurable or rng.random() < P_INTRAPLEURAL_MEASURABLE) \
        else "INTRATUMOR"


def sim_treatment(S) -> None:
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
        nxt = t + CYCLE_DAYS + choice(rng, *DELAYS)
        c += 1
        if rng.random() < P_SKIP_CYCLE:
            nxt += CYCLE_DAYS
            c += 1
        for ev in S.ir:
            if ev["interrupt"] and ev["start"] <= nxt <= ev["end"] and ev["start"] < t_stop:
                nxt = max(nxt, min(ev["end"], ev["start"] + 42) + uint(rng, 1, 3))
                ev["delayed"] = True
        t = nxt
    S.ongoing = t_stop > S.cut_t
    S.t_stop, S.eot_reason = (None, None) if S.ongoing else (t_stop, reason)
    S.last_dose = max(d[0] for d in S.doses)
    S.last_h101 = max(d[0] for d in S.doses if d[3] == "H101")
    S.last_pd1 = max(d[0] for d in S.doses if d[3] == "TORIPALIMAB")


def rows_ex(S):
    """EX rows: one per administration (``EXSTDTC = EXENDTC``), H101 before toripalimab on a day."""
    for t, c, d, drug in S.doses:
        visit, vnum = visit_cycle(c, d)
        h = drug == "H101"
        yield dict(USUBJID=S.usubjid, EXTRT=drug, EXDOSE=H101_DOSE if h else TORI_DOSE,
                   EXDOSU="VP" if h else "mg", EXDOSFRM="INJECTION" if h else "SOLUTION",
                   EXDOSFRQ="ONCE", EXROUTE=S.route if h else "INTRAVENOUS", VISITNUM=vnum,
                   VISIT=visit, EPOCH="TREATMENT", EXSTDTC=S.d0 + t, EXENDTC=S.d0 + t,
                   _sort=(t, 0 if h else 1))
