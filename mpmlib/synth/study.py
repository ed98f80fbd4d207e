"""Identifiers and calendar of the synthetic trial H101-MPM-201 (docs/synthetic-trial.md §1-§2).

* Dates are integer day numbers (days since 1970-01-01), written as ISO 8601 only when the
  domains are assembled (:mod:`mpmlib.synth.frames`). ``t`` elsewhere means days since the
  first dose (study day 1 is ``t = 0``).
* The data cutoff :data:`DATA_CUTOFF` (no record is dated after it) and the accrual window of
  first doses, 2024-03-01 to 2025-04-30 (design, issue 2; assumption).
* Visit names and numbers shared by EX, LB, QS, TR/RS and SV: ``CYCLE c DAY d`` = 10c + d,
  ``WEEK w`` = 1000 + w, ``END OF TREATMENT`` = 2000, ``SURVIVAL FOLLOW-UP k`` = 3000 + k.
"""

from __future__ import annotations

import numpy as np

STUDYID = "H101-MPM-201"
DATA_CUTOFF = "2026-03-31"  # ISO date; no record is dated after it

ARM = "H101 + Toripalimab"
ARMCD = "H101TORI"

EPOCH = np.datetime64("1970-01-01", "D")


def dayno(text: str) -> int:
    """Day number (days since 1970-01-01) of an ISO date ``YYYY-MM-DD``."""
    return int((np.datetime64(text, "D") - EPOCH).astype(np.int64))


CUTOFF_DAY = dayno(DATA_CUTOFF)
ACCRUAL_START = dayno("2024-03-01")  # first first dose (assumption)
ACCRUAL_END = dayno("2025-04-30")  # last first dose (assumption)
NEVER = 10**7  # "does not happen" for latent event times (days)


def iso(day: int) -> str:
    """ISO 8601 date ``YYYY-MM-DD`` of a day number."""
    return str(EPOCH + np.timedelta64(int(day), "D"))


def month(day: int) -> str:
    """Partial ISO 8601 date ``YYYY-MM`` of a day number (partial dates in CM, AE, DM, DS, DD)."""
    return iso(day)[:7]


def first_of_month(day: int) -> int:
    """Day number of the first day of the month of ``day``."""
    return dayno(month(day) + "-01")


def visit_cycle(c: int, d: int):
    """``(VISIT, VISITNUM)`` of cycle ``c`` day ``d``: ``CYCLE c DAY d``, 10c + d."""
    return f"CYCLE {c} DAY {d}", 10 * c + d


def visit_week(w: int):
    """``(VISIT, VISITNUM)`` of the scan visit in week ``w``: ``WEEK w``, 1000 + w."""
    return f"WEEK {w}", 1000 + w


#: ``(VISIT, VISITNUM)`` of screening (consent), baseline and the end-of-treatment visit
V_SCREENING, V_BASELINE, V_EOT = ("SCREENING", 1), ("BASELINE", 2), ("END OF TREATMENT", 2000)


def visit_fu(k: int):
    """``(VISIT, VISITNUM)`` of the k-th survival follow-up contact: 3000 + k."""
    return f"SURVIVAL FOLLOW-UP {k}", 3000 + k
