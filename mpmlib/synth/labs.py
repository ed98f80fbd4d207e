"""Laboratory values of the synthetic trial (LB): neutrophils, lymphocytes, albumin and LDH.

Per subject a level ``log m = log median + effect * z + N(0, sd)`` (high NLR, low albumin and high
LDH go with less benefit, as published for MPM; sizes are assumptions), per sample
``log x = log m + N(0, 0.12)``. Neutrophil and lymphocyte medians give a baseline NLR median of
about 3.8 with about 30 % of subjects at NLR >= 5 (Kao et al., Clin Cancer Res 2010;16:5805-13:
42 % of 173 MM patients). Samples lie only on days that are contacts in other domains
(docs/synthetic-trial.md §7a). LB has a random stream of its own (:mod:`mpmlib.synth.trial`),
so adding or changing LB moves no draw of any other domain.
"""

from __future__ import annotations

import math

import numpy as np

from mpmlib.synth.frames import fmt_number
from mpmlib.synth.study import V_BASELINE, visit_cycle

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


def _lab_samples(S) -> list[tuple[tuple[str, int], int, str]]:
    """Blood samples of an enrolled subject as ``(visit, day number, epoch)``, all on days that
    are already contacts in other domains (so LB never moves a last-alive date): the baseline
    visit (the baseline scan day), cycle 1 day 1 before the first dose (drawn later), and day 1
    of cycles 2-4 before that cycle's toripalimab dose."""
    out = [(V_BASELINE, S.d0 + S.t_base, "SCREENING")]
    if S.treated:
        for t, c, d, drug in S.doses:
            if d == 1 and drug == "TORIPALIMAB" and (c == 1 or c in LAB_CYCLES):
                out.append((visit_cycle(c, d), S.d0 + t, "TREATMENT"))
    return out


def sim_labs(S, rng) -> None:
    """LB records: NEUT, LYM, ALB, LDH per sample (parameters :data:`LAB_TESTS`).

    Subject level ``log m = log median + effect * z + N(0, sd)`` (high NLR, low albumin and high
    LDH go with less benefit, as published for MPM); each sample ``log x = log m + N(0, 0.12)``,
    rounded to the test's decimals; 2 % of results NOT DONE. ``LBBLFL = Y`` on the last
    non-missing result on or before the first dose (SDTMIG 3.3). ``rng`` is the subject's own
    LB generator (``[seed, 7, k]``, made in :mod:`mpmlib.synth.trial`).
    """
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


def rows_lb(S):
    """LB rows in the standard units, with reference ranges and LBNRIND LOW / NORMAL / HIGH."""
    for r in S.labs:
        name, cat, spec_, unit, _m, _sd, _b, (lo, hi), _dec = LAB_TESTS[r["code"]]
        v = r["value"]
        text = "" if v is None else fmt_number(v)
        ind = "" if v is None else ("LOW" if v < lo else ("HIGH" if v > hi else "NORMAL"))
        yield dict(USUBJID=S.usubjid, LBTESTCD=r["code"], LBTEST=name, LBCAT=cat, LBORRES=text,
                   LBORRESU=unit, LBORNRLO=fmt_number(lo), LBORNRHI=fmt_number(hi), LBSTRESC=text,
                   LBSTRESN=np.nan if v is None else v, LBSTRESU=unit, LBSTNRLO=lo, LBSTNRHI=hi,
                   LBNRIND=ind, LBSTAT="" if v is not None else "NOT DONE",
                   LBREASND="" if v is not None else "SAMPLE NOT RECEIVED", LBSPEC=spec_,
                   LBBLFL=r["blfl"], VISITNUM=r["visit"][1], VISIT=r["visit"][0], EPOCH=r["epoch"],
                   LBDTC=r["day"], _sort=(r["day"], r["visit"][1], r["order"]))
