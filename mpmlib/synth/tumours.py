"""Tumour assessments of the synthetic trial (TU, TR, RS): lesions, scans and RECIST 1.1 responses.

Baseline lesions follow RECIST 1.1 measurability (§3.1.1; thresholds shared from
:mod:`mpmlib.derive.recist`); sites, counts and sizes are assumptions for pleural mesothelioma
(docs/synthetic-trial.md §4). Scans every 42 ± 4 days; measurements come from the latent
relative tumour size of :mod:`mpmlib.synth.course` with 4 % measurement noise. RS is never
drawn: every time point's responses are computed from the rounded TR values with
:func:`target_response`, :func:`nontarget_response` and :func:`overall_response` (RECIST 1.1
§4.3 and Tables 1-2; docs/efficacy-methods.md), so RS and TR always agree; the tests
re-implement the rules independently.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from mpmlib.derive.recist import (MEASURABLE_MIN_MM, NODE_MEASURABLE_MIN_MM, NODE_NORMAL_BELOW_MM,
                                  PD_MIN_INCREASE_MM, PD_MIN_INCREASE_PCT, PR_MIN_DECREASE_PCT,
                                  TOO_SMALL_TO_MEASURE_MM)
from mpmlib.synth.course import relative_size
from mpmlib.synth.draws import choice, uint
from mpmlib.synth.exposure import MAX_TREATMENT_DAYS
from mpmlib.synth.study import NEVER, V_BASELINE, visit_week

P_NON_MEASURABLE = 0.10
TARGET_SITES = [("PLEURA", False, 5.0), ("LUNG", False, 2.0), ("CHEST WALL", False, 1.2),
                ("MEDIASTINAL LYMPH NODE", True, 1.8), ("DIAPHRAGM", False, 0.8),
                ("PERITONEUM", False, 0.6), ("PERICARDIUM", False, 0.3)]
NONTARGET_SITES = (["PLEURAL CAVITY", "PLEURA", "LUNG", "MEDIASTINAL LYMPH NODE",
                    "PERICARDIUM", "PERITONEAL CAVITY"], [0.35, 0.30, 0.12, 0.12, 0.05, 0.06])
RS_TESTS = [("TRGRESP", "Target Response"), ("NTRGRESP", "Non-target Response"),
            ("NEWLPROG", "New Lesion Progression"), ("OVRLRESP", "Overall Response")]
TR_TESTS = {"LDIAM": "Longest Diameter", "SAXIS": "Short Axis", "SUMDIAM": "Sum of Diameter",
            "TUMSTATE": "Tumor State"}
# Scans on day 42·k ± 4 after the first dose (WEEK 6k)
SCAN_INTERVAL, SCAN_WINDOW = 42, 4
P_TBP = 0.15  # treatment beyond progression (if on treatment, PD by target or new lesion)
P_EXTRA_SCAN_AFTER_PD = 0.05
P_MISSED_SCAN = 0.02
P_NE_SCAN = 0.005  # one target lesion not measured at a scan (plus NE_BLOCK)
MEAS_CV = 0.04  # lesion measurement noise, coefficient of variation
MAX_LESION_MM = 200.0  # plausibility cap on one lesion's diameter (uncapped growth reached 530 mm at n=10000)


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

    Integer arithmetic (``100 * (sum - nadir) >= 20 * nadir``; thresholds from
    :mod:`mpmlib.derive.recist`) avoids floating-point edge errors.
    Returns ``(response, sum or None)``.
    """
    measured = [s for s in sizes if s is not None]
    total = sum(measured)
    is_pd = (100 * (total - nadir) >= PD_MIN_INCREASE_PCT * nadir
             and total - nadir >= PD_MIN_INCREASE_MM)
    if len(measured) < len(sizes):
        return ("PD" if is_pd else "NE"), None
    if is_pd:
        return "PD", total
    if all((s < NODE_NORMAL_BELOW_MM) if node else (s == 0) for s, node in zip(sizes, is_node)):
        return "CR", total
    if 100 * (baseline_sum - total) >= PR_MIN_DECREASE_PCT * baseline_sum:
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
# Lesions, measurements and scans
# =============================================================================================
def draw_lesions(S) -> None:
    """Baseline lesions: 1-5 targets (≤ 2 per organ) or none (non-measurable), 0-3 non-targets.

    Non-nodal target longest diameter 10-70 mm, nodal target short axis 15-40 mm (RECIST 1.1
    §3.1.1 measurability: ≥ 10 mm on CT, nodes ≥ 15 mm short axis).
    """
    rng = S.rng
    S.measurable = rng.random() >= P_NON_MEASURABLE
    S.targets = []  # dicts: loc, node, base, a (heterogeneity exponent)
    if S.measurable:
        n_t = choice(rng, [1, 2, 3, 4, 5], [0.15, 0.30, 0.30, 0.15, 0.10])
        counts: dict[str, int] = defaultdict(int)
        for _ in range(n_t):
            opts = [s for s in TARGET_SITES if counts[s[0]] < 2]
            w = np.array([s[2] for s in opts])
            loc, node, _w = opts[int(rng.choice(len(opts), p=w / w.sum()))]
            counts[loc] += 1
            if node:
                base = int(np.clip(round(math.exp(rng.normal(math.log(19), 0.2))),
                                   NODE_MEASURABLE_MIN_MM, 40))
            else:
                base = int(np.clip(round(math.exp(rng.normal(math.log(24), 0.45))),
                                   MEASURABLE_MIN_MM, 70))
            S.targets.append(dict(loc=loc, node=node, base=base,
                                  a=float(math.exp(rng.normal(0, 0.15)))))
        n_nt = choice(rng, [0, 1, 2, 3], [0.25, 0.40, 0.25, 0.10])
    else:
        n_nt = choice(rng, [1, 2, 3], [0.50, 0.35, 0.15])
    S.nontargets = [dict(loc=choice(rng, *NONTARGET_SITES),
                         theta=float(rng.uniform(0.10, 0.40))) for _ in range(n_nt)]


