"""Synthetic SDTM data for the single-arm phase 2 trial H101 + toripalimab in PD-1-resistant MPM.

The generator writes the SDTM shape described in ``docs/data-spec.md``. The model, every
parameter and its published source are in ``docs/synthetic-trial.md``. This module runs the
trial: it owns the random streams, decides who is screened, enrolled and dosed, runs each
subject's simulation in a fixed order, applies the trial-level specials and assembles and writes
the domains. What is simulated lives in one module per subject matter:

==================================  =============================================================
:mod:`mpmlib.synth.subjects`        site, demographics, baseline covariates, screen failures (DM, SUPPDM)
:mod:`mpmlib.synth.course`          latent disease course: benefit class, progression, tumour-size
                                    curve, death and drop-out times
:mod:`mpmlib.synth.tumours`         lesions, scans and RECIST 1.1 responses (TU, TR, RS)
:mod:`mpmlib.synth.exposure`        H101 route, dosing schedule, end of treatment (EX)
:mod:`mpmlib.synth.adverse_events`  H101, PD-1-related and disease-related AEs, CTCAE v5.0 (AE, SUPPAE)
:mod:`mpmlib.synth.qol`             EORTC QLQ-C30 (QS)
:mod:`mpmlib.synth.labs`            neutrophils, lymphocytes, albumin, LDH (LB)
:mod:`mpmlib.synth.therapy`         prior, subsequent and concomitant therapy (CM)
:mod:`mpmlib.synth.disposition`     exit, follow-up contacts, disposition, deaths (DS, DD, SV)
:mod:`mpmlib.synth.study`           identifiers, data cutoff, day numbers, visit names
:mod:`mpmlib.synth.draws`           draw helpers over one numpy Generator
:mod:`mpmlib.synth.frames`          record dicts to SDTM DataFrames (column order, --SEQ, --DY)
==================================  =============================================================

In outline:

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
  then *computed* from the rounded TR measurements with RECIST 1.1
  (:func:`mpmlib.synth.tumours.target_response` and its siblings), so RS and TR always agree.
* Dates are handled as integer day numbers (days since 1970-01-01) and written as ISO 8601.
  ``t`` denotes days since the first dose (study day 1 is ``t = 0``).

The order of the calls below is the order of the draws: changing it changes the data (the
tests compare ``data/demo`` with a fresh ``mpm synth --n 40 --seed 20261124`` byte for byte).

Public API (also importable from :mod:`mpmlib.synth`): :data:`STUDYID`, :data:`DATA_CUTOFF`,
:func:`generate_trial`, :func:`write_sdtm_csv`.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from mpmlib.synth.adverse_events import (ae_treatment_stop, apply_fatal_ae, apply_partial_ae_dates,
                                         apply_window_aes, draw_ir_candidates, rows_ae, sim_aes,
                                         suppae_frame)
from mpmlib.synth.course import draw_latent
from mpmlib.synth.disposition import (apply_partial_death_date, rows_dd, rows_ds, rows_sv,
                                      sim_disposition, sim_exit, sim_followup_visits)
from mpmlib.synth.draws import uint
from mpmlib.synth.exposure import draw_route, rows_ex, sim_treatment
from mpmlib.synth.frames import COLUMNS, DOMAINS, DY_VARS, SORT_KEYS, finish, fmt_number, frame, typed
from mpmlib.synth.labs import rows_lb, sim_labs
from mpmlib.synth.qol import qs_frame, sim_qs
from mpmlib.synth.study import DATA_CUTOFF, STUDYID
from mpmlib.synth.subjects import (assign_ids, draw_covariates, draw_dates, draw_screen_failure,
                                   new_subject, records_dm)
from mpmlib.synth.therapy import rows_cm, sim_post_therapy, sim_prior_therapy
from mpmlib.synth.tumours import draw_lesions, rows_tumour, sim_scans

__all__ = ["DATA_CUTOFF", "DOMAINS", "DY_VARS", "STUDYID", "generate_trial", "write_sdtm_csv"]

# =============================================================================================
# Random streams: distinct tags after the seed, so streams never collide
# =============================================================================================
_TAG_ENROLLED, _TAG_SCRNFAIL, _TAG_SF_BLOCK, _TAG_NT_BLOCK, _TAG_NE_BLOCK, _TAG_DEEP_BLOCK = \
    1, 2, 3, 4, 5, 6
# Laboratory values (LB) have their own per-subject stream [seed, _TAG_LAB, k], so adding or
# changing LB never moves a draw of any other domain.
_TAG_LAB = 7

# Trial-level allocations, one per block of enrolled subjects (design, issue 2)

SF_BLOCK = (20, 3)  # each block of 20 enrolled subjects has 3 screen failures (~15 %)
NOT_TREATED_BLOCK = 25  # one never-dosed subject per 25 enrolled
NE_BLOCK = 20  # one subject per 20 enrolled has a target lesion unmeasured at its first scan
DEEP_BLOCK = 40  # one subject per 40 enrolled is a near-complete responder (rare CR)


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
# Subject-level drivers
# =============================================================================================
def _simulate_treated(S) -> None:
    """Full course of a dosed subject (latent draws, scans, dosing, follow-up, AEs, QS, CM)."""
    S.treated = True
    draw_route(S)
    draw_latent(S)
    draw_ir_candidates(S)
    ae_treatment_stop(S)
    S.tbp = False
    sim_scans(S)
    sim_treatment(S)
    if S.eot_reason == "ADVERSE EVENT":
        S.ae_stop_event["stopped_treatment"] = True
    sim_exit(S)
    sim_followup_visits(S)
    sim_aes(S)
    sim_qs(S)
    sim_prior_therapy(S)
    sim_post_therapy(S)


def _simulate_not_treated(S) -> None:
    """Enrolled, baseline scan done, consent withdrawn before the first dose."""
    rng = S.rng
    S.t_withdraw_pre = uint(rng, S.consent - S.d0 + 1, -1)
    S.t_base = uint(rng, S.consent - S.d0, S.t_withdraw_pre)
    S.scans = []
    sim_prior_therapy(S)


def _simulate_enrolled(k: int, seed: int, never_dosed: bool, force_ne: bool = False,
                       deep: bool = False) -> SimpleNamespace:
    """Enrolled subject ``k``: baseline draws, then the treated or never-dosed course."""
    S = new_subject(np.random.default_rng([seed, _TAG_ENROLLED, k]), k, "ENR")
    S.force_ne, S.deep = force_ne, deep
    draw_dates(S)
    draw_covariates(S)
    draw_lesions(S)
    if never_dosed:
        _simulate_not_treated(S)
    else:
        _simulate_treated(S)
    return S


def _simulate_screen_failure(m: int, seed: int) -> SimpleNamespace:
    """Screen failure ``m``: site and demographics, consent and screen-failure day and reason."""
    S = new_subject(np.random.default_rng([seed, _TAG_SCRNFAIL, m]), m, "SF")
    draw_screen_failure(S)
    return S


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
    assign_ids(plan, subjects_by_key)
    enrolled = [subjects_by_key[("ENR", k)] for k in range(n)]
    apply_fatal_ae(enrolled)
    apply_window_aes(enrolled)
    apply_partial_ae_dates(enrolled)
    for S in subjects_by_key.values():
        sim_disposition(S)
    apply_partial_death_date(enrolled)
    for S in enrolled:
        sim_labs(S, np.random.default_rng([seed, _TAG_LAB, S.index]))
    subjects = [subjects_by_key[k] for k in plan]
    return _build_domains(subjects)


def _build_domains(subjects) -> dict[str, pd.DataFrame]:
    """Collect every subject's records into one DataFrame per domain."""
    rows = defaultdict(list)
    dm, suppdm = records_dm(subjects)
    for S in subjects:
        rows["ds"] += list(rows_ds(S))
        rows["dd"] += list(rows_dd(S))
        rows["sv"] += rows_sv(S)
        if S.kind == "SF":
            continue
        rows["cm"] += list(rows_cm(S))
        tu, tr, rs = rows_tumour(S)
        rows["tu"] += tu
        rows["tr"] += tr
        rows["rs"] += rs
        rows["lb"] += list(rows_lb(S))
        if S.treated:
            rows["ex"] += list(rows_ex(S))
            rows["ae"] += list(rows_ae(S))
    rfst = {S.usubjid: (float(S.d0) if S.treated else np.nan) for S in subjects}
    out = {"dm": finish("dm", frame("dm", dm), rfst),
           "suppdm": finish("suppdm", frame("suppdm", suppdm), rfst)}
    for dom in ["ex", "rs", "tr", "tu", "ds", "cm", "sv", "lb", "dd"]:
        out[dom] = finish(dom, frame(dom, rows[dom]), rfst)
    ae = finish("ae", frame("ae", rows["ae"]), rfst, keep=("_supp",))
    out["suppae"] = suppae_frame(ae)
    out["ae"] = ae[COLUMNS["ae"]]
    out["qs"] = finish("qs", qs_frame(subjects), rfst)
    return typed({k: out[k] for k in DOMAINS})


# =============================================================================================
# Writing
# =============================================================================================
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
        return s.map(fmt_number).astype(object)
    return s.astype(object).where(s.notna(), "").astype(str).astype(object)
