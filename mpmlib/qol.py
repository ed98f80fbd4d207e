"""Questionnaire (PRO) scale scoring driven by a scale table; EORTC QLQ-C30 v3.0 is shipped.

The table ``mpmlib/resources/qlq_c30_scales.csv`` has one row per scale: ``instrument, code, label,
kind (global/functional/symptom), items (space-separated item numbers), item_min, item_max,
in_summary (Y/N)``. Another instrument needs only more rows there (``score_instrument``), no code.

Sources (summarised in ``/work/shared/notes/methods.md`` §5):

* Fayers PM, Aaronson NK, Bjordal K et al. *EORTC QLQ-C30 Scoring Manual*, 3rd ed. Brussels:
  EORTC, 2001: scales, items, item ranges, linear transformation and the half rule. The official
  EORTC SAS macro (Van Steen & Curran, 1998/2002) uses the same rule (``XNUM*2 GE nitems``).
* Giesinger JM, Kieffer JM, Fayers PM et al. Replication and validation of higher order models
  demonstrated that a summary score for the EORTC QLQ-C30 is robust. *J Clin Epidemiol*
  2016;69:79-88: the Summary Score (13 scales, symptom scales reversed; QL2 and FI excluded).

Rules (items in columns ``Q1..Qn``, NaN = not answered):

* RS = mean of the answered items of the scale; range = item_max - item_min.
* functional: S = (1 - (RS - item_min)/range) * 100; symptom and global: S = (RS - item_min)/range * 100
  (the manual writes ``RS - 1``; item_min is 1 for every QLQ-C30 item).
* Half rule: a scale is scored when at least half of its items are answered (answered >=
  min_fraction * items, min_fraction = 0.5), i.e. the mean of the answered items is imputed.
  A single-item scale is missing when its item is missing.
* Item responses must be integers in item_min..item_max, else ``DataError("QS", "Qk", ...)``.
"""

from __future__ import annotations

import importlib.resources

import numpy as np
import pandas as pd

from .errors import DataError

KINDS = ("global", "functional", "symptom")
QLQ_C30_COLUMNS = ["QL2", "PF2", "RF2", "EF", "CF", "SF", "FA", "NV", "PA", "DY", "SL", "AP", "CO",
                   "DI", "FI", "SUMSC"]


def load_scales(instrument: str = "QLQ-C30") -> pd.DataFrame:
    """Rows of the shipped scale table for ``instrument``, in table order (ValueError if none)."""
    res = importlib.resources.files("mpmlib").joinpath("resources", "qlq_c30_scales.csv")
    with res.open(encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype={"items": str, "in_summary": str}, keep_default_na=False)
    out = table[table["instrument"] == instrument].reset_index(drop=True)
    if out.empty:
        raise ValueError(f"unknown instrument {instrument!r}; the scale table has "
                         f"{sorted(table['instrument'].unique())}")
    return out


def _item_lists(scales: pd.DataFrame) -> list[list[int]]:
    return [[int(k) for k in (v.split() if isinstance(v, str) else v)] for v in scales["items"]]


def _item_ranges(scales: pd.DataFrame) -> dict[int, tuple[float, float]]:
    """Item number -> (min, max), checked to agree across scales that share an item."""
    bad = set(scales["kind"]) - set(KINDS)
    if bad:
        raise ValueError(f"scale table: unknown kind {sorted(bad)}; allowed {KINDS}")
    ranges: dict[int, tuple[float, float]] = {}
    for its, lo, hi in zip(_item_lists(scales), scales["item_min"], scales["item_max"]):
        for k in its:
            if ranges.setdefault(k, (float(lo), float(hi))) != (float(lo), float(hi)):
                raise ValueError(f"scale table: item {k} has two different ranges")
    return ranges


