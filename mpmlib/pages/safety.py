"""Sections of the safety page (``notebooks/30_safety``): the header and the treatment-emergent
window in words, from the settings this run used (``safety:`` parameters; the window rules are
those of :mod:`mpmlib.derive.adae`). Counts and tables come from :mod:`mpmlib.analysis.safety`.
"""

from __future__ import annotations

import pandas as pd

from mpmlib.analysis.safety import drug_labels, is_severity
from mpmlib.tables.format import md_text


def window_description(cfg: dict, drugs: dict[str, str]) -> dict[str, str]:
    """The treatment-emergent windows in words, from the settings actually used (``safety:``
    parameters; rules in ``mpmlib.derive.adae``): ``main`` and ``immune`` ("" when off, or when
    the data carry no immune-related flag: ``safety.immune_related`` null). Drug labels come
    from the parameter file and are escaped for Markdown. One end is named once when both ends
    are the same (anchor = any study drug and the same number of days).

    >>> window_description({"window_days": 30, "grace_days": 0, "window_anchor": None,
    ...     "window_any_drug_days": 30, "immune_window_days": 90, "immune_related": None}, {})["main"]
    'from the first dose of any study drug to the last dose of any study drug + 30 days'
    """
    if cfg["window_days"] is None:
        return {"main": "from the first dose of any study drug, with no end (every later AE)", "immune": ""}
    anchor = f"the last {md_text(drugs.get(cfg['window_anchor'], cfg['window_anchor']))} dose" \
        if cfg["window_anchor"] else "the last dose of any study drug"
    first = f"{anchor} + {cfg['window_days']}" + (f" (+{cfg['grace_days']})" if cfg["grace_days"] else "") + " days"
    any_days = cfg["window_any_drug_days"]
    same = cfg["window_anchor"] is None and any_days is not None and any_days <= cfg["window_days"] + (cfg["grace_days"] or 0)
    ends = first if any_days is None or same else (
        f"the later of {first} and the last dose of any study drug + {any_days} days")
    immune = "" if cfg["immune_window_days"] is None or not cfg.get("immune_related") else (
        f"immune-related AEs also in a sensitivity window to the later of that end and the last dose of any "
        f"study drug + {cfg['immune_window_days']} days")
    return {"main": f"from the first dose of any study drug to {ends}", "immune": immune}


def page_header(params: dict, pop: pd.DataFrame, adae: pd.DataFrame, teaes: pd.DataFrame) -> str:
    """Markdown header of the safety page from the parameters and data actually used: study
    (title and description from the parameter file, escaped), population, the windows
    (:func:`window_description`), AE counts and the grading (CTCAE grade or AESEV severity)."""
    study, cfg = params["study"], params["safety"]
    window = window_description(cfg, drug_labels(params["adsl"]["study_drugs"]))
    outside = int(adae["TRTEMFL"].eq("N").sum()) if len(adae) else 0
    grading = ("severity (AESEV: mild, moderate, severe); the data carry no CTCAE grade" if is_severity(adae)
               else "CTCAE v5.0 grade (AETOXGR)")
    lines = [f"**Study:** {md_text(study['title'] or params['_name'])}",
             *([f"**Design:** {md_text(study['description'])}"] if study.get("description") else []),
             f"**Safety population:** N = {len(pop)}; columns by "
             f"{'actual' if cfg['by'] == 'TRT01A' else 'planned'} treatment",
             f"**Treatment-emergent window:** {window['main']}" + (f"; {window['immune']}" if window["immune"] else ""),
             f"**Adverse events:** {len(adae)} recorded, {len(teaes)} treatment-emergent in the safety population, "
             f"{outside} outside the window (listed at the end)",
             f"**Grading:** {grading}"]
    return "  \n".join(lines)
