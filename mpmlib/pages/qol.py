"""Sections of the quality-of-life page (``notebooks/40_qol``): the header, with the visit
schedule ("every <qol.interval_weeks> weeks ± <qol.window_days> days"), its end and the CI level
written from the settings this run used. Scores, compliance and models come from
:mod:`mpmlib.analysis.qol`.
"""

from __future__ import annotations

import pandas as pd

from mpmlib.analysis.qol import ci_label, flag_schedule, progression_dates, scoring_text
from mpmlib.tables.format import md_text


def page_header(study_title, instruments: list[str], n_population: int, cfg: dict, alpha: float,
                alpha_source: str = "efficacy.alpha", stop_dates: pd.Series | None = None) -> str:
    """Header lines of the QoL page (Markdown), all from the data and settings actually used:
    study title (parameter file, escaped by :func:`mpmlib.tables.format.md_text`), the instruments
    scored (ADQS PARCAT1, :func:`instruments_scored`, described by :func:`scoring_text`),
    population and N, the visit schedule and its end (``qol.expected_until``), the meaningful
    change and the CI level (:func:`ci_label` of ``alpha``, named by ``alpha_source``).
    ``stop_dates`` (:func:`progression_dates`) adds how many subjects' schedule a progression ended."""
    scored = "; ".join(md_text(scoring_text(name)) for name in instruments) or "none"
    until = {"progression": "first progression, death, last contact or data cut-off, whichever is first",
             "study": "death, last contact or data cut-off, whichever is first"}[cfg["expected_until"]]
    setting = f"qol.expected_until = {md_text(cfg['expected_until'])}"
    if cfg["expected_until"] == "progression" and stop_dates is not None:
        setting += f"; {len(stop_dates)} subject(s) with a progression in the response data (ADRS)"
    lines = [
        f"**Study:** {md_text(study_title) if study_title else '(no title in the parameter file)'}",
        f"**Instrument(s) scored:** {scored}",
        f"**Population:** treated subjects, {md_text(cfg['population'])} = Y (N = {n_population})",
        f"**Analysis visits:** baseline (last questionnaire on or before the first dose), then every "
        f"{cfg['interval_weeks']} weeks ± {cfg['window_days']} days; questionnaires expected until {until} "
        f"({setting})",
        f"**Clinically meaningful change:** {cfg['meaningful_change']:g} points (qol.meaningful_change)",
        f"**Confidence intervals:** two-sided {ci_label(alpha)} ({alpha_source} = {alpha:g}); none from fewer "
        f"than {max(int(cfg['min_n_ci']), 2)} values (qol.min_n_ci)",
    ]
    return "  \n".join(lines)


def scheduled_adqs(run) -> tuple[pd.DataFrame, pd.Series | None]:
    """ADQS of ``run`` with the questionnaire schedule flagged (:func:`mpmlib.analysis.qol.flag_schedule`
    with ``qol.window_days`` and ``qol.population``), and the progression dates that end a
    subject's schedule (:func:`mpmlib.analysis.qol.progression_dates`; None unless
    ``qol.expected_until`` is ``progression``).

    Parameters
    ----------
    run : mpmlib.notebook.Run
        The loaded run (ADaM datasets and settings).

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.Series or None)
        The flagged ADQS and the stop dates.
    """
    cfg = run.params["qol"]
    stop = progression_dates(run.adam["adrs"]) if cfg["expected_until"] == "progression" else None
    return flag_schedule(run.adam["adsl"], run.adam["adqs"], cfg["window_days"], cfg["population"], stop), stop
