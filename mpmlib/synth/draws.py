"""Random draws of the synthetic trial: small helpers over one numpy ``Generator``.

Each helper makes a fixed number of draws from the generator it is given (``choice``: one
uniform; ``uint`` and ``pick``: one integer; ``draw_grade``: one uniform), so the stream of a subject
depends only on the order of the calls. Which generator is used where (one per subject, per
trial-level block, and LB's own) is decided in :mod:`mpmlib.synth.trial`.
"""

from __future__ import annotations

import math


def choice(rng, values, probs):
    """One value drawn with the given probabilities (inverse CDF of one uniform draw)."""
    u = rng.random()
    acc = 0.0
    for value, p in zip(values, probs):
        acc += p
        if u < acc:
            return value
    return values[-1]


def uint(rng, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi] (both inclusive)."""
    return int(rng.integers(lo, hi + 1))


def draw_grade(rng, grades: dict) -> int:
    """A CTCAE grade drawn from ``{grade: probability}``."""
    return int(choice(rng, list(grades), list(grades.values())))


def logistic(x: float) -> float:
    """The logistic function ``1 / (1 + exp(-x))`` (no draw)."""
    return 1.0 / (1.0 + math.exp(-x))


def pick(rng, values):
    """One of ``values`` with equal probability (one integer draw), e.g. a verbatim AE term."""
    return values[int(rng.integers(len(values)))]