def _measure(S, t: float, ne: bool):
    """Rounded target measurements (mm) at day ``t``; ``ne`` leaves one lesion unmeasured.

    Non-nodal lesions < 2.5 mm are recorded as 0 (disappeared), 2.5-5 mm as 5 ("too small to
    measure", RECIST 1.1 §3.2); nodes are never below 4 mm; no lesion exceeds MAX_LESION_MM.
    """
    rng = S.rng
    r = relative_size(S, t)
    sizes = []
    for L in S.targets:
        s = min(L["base"] * r ** L["a"] * (1 + MEAS_CV * rng.normal()), MAX_LESION_MM)
        if L["node"]:
            sizes.append(max(4, int(round(s))))
        else:
            sizes.append(0 if s < 2.5 else (TOO_SMALL_TO_MEASURE_MM if s < TOO_SMALL_TO_MEASURE_MM
                                            else int(round(s))))
    if ne and sizes:
        sizes[int(rng.integers(len(sizes)))] = None
    return sizes


def sim_scans(S) -> None:
    """Baseline scan plus scans every 42 ± 4 days until PD, death, withdrawal or cutoff.

    After the first PD, scanning stops except for subjects treated beyond progression (one more
    scan, ~15 %) and an occasional extra scan (~5 %). Every time point's RS values are computed
    from its TR values (RECIST 1.1).
    """
    rng = S.rng
    S.t_base = -uint(rng, 1, S.d0 - S.consent)
    base = [L["base"] for L in S.targets]
    S.scans = []
    S.first_pd = None
    S.t_pd_stop = NEVER
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
        t = SCAN_INTERVAL * k + uint(rng, -SCAN_WINDOW, SCAN_WINDOW)
        if t >= limit or (extra_left is not None and extra_left == 0):
            break
        if k > 1 and rng.random() < P_MISSED_SCAN:
            continue
        ne = S.measurable and (rng.random() < P_NE_SCAN or (S.force_ne and not S.scans))
        sizes = _measure(S, t, ne)
        min_r = min(min_r, relative_size(S, t))
        nt_states = ["ABSENT" if min_r < L["theta"] else "PRESENT" for L in S.nontargets]
        if S.mode == "NONTARGET" and t >= S.t_prog:
            nt_states[0] = "UNEQUIVOCAL PROGRESSION"
        if S.mode == "NEW" and t >= S.t_prog and new_seen_at is None:
            new_seen_at = len(S.scans)
        new = new_seen_at is not None
        trg, sumd, ntrg, ovr = _time_point_response(S, sizes, nt_states, new, base_sum, nadir)
        if sumd is not None:
            nadir = min(nadir, sumd)
        S.scans.append(dict(t=t, week=6 * k, sizes=sizes, sum=sumd, nt=nt_states, new=new,
                            new_first=(new_seen_at == len(S.scans)), trg=trg, ntrg=ntrg, ovr=ovr))
        if extra_left is not None:
            extra_left -= 1
        elif ovr == "PD":
            extra_left = _first_pd(S, t)
    if S.first_pd is not None and S.tbp and len(S.scans) > S.first_pd + 1:
        S.t_pd_stop = S.scans[S.first_pd + 1]["t"]