def _item_matrix(items: pd.DataFrame, ranges: dict[int, tuple[float, float]]) -> np.ndarray:
    """Validated responses as a float array (rows x items in ``ranges`` order), NaN = missing."""
    missing = [f"Q{k}" for k in ranges if f"Q{k}" not in items.columns]
    if missing:
        raise DataError("QS", ", ".join(missing), "item columns missing",
                        detail=f"required: Q{min(ranges)}..Q{max(ranges)}")
    subjects = items["USUBJID"] if "USUBJID" in items.columns else None
    columns = []
    for k, (lo, hi) in ranges.items():
        raw = items[f"Q{k}"]
        x = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = (raw.notna() & x.isna()) | (x.notna() & ((x < lo) | (x > hi) | (x % 1 != 0)))
        if bad.any():
            shown = sorted({f"{n:g}" if pd.notna(n) else repr(v) for v, n in zip(raw[bad], x[bad])})
            raise DataError("QS", f"Q{k}", f"item response out of range {lo:g}-{hi:g}",
                            subjects=None if subjects is None else subjects[bad],
                            detail=f"{int(bad.sum())} record(s), values: {', '.join(shown[:10])}")
        columns.append(x.to_numpy())
    return np.column_stack(columns) if columns else np.empty((len(items), 0))


def score_scales(items: pd.DataFrame, scales: pd.DataFrame, min_fraction: float = 0.5) -> pd.DataFrame:
    """Score every scale of ``scales`` for every row of ``items`` (vectorised, no row loop).

    A scale is scored when answered items >= ``min_fraction`` x its items (manual's half rule at
    0.5); RS is the mean of the answered items and is transformed to 0-100 as in the module
    docstring. Returns the same index as ``items`` and one column per scale code, in table order.
    """
    if not 0 < min_fraction <= 1:
        raise ValueError(f"min_fraction must be in (0, 1], got {min_fraction}")
    ranges = _item_ranges(scales)
    x = _item_matrix(items, ranges)
    pos = {k: i for i, k in enumerate(ranges)}
    member = np.zeros((len(ranges), len(scales)))          # item x scale incidence matrix
    for j, its in enumerate(_item_lists(scales)):
        member[[pos[k] for k in its], j] = 1.0
    answered = ~np.isnan(x)
    n_answered = answered.astype(float) @ member
    with np.errstate(invalid="ignore", divide="ignore"):
        raw_score = (np.where(answered, x, 0.0) @ member) / n_answered
    lo = scales["item_min"].to_numpy(float)
    pct = (raw_score - lo) / (scales["item_max"].to_numpy(float) - lo) * 100.0
    pct = np.where((scales["kind"] == "functional").to_numpy(), 100.0 - pct, pct)
    ok = (n_answered > 0) & (n_answered >= min_fraction * member.sum(axis=0))
    return pd.DataFrame(np.where(ok, pct, np.nan), index=items.index, columns=list(scales["code"]))


def summary_score(scores: pd.DataFrame, scales: pd.DataFrame | None = None) -> pd.Series:
    """QLQ-C30 Summary Score (Giesinger et al. 2016), named ``SUMSC``.

    Mean of the ``in_summary == "Y"`` scales (PF2 RF2 EF CF SF FA NV PA DY SL AP CO DI), symptom
    scales reversed as 100 - S; NaN unless all 13 scale scores exist (no imputation across scales).
    """
    scales = load_scales() if scales is None else scales
    used = scales[scales["in_summary"] == "Y"]
    if used.empty:
        raise ValueError("scale table has no in_summary == 'Y' scales")
    vals = scores[list(used["code"])].to_numpy(float)
    vals = np.where((used["kind"] == "symptom").to_numpy(), 100.0 - vals, vals)
    return pd.Series(vals.mean(axis=1), index=scores.index, name="SUMSC")


def score_instrument(items: pd.DataFrame, instrument: str, min_fraction: float = 0.5) -> pd.DataFrame:
    """Scale scores of any instrument in the shipped table: ``score_scales(items, load_scales(...))``."""
    return score_scales(items, load_scales(instrument), min_fraction)


def score_qlq_c30(items: pd.DataFrame) -> pd.DataFrame:
    """EORTC QLQ-C30 v3.0 scores from wide items ``Q1``-``Q30`` (1-4; Q29-Q30 1-7; NaN = missing).

    Returns columns QL2 PF2 RF2 EF CF SF FA NV PA DY SL AP CO DI FI SUMSC with the input's index
    (Scoring Manual 3rd ed. with the half rule; SUMSC per Giesinger 2016). Missing item columns or
    a response that is not an integer in range raise ``DataError`` naming the item (and the
    USUBJIDs when ``items`` has a USUBJID column).
    """
    scales = load_scales("QLQ-C30")
    out = score_scales(items, scales)
    out["SUMSC"] = summary_score(out, scales)
    return out[QLQ_C30_COLUMNS]
