"""Latent disease course of a treated subject: progression, tumour-size curve, death and drop-out.

Parameters (docs/synthetic-trial.md §4-§5) were calibrated by simulation to the targets of issue 2
(confirmed ORR 20-30 %, DCR 45-60 %, median PFS 4-6 months, median OS 10-14 months; benchmarks
CheckMate 743, CONFIRM, PROMISE-meso, MAPS2 and H101 + nivolumab in HCC, §8). Hazards of death
before progression, withdrawal, loss to follow-up and physician decision are assumptions.
Nothing here writes a record: the draws set the subject's latent times, which
:mod:`mpmlib.synth.tumours`, :mod:`mpmlib.synth.exposure`, :mod:`mpmlib.synth.disposition` and
:mod:`mpmlib.synth.qol` turn into SDTM.
"""

from __future__ import annotations

import math

from mpmlib.synth.draws import choice, logistic, uint
from mpmlib.synth.study import NEVER

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
NEW_LESION_SITES = (["LIVER", "BONE", "LUNG", "ABDOMINAL LYMPH NODE", "PERITONEUM",
                     "ADRENAL GLAND", "BRAIN"], [0.18, 0.18, 0.22, 0.14, 0.16, 0.08, 0.04])

EARLY_EVENTS = (["NONE", "DEATH", "WITHDRAWAL", "DETERIORATION"], [0.93, 0.025, 0.025, 0.02])
EARLY_EVENT_DAYS = (5, 36)
HAZ_DEATH_PRE_PD = 0.00025  # per day, before progression
PPS_WEIBULL = (1.1, math.log(205.0), 0.25)  # shape, log median (days), effect of z
HAZ_WITHDRAWAL = 0.00005  # study withdrawal, per day
HAZ_LTFU = 0.00015  # lost to follow-up after end of treatment, per day
HAZ_PHYSICIAN = 0.00015  # treatment stopped by physician decision, per day
HAZ_TX_WITHDRAWAL = 0.0002  # subject stops treatment but stays in follow-up, per day


def draw_latent(S) -> None:
    """Latent progression, tumour-size curve, deaths and drop-out times (days from first dose).

    * Early events before the first scan (~7 %): death, withdrawal, clinical deterioration.
    * Two-class progression: early progressors (P = logistic(a + b z), progression day
      uniform 12-45) and a benefit class with log-normal time to progression.
    * Relative tumour size ``r(t) = delta + (1 - delta) exp(-t / tau)`` up to ``t_g``, then
      exponential regrowth at rate ``g``. For PD by target growth, ``t_g`` is set so that ``r``
      is 1.3 x its plateau at the latent progression day.
    * Death = min(pre-progression death, progression + Weibull post-progression survival).

    The draws are made in a fixed order (progression and tumour curve, then death and drop-out
    times, then the candidates for the trial-level specials), so the subject's stream is
    unchanged whichever of them a subject ends up using.
    """
    _draw_progression(S)
    pps, t_pre = _draw_exit_times(S)
    _resolve_early_events(S, pps, t_pre)
    # candidates for trial-level specials (always drawn, so streams stay aligned)
    rng = S.rng
    S.window_offsets = (uint(rng, 30, 37), uint(rng, 5, 20), uint(rng, 38, 45),
                        uint(rng, 5, 20))
    S.fatal_u = float(rng.random())


def _draw_progression(S) -> None:
    """Early event, progression class and day, tumour-size curve, how progression shows and the
    sites of new lesions."""
    rng = S.rng
    S.early = choice(rng, *EARLY_EVENTS)
    S.early_t = uint(rng, *EARLY_EVENT_DAYS)
    fast = rng.random() < logistic(FAST_LOGIT[0] + FAST_LOGIT[1] * S.z)
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
    if S.deep:  # block-assigned near-complete responder (see trial.DEEP_BLOCK)
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
    S.mode = choice(rng, modes, probs)
    if S.mode == "NONTARGET" and not has_nt:
        S.mode = "NEW"
    if S.mode == "TARGET":
        S.t_g = S.t_prog - math.log(1.3) / S.g
        if S.t_g < 0:
            S.t_g, S.g = 0.0, max(S.g, math.log(1.3) / S.t_prog)
    else:
        S.t_g, S.g = S.t_prog, 0.0015
    S.n_new = 1 if rng.random() < 0.7 else 2
    S.new_locs = [choice(rng, *NEW_LESION_SITES) for _ in range(S.n_new)]


def _draw_exit_times(S) -> tuple[float, float]:
    """Latent drop-out times (withdrawal, physician decision, treatment withdrawal, loss to
    follow-up gap) on ``S``; returns the post-progression survival and the pre-progression death
    time, which :func:`_resolve_early_events` combines into the death day."""
    rng = S.rng
    shape, logmed, bz = PPS_WEIBULL
    pps = math.exp(logmed + bz * S.z) * (rng.weibull(shape) / math.log(2) ** (1 / shape))
    t_pre = rng.exponential(1 / HAZ_DEATH_PRE_PD)
    S.t_withdraw = int(1 + rng.exponential(1 / HAZ_WITHDRAWAL))
    S.t_phys = int(1 + rng.exponential(1 / HAZ_PHYSICIAN))
    S.t_txwd = int(1 + rng.exponential(1 / HAZ_TX_WITHDRAWAL))
    S.ltfu_gap = int(1 + rng.exponential(1 / HAZ_LTFU))
    return pps, t_pre


def _resolve_early_events(S, pps: float, t_pre: float) -> None:
    """Death day and primary cause of death, after the early events (no draws).

    Early death: cause UNKNOWN; early withdrawal: death at progression + post-progression
    survival; clinical deterioration: no scans, progression on that day and a shortened survival;
    otherwise the first of pre-progression death (CARDIAC ARREST) and progression + survival.
    """
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
        S.t_death = int(min(t_pre if not S.deep else NEVER, S.t_prog + pps)) + 1
        S.death_cause = "CARDIAC ARREST" if pre_pd else "DISEASE PROGRESSION"


def relative_size(S, t: float) -> float:
    """Latent relative tumour size at day ``t`` (1 = baseline)."""
    tt = min(t, S.t_g)
    r = S.delta + (1 - S.delta) * math.exp(-tt / S.tau)
    if t > S.t_g:
        r *= math.exp(S.g * (t - S.t_g))
    return r
