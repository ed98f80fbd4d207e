"""Sections of the efficacy page (``notebooks/20_efficacy``): Markdown, figures and tables
assembled from :mod:`mpmlib.analysis.efficacy` results, so the notebook keeps its narrative,
its parameters cell and short calls.

* :func:`header_text`, :func:`method_notes`, :func:`settings_table`: the text that depends on
  the settings this run used (criteria, assessor, confirmation interval, censoring rules);
* :func:`km_section` / :func:`show_km`: one Kaplan–Meier section (figure, summary, censoring);
* :data:`NO_RS`, :data:`NO_RS_BANNER`: what the page says when the input has no tumour
  response data (RS).

Statistics stay in :mod:`mpmlib.analysis.efficacy`; this module only arranges them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from mpmlib.analysis.efficacy import DAYS_PER_MONTH, censoring_table, km_analysis, tte_data, tte_display
from mpmlib.plots import efficacy as plots_efficacy
from mpmlib.tables.format import ci_level, md_text, round_half_up

#: What a section needing tumour responses shows when the input has none.
NO_RS = "_Not available: this input has no tumour response data (RS)._"
#: The banner under the header when the input has no tumour response data.
NO_RS_BANNER = ("> **No tumour response data (RS) in this input.** Response rates, PFS, duration of "
                "response and the tumour figures cannot be computed; overall survival is shown below.")


def km_section(adtte: pd.DataFrame, subjects: pd.DataFrame, paramcd: str, eff: dict, *,
               ylabel: str, xlabel: str) -> dict | None:
    """One Kaplan–Meier section of the page for ``paramcd``: the figure (numbers at risk, median
    guides, CI band labelled with the level of ``eff["alpha"]`` and ``km_conf_type``), the
    summary (:func:`mpmlib.analysis.efficacy.tte_display`) and the events and censoring table; by ``TRT01A`` when the
    subjects have more than one arm. ``xlabel`` names unit and origin (:func:`mpmlib.analysis.efficacy.time_label`).
    Returns ``{"figure", "summary", "censoring", "data"}``, or None when there is no record."""
    data = tte_data(adtte, subjects, paramcd)
    if "TRT01A" in subjects.columns:
        data = data.merge(subjects[["USUBJID", "TRT01A"]], on="USUBJID")
    if data.empty:
        return None
    by = "TRT01A" if "TRT01A" in data.columns and data["TRT01A"].nunique() > 1 else None
    alpha, conf_type = eff["alpha"], eff["km_conf_type"]
    km = km_analysis(data, by, conf_type, alpha, eff["landmark_months"])
    figure = plots_efficacy.km_plot(km["curves"], km["at_risk"], xlabel=xlabel, ylabel=ylabel,
                                    median_lines=km["medians"], time_divisor=DAYS_PER_MONTH,
                                    ci_label=f"{ci_level(alpha)} CI ({conf_type})")
    return {"figure": figure, "summary": tte_display(km["summaries"], alpha, conf_type),
            "censoring": censoring_table(data), "data": data}


SETTING_TEXT = {
    "evaluator": "Assessor whose RECIST responses are analysed (RS RSEVAL)",
    "reference_date": "Time origin (ADSL date; empty = adsl.reference_date)",
    "confirmation_days": "CR/PR confirmed by an assessment at least this many days later (RECIST 1.1 §4.4)",
    "sd_min_days": "Stable disease counts only this many days after the origin or later (RECIST 1.1 §4.4)",
    "max_ne_between": "NE assessments allowed between a response and its confirmation",
    "max_sd_between": "SD assessments allowed between a PR and its confirmation",
    "response_date_imputation": "Partial response date: day imputed to the first or last of the month",
    "population": "Denominator of response rates (ADSL flag)",
    "orr_null_rate": "Null ORR for the one-sided exact binomial test",
    "alpha": "Two-sided 1 - alpha confidence intervals",
    "km_conf_type": "Kaplan-Meier CI transform (log-log = SAS PROC LIFETEST, log = R survival)",
    "landmark_months": "Landmark times for event-free rates",
    "assessment_schedule": "Tumour assessment interval [from study day, days] (missed-assessment rule)",
    "assessment_window_days": "Allowance added to the missed-assessment gap",
    "missed_assessments": "PFS event after this many missed assessments is censored (FDA 2018)",
    "new_therapy_censoring": "Censor PFS at new anticancer therapy (FDA 2018)",
    "new_therapy_cmcat": "CM categories that are new anticancer therapy",
    "dor_response": "Responders for duration of response (CRSP confirmed, RSP unconfirmed)",
}


def header_text(params: dict, analysis_set: pd.DataFrame, treated: pd.DataFrame, origin: str) -> str:
    """The page's opening block (Markdown): study, data cut-off, the response criteria and the
    assessor actually used (``efficacy.evaluator``), the response population and the time
    origin. Text from the parameter file is escaped (:func:`mpmlib.tables.format.md_text`)."""
    eff = params["efficacy"]
    reference = eff["reference_date"] or params["adsl"]["reference_date"]
    cutoff = params["data_cutoff"] or "not set (latest date in the data is used)"
    return (f"**Study:** {md_text(params['study']['title'])}  \n"
            f"**Data cut-off:** {md_text(cutoff)}  \n"
            f"**Response criteria:** RECIST 1.1; time-point responses of the assessor "
            f"{md_text(str(eff['evaluator']).title())} (RS RSEVAL)  \n"
            f"**Response population ({md_text(eff['population'])}):** N = {len(analysis_set)} of "
            f"{len(treated)} treated subjects  \n"
            f"**Time origin (day 1):** {md_text(origin)} (ADSL {md_text(reference)}); every time in months of "
            f"{DAYS_PER_MONTH} days")


def method_notes(eff: dict, origin: str) -> dict[str, str]:
    """The sentences of the page that depend on the settings (Markdown), so that the page says
    what was run: ``"response"`` (confirmation interval ``confirmation_days``, SD window
    ``sd_min_days``, the CI level of ``alpha``, the null rate), ``"pfs"`` (the censoring rules
    switched on) and ``"dor"`` (``dor_response``, the new-therapy rule). ``origin`` as
    ``Run.time_origin``."""
    level = ci_level(eff["alpha"])
    null = eff.get("orr_null_rate")
    test = (f", and confirmed ORR is tested one-sided (exact binomial) against the null rate of "
            f"{round_half_up(100 * null, 1)}%" if null is not None else "")
    response = (
        "Best overall response per subject, with confirmation (the primary analysis: a CR or PR must be "
        f"confirmed by an assessment at least {eff['confirmation_days']} days later) and without confirmation "
        f"(sensitivity analysis). Stable disease counts only when it was seen at least {eff['sd_min_days']} "
        f"days after {origin}. Percentages are of **all** subjects of the response population; subjects "
        "without a post-baseline assessment count as non-responders. ORR and DCR carry exact "
        f"(Clopper–Pearson) {level} confidence intervals{test}.")
    rules = ["no adequate assessment → day 1"]
    if eff.get("new_therapy_censoring"):
        cats = ", ".join(md_text(c) for c in eff.get("new_therapy_cmcat") or [])
        rules.append(f"new anticancer therapy (CM category {cats}) before progression → last adequate "
                     "assessment before it")
    if eff.get("missed_assessments") is not None:
        rules.append(f"progression or death after {eff['missed_assessments']} or more missed assessments → "
                     "last adequate assessment")
    rules.append("otherwise the last adequate assessment")
    pfs = ("Event: first progression or death from any cause. Censoring follows the FDA guidance on cancer "
           f"trial endpoints (2018) as set in the parameters: {'; '.join(rules)}.")
    if not eff.get("new_therapy_censoring"):
        pfs += " New anticancer therapy is not a censoring reason (`new_therapy_censoring` off)."
    if eff.get("missed_assessments") is None:
        pfs += " Events after missed assessments are not censored (`missed_assessments` not set)."
    kind = {"CRSP": "confirmed", "RSP": "unconfirmed (confirmation not required)"}.get(eff.get("dor_response"), "")
    dor = (f"In subjects with a {kind} response (`dor_response`: {md_text(eff.get('dor_response'))}). Duration "
           "of response runs from the first assessment showing the response to progression or death, censored "
           f"as PFS; time to response runs from day 1 ({origin}) to that first assessment. Responses after the "
           "data cut-off" + (" or after the start of new anticancer therapy" if eff.get("new_therapy_censoring")
                             else "") + " do not count.")
    return {"response": response, "pfs": pfs, "dor": dor}


def settings_table(eff: dict) -> pd.DataFrame:
    """The efficacy parameters of the run with what each controls (for the methods section;
    parameter and rule as row labels, so the text reads left-aligned, the value in the column)."""
    rows = [{"Parameter": key, "Rule": SETTING_TEXT.get(key, ""), "Value": "-" if value is None else str(value)}
            for key, value in eff.items()]
    return pd.DataFrame(rows).set_index(["Parameter", "Rule"])


def show_km(section: dict | None, what: str) -> None:
    """Display a section of :func:`km_section`: the figure (then closed, so it is shown once),
    the summary and the events and censoring table; "_No <what> data._" when ``section`` is None."""
    if section is None:
        return display(Markdown(f"_No {what} data._"))
    display(section["figure"])
    plt.close(section["figure"])
    for item in (section["summary"], Markdown("**Events and censoring** (all subjects)"), section["censoring"]):
        display(item)
