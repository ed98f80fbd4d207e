"""Questionnaire (PRO) scale scoring driven by tables; EORTC QLQ-C30 v3.0 is shipped.

Two tables, both data (``mpmlib/resources/README.md``):

* the instrument table ``qol_instruments.csv``, one row per instrument: ``instrument, qstestcd``
  (regular expression on SDTM ``QSTESTCD`` whose one group is the item number), ``n_items``,
  ``scales`` (the scale table's file name, next to the instrument table), ``summary_code`` and
  ``summary_label`` (an optional summary score over the ``in_summary`` scales; empty = none);
* a scale table per instrument, one row per scale: ``instrument, code, label, kind
  (global/functional/symptom), items (space-separated item numbers), item_min, item_max,
  in_summary (Y/N)``.

Another instrument needs only rows in these tables, no code: :func:`score_questionnaire` scores it
and ``mpmlib.derive.adqs`` carries it into ADQS. Every function taking ``instruments`` accepts
the path of another instrument table (its scale files beside it), or None for the shipped one.

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
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mpmlib.errors import DataError

KINDS = ("global", "functional", "symptom")
QLQ_C30_COLUMNS = ["QL2", "PF2", "RF2", "EF", "CF", "SF", "FA", "NV", "PA", "DY", "SL", "AP", "CO",
                   "DI", "FI", "SUMSC"]


INSTRUMENT_COLUMNS = ["instrument", "qstestcd", "n_items", "scales", "summary_code", "summary_label"]


def _read_table(name: str, instruments: str | Path | None) -> pd.DataFrame:
    """A CSV table shipped in ``mpmlib/resources`` (``instruments`` None) or in the folder of the
    instrument table ``instruments``; every column read as text except the numeric ones."""
    dtype = {"items": str, "in_summary": str, "qstestcd": str, "summary_code": str, "summary_label": str}
    if instruments is None:
        res = importlib.resources.files("mpmlib").joinpath("resources", name)
        with res.open(encoding="utf-8") as handle:
            return pd.read_csv(handle, dtype=dtype, keep_default_na=False)
    return pd.read_csv(Path(instruments).parent / name, dtype=dtype, keep_default_na=False)


def load_instruments(instruments: str | Path | None = None) -> pd.DataFrame:
    """The instrument table (module docstring), checked: the columns are there, instrument names
    are unique, ``qstestcd`` is a regular expression with exactly one group (the item number) and
    ``n_items`` a whole number >= 1 (ValueError otherwise: a table error, not a data error)."""
    if instruments is None:
        table = _read_table("qol_instruments.csv", None)
    else:
        table = pd.read_csv(instruments, dtype=str, keep_default_na=False)
    missing = [c for c in INSTRUMENT_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"instrument table: columns missing {missing}")
    if table["instrument"].duplicated().any():
        raise ValueError(f"instrument table: instrument listed twice "
                         f"{sorted(set(table.loc[table['instrument'].duplicated(), 'instrument']))}")
    for name, pattern in zip(table["instrument"], table["qstestcd"]):
        if re.compile(pattern).groups != 1:
            raise ValueError(f"instrument table: qstestcd of {name} must have exactly one group (the item number)")
    n = pd.to_numeric(table["n_items"], errors="coerce")
    if (n.isna() | (n < 1) | (n % 1 != 0)).any():
        raise ValueError("instrument table: n_items must be a whole number >= 1")
    return table.assign(n_items=n.astype(int)).reset_index(drop=True)


def instrument(name: str, instruments: str | Path | None = None) -> pd.Series:
    """The row of the instrument table for ``name`` (ValueError naming the known ones if none)."""
    table = load_instruments(instruments)
    rows = table[table["instrument"] == name]
    if rows.empty:
        raise ValueError(f"unknown instrument {name!r}; the instrument table has {sorted(table['instrument'])}")
    return rows.iloc[0]


def load_scales(instrument_name: str = "QLQ-C30", instruments: str | Path | None = None) -> pd.DataFrame:
    """Rows of the scale table of ``instrument_name``, in table order (ValueError if none); its
    items must lie in 1..n_items of the instrument table."""
    entry = instrument(instrument_name, instruments)
    table = _read_table(entry["scales"], instruments)
    out = table[table["instrument"] == instrument_name].reset_index(drop=True)
    if out.empty:
        raise ValueError(f"unknown instrument {instrument_name!r}; the scale table {entry['scales']} has "
                         f"{sorted(table['instrument'].unique())}")
    outside = sorted({k for its in _item_lists(out) for k in its if not 1 <= k <= entry["n_items"]})
    if outside:
        raise ValueError(f"scale table of {instrument_name}: items {outside} outside 1-{entry['n_items']}")
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


def score_instrument(items: pd.DataFrame, instrument_name: str, min_fraction: float = 0.5,
                     instruments: str | Path | None = None) -> pd.DataFrame:
    """Scale scores (no summary score) of any instrument in the instrument table:
    ``score_scales(items, load_scales(...))``."""
    return score_scales(items, load_scales(instrument_name, instruments), min_fraction)


def score_questionnaire(items: pd.DataFrame, instrument_name: str,
                        instruments: str | Path | None = None) -> pd.DataFrame:
    """Every scale of ``instrument_name`` (half rule) and, when the instrument table names a
    ``summary_code``, its summary score (:func:`summary_score`), in table order, with the index of
    ``items`` (wide ``Q1..Qn``; a ``USUBJID`` column names subjects in errors)."""
    entry = instrument(instrument_name, instruments)
    scales = load_scales(instrument_name, instruments)
    out = score_scales(items, scales)
    if entry["summary_code"]:
        out[entry["summary_code"]] = summary_score(out, scales).to_numpy()
    return out


def parameters(instruments: str | Path | None = None) -> pd.DataFrame:
    """One row per scored parameter of every instrument, in table order: PARAMCD, PARAM, PARCAT1
    (instrument) and DIRECTION (+1 when a higher score is better: global, functional and summary
    scores; -1 for symptom scales, EORTC Scoring Manual §4). A PARAMCD used by two instruments is
    a ValueError: it must name one parameter in ADQS (ADaM IG: PARAMCD to PARAM is one to one)."""
    rows = []
    for entry in load_instruments(instruments).itertuples():
        scales = load_scales(entry.instrument, instruments)
        rows += [{"PARAMCD": code, "PARAM": label, "PARCAT1": entry.instrument,
                  "DIRECTION": -1 if kind == "symptom" else 1}
                 for code, label, kind in zip(scales["code"], scales["label"], scales["kind"])]
        if entry.summary_code:
            rows.append({"PARAMCD": entry.summary_code, "PARAM": entry.summary_label,
                         "PARCAT1": entry.instrument, "DIRECTION": 1})
    out = pd.DataFrame(rows, columns=["PARAMCD", "PARAM", "PARCAT1", "DIRECTION"])
    twice = sorted(set(out.loc[out["PARAMCD"].duplicated(), "PARAMCD"]))
    if twice:
        raise ValueError(f"instrument tables: PARAMCD used by two scales or instruments {twice}")
    return out


def score_qlq_c30(items: pd.DataFrame) -> pd.DataFrame:
    """EORTC QLQ-C30 v3.0 scores from wide items ``Q1``-``Q30`` (1-4; Q29-Q30 1-7; NaN = missing).

    Returns columns QL2 PF2 RF2 EF CF SF FA NV PA DY SL AP CO DI FI SUMSC with the input's index
    (Scoring Manual 3rd ed. with the half rule; SUMSC per Giesinger 2016). Missing item columns or
    a response that is not an integer in range raise ``DataError`` naming the item (and the
    USUBJIDs when ``items`` has a USUBJID column). The shipped tables' QLQ-C30 entry, scored by
    :func:`score_questionnaire`.
    """
    return score_questionnaire(items, "QLQ-C30")[QLQ_C30_COLUMNS]