def _time_point_response(S, sizes, nt_states, new: bool, base_sum: int, nadir: int):
    """``(TRGRESP, sum of diameters, NTRGRESP, OVRLRESP)`` of one time point, computed from its TR
    values with RECIST 1.1 (``None`` for the parts a subject has no lesions for)."""
    if S.targets:
        trg, sumd = target_response(sizes, [L["node"] for L in S.targets], base_sum, nadir)
    else:
        trg, sumd = None, None
    ntrg = nontarget_response(nt_states)
    return trg, sumd, ntrg, overall_response(trg, ntrg, new)


def _first_pd(S, t: int) -> int:
    """At the first PD (day ``t``): treatment beyond progression (~15 % of those still on
    treatment with PD by target growth or a new lesion) or an occasional extra scan (~5 %).
    Returns how many more scans are made (0 or 1)."""
    rng = S.rng
    S.first_pd = len(S.scans) - 1
    on_tx = t < min(S.t_phys, S.t_txwd, S.t_ae_stop, MAX_TREATMENT_DAYS)
    S.tbp = on_tx and S.mode in ("TARGET", "NEW") and rng.random() < P_TBP
    extra = S.tbp or rng.random() < P_EXTRA_SCAN_AFTER_PD
    S.t_pd_stop = t
    return 1 if extra else 0


# =============================================================================================
# TU, TR and RS rows
# =============================================================================================
def rows_tumour(S):
    """TU, TR and RS rows for baseline and every scan."""
    t_ids = [f"T{j + 1:02d}" for j in range(len(S.targets))]
    nt_ids = [f"NT{j + 1:02d}" for j in range(len(S.nontargets))]
    tu, tr, rs = _rows_tu_baseline(S, t_ids, nt_ids), [], []
    baseline = dict(sizes=[L["base"] for L in S.targets], sum=sum(L["base"] for L in S.targets),
                    nt=["PRESENT"] * len(S.nontargets), new=False, new_first=False)
    visits = [(V_BASELINE, S.t_base, baseline, True)]
    visits += [(visit_week(sc["week"]), sc["t"], sc, False) for sc in S.scans]
    for visit, t, sc, is_base in visits:
        tu_new, tr_visit = _rows_tr_visit(S, visit, S.d0 + t, sc, t_ids, nt_ids)
        tu += tu_new
        tr += tr_visit
        if not is_base:
            rs += _rows_rs_visit(S, visit, S.d0 + t, sc)
    return tu, tr, rs


def _rows_tu_baseline(S, t_ids, nt_ids) -> list[dict]:
    """TU identification of the target and non-target lesions at the baseline scan."""
    uid, bday = S.usubjid, S.d0 + S.t_base
    tu = []
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
    return tu


def _rows_tr_visit(S, visit_id, day: int, sc: dict, t_ids, nt_ids) -> tuple[list[dict], list[dict]]:
    """TR rows of one scan (target measurements, sum of diameters, non-target states, new
    lesions) and the TU identification of new lesions at the scan that first shows them.
    ``visit_id`` is ``(VISIT, VISITNUM)``."""
    (visit, vnum), uid = visit_id, S.usubjid
    common = dict(USUBJID=uid, TRMETHOD="CT SCAN", TREVAL="INVESTIGATOR")
    vd = dict(VISITNUM=vnum, VISIT=visit, TRDTC=day)
    tu, tr = [], []
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
    return tu, tr


def _rows_rs_visit(S, visit_id, day: int, sc: dict) -> list[dict]:
    """RS rows of one post-baseline scan (RSCAT RECIST 1.1, investigator), from the responses
    computed in :func:`sim_scans`; a response a subject has no lesions for is omitted."""
    visit, vnum = visit_id
    vals = {"TRGRESP": sc["trg"], "NTRGRESP": sc["ntrg"],
            "NEWLPROG": "Y" if sc["new"] else "N", "OVRLRESP": sc["ovr"]}
    rs = []
    for j, (code, label) in enumerate(RS_TESTS):
        if vals[code] is None:
            continue
        rs.append(dict(USUBJID=S.usubjid, RSTESTCD=code, RSTEST=label, RSCAT="RECIST 1.1",
                       RSORRES=vals[code], RSSTRESC=vals[code], RSEVAL="INVESTIGATOR",
                       RSACPTFL="Y", VISITNUM=vnum, VISIT=visit, RSDTC=day, _sort=(day, j)))
    return rs
