"""Quality-of-life analyses: ADSL + ADQS in, tables out (any instrument scored into ADQS;
EORTC QLQ-C30 is the shipped one).

* One analysis set (:func:`flag_schedule`, :func:`analysis_set`): an ADQS analysis record
  (ANL01FL) counts when its subject is in the QoL population (flag and treated) and was *expected*
  at its analysis visit - every population subject at BASELINE; at "WEEK w" a subject whose last
  day on schedule (death, data cut-off, last contact or the end of the questionnaire schedule,
  e.g. first progression, ``qol.expected_until``, whichever is first) is on or after the day the
  visit window opens (7w + 1 - ``window_days``). A questionnaire at a visit where its subject was
  no longer expected (e.g. after progression) is *off-schedule*: counted apart in compliance and
  in no by-visit statistic, model, responder table or time to deterioration. Compliance's
  *Received* and the by-visit n therefore count the same questionnaires.
* Compliance: received / expected at each scheduled analysis visit (CONSORT-PRO, Calvert et al.,
  JAMA 2013;309:814, item 13).
* Scores and change from baseline by visit: n, mean, SD, median, min, max; mean change with a
  two-sided t-based CI at level 1 - alpha, given only for at least ``min_n_ci`` changes
  (``qol.min_n_ci``) and clipped to the possible range of change (-100 to 100,
  :data:`CHANGE_RANGE`; scale scores are 0-100, :data:`SCORE_RANGE`). The same rule decides
  which visits the mean-change figure draws (:func:`ci_available`). Only subjects with a
  baseline score contribute to change.
* Linear mixed model of change from baseline (REML, :func:`mpmlib.analysis.stats.random_intercept_reml`,
  the model of statsmodels MixedLM / lme4 / SAS PROC MIXED, vectorised): fixed effects visit
  (categorical) and baseline score (centred at its mean), random intercept per subject. Valid
  under missing at random given the observed scores (no imputation); visits with fewer than
  ``min_n`` observations are left out. Estimated mean change per visit = intercept + visit effect
  at the mean baseline, with Wald CIs at level 1 - alpha from the fixed-effects covariance,
  clipped to the range of change as above.
* Clinically meaningful change: ``qol.meaningful_change`` points worse / better than baseline
  (10 points for the QLQ-C30: Osoba et al., J Clin Oncol 1998;16:139-144).
* Time to deterioration (TTD): first post-baseline questionnaire with a meaningful
  deterioration; censored at the last post-baseline questionnaire (day 1 when there is none);
  death is not an event (a sensitivity choice the SAP must name). Kaplan-Meier via mpmlib.analysis.stats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from mpmlib.tables.format import ci_level, md_text, n_pct, round_half_up

SCORE_RANGE = (0.0, 100.0)
"""Possible range of a scale score: every scale is a linear transformation of its raw score to
0-100 (EORTC QLQ-C30 Scoring Manual §2; :mod:`mpmlib.derive.qol_scoring`, the rule of every instrument table)."""
CHANGE_RANGE = (-100.0, 100.0)
"""Possible range of a change from baseline (difference of two 0-100 scores)."""

SCORING_SOURCES = {
    "QLQ-C30": "EORTC QLQ-C30 version 3.0, scored by the EORTC Scoring Manual, 3rd ed. (Fayers et al. 2001; "
               "half rule) and the QLQ-C30 Summary Score (Giesinger et al. 2016); meaningful change "
               "of 10 points: Osoba et al. 1998",
}
"""What the page says about how an instrument of the instrument table is scored (its sources);
an instrument not listed is described by its scale table (:func:`scoring_text`)."""


def ci_label(alpha: float) -> str:
    """Confidence level of a two-sided interval at ``alpha``, as a label: 0.05 -> "95%", 0.1 ->
    "90%", 0.025 -> "97.5%" (:func:`mpmlib.tables.format.ci_level`, the rule of every page)."""
    return ci_level(alpha)


def ci_available(n, min_n_ci: int = 3):
    """The one minimum-n rule of the by-visit tables and the mean-change figure: a CI is given
    (and a visit drawn) when at least ``min_n_ci`` (``qol.min_n_ci``) values are there, and never
    for fewer than 2 (a t interval needs one degree of freedom). ``n`` may be a number or a Series."""
    return n >= max(int(min_n_ci), 2)


def clip_ci(low: float, high: float, bounds: tuple[float, float] = CHANGE_RANGE) -> tuple[float, float, bool]:
    """(low, high, clipped): the interval cut to ``bounds``, the possible range of the quantity
    (:data:`CHANGE_RANGE` for change, :data:`SCORE_RANGE` for scores). A t or Wald interval
    ignores that the mean cannot leave the range; the true mean lies inside it, so cutting the
    interval there loses no coverage (it is the CI intersected with the parameter space).
    ``clipped`` says whether a bound was cut (the page footnotes it)."""
    if np.isnan(low) or np.isnan(high):
        return (low, high, False)
    new_low, new_high = max(low, bounds[0]), min(high, bounds[1])
    return (new_low, new_high, bool(new_low != low or new_high != high))


def mean_ci(values: pd.Series, alpha: float = 0.05, min_n_ci: int = 3,
            bounds: tuple[float, float] = CHANGE_RANGE) -> tuple[float, float, bool]:
    """Two-sided t-based CI of a mean at level 1 - alpha: mean +- t(1 - alpha/2, n - 1) SD / sqrt(n)
    (Student), (NaN, NaN) when :func:`ci_available` says no, clipped by :func:`clip_ci`."""
    v = values.dropna()
    n = len(v)
    if not ci_available(n, min_n_ci):
        return (np.nan, np.nan, False)
    half = sps.t.ppf(1 - alpha / 2, n - 1) * v.std(ddof=1) / np.sqrt(n)
    return clip_ci(v.mean() - half, v.mean() + half, bounds)


def visit_order(adqs: pd.DataFrame) -> list[str]:
    """BASELINE then scheduled weeks in time order (analysis visits present in ADQS)."""
    visits = adqs[adqs["ANL01FL"].eq("Y")][["AVISIT", "AVISITN"]].drop_duplicates().sort_values("AVISITN")
    return visits["AVISIT"].tolist()


def last_on_schedule(adsl: pd.DataFrame, population: str = "SAFFL",
                     stop_dates: pd.Series | None = None) -> pd.Series:
    """USUBJID -> last study day (first dose = day 1) on the questionnaire schedule of each
    subject of the QoL population: the first of death (DTHDT), data cut-off (DCUTDT), last
    contact (LSTALVDT) and ``stop_dates`` (USUBJID -> date, e.g. the first progression when
    ``qol.expected_until`` is "progression"). NaN when none is known (expected at baseline only)."""
    pop = treated_subjects(adsl, population)
    ends = [pop[c] for c in ("LSTALVDT", "DTHDT", "DCUTDT") if c in pop]
    if stop_dates is not None:
        ends.append(pop["USUBJID"].map(stop_dates))
    last = pd.concat(ends, axis=1).min(axis=1) if ends else pd.Series(pd.NaT, index=pop.index)
    return pd.Series(((last - pop["TRTSDT"]).dt.days + 1).to_numpy(), index=pop["USUBJID"].to_numpy())


def window_opens(week, window_days: int):
    """First study day of the window of analysis visit "WEEK w": target day 7w + 1 minus
    ``window_days`` (ADQS visit rule, :func:`mpmlib.derive.adqs.assign_visits`)."""
    return 7 * week + 1 - window_days


def flag_schedule(adsl: pd.DataFrame, adqs: pd.DataFrame, window_days: int = 14, population: str = "SAFFL",
                  stop_dates: pd.Series | None = None) -> pd.DataFrame:
    """ADQS with ONSCHFL, the one counting rule of compliance and every by-visit analysis
    (module docstring): "Y" for an analysis record (ANL01FL = Y) of a QoL-population subject who
    was expected at its visit (BASELINE: always; "WEEK w": last day on schedule,
    :func:`last_on_schedule`, on or after :func:`window_opens`); "N" for an analysis record of a
    population subject no longer expected there (off-schedule, e.g. after progression); "" for
    the rest (not an analysis record, or a subject outside the population).

    Expectation is decided per visit, not per questionnaire date: a questionnaire returned in the
    window of a visit the subject was expected at counts, even if dated after the stop date.
    """
    out = adqs.copy()
    if out.empty:
        return out.assign(ONSCHFL=pd.Series(dtype=object))
    last = last_on_schedule(adsl, population, stop_dates)
    in_pop = out["USUBJID"].isin(last.index)
    expected = out["AVISIT"].eq("BASELINE") | (out["USUBJID"].map(last) >= window_opens(out["AVISITN"], window_days))
    analysis = out["ANL01FL"].eq("Y") & in_pop
    out["ONSCHFL"] = np.where(analysis & expected, "Y", np.where(analysis, "N", ""))
    return out


def analysis_set(adqs: pd.DataFrame) -> pd.DataFrame:
    """The records every by-visit statistic uses: ANL01FL = Y and, when ADQS carries the
    schedule flag of :func:`flag_schedule`, ONSCHFL = Y (off-schedule questionnaires out)."""
    return adqs[analysis_mask(adqs)]


def analysis_mask(adqs: pd.DataFrame) -> pd.Series:
    """Boolean mask of :func:`analysis_set` (so callers can select columns before copying)."""
    keep = adqs["ANL01FL"].eq("Y")
    if "ONSCHFL" in adqs.columns:
        keep &= adqs["ONSCHFL"].eq("Y")
    return keep


def compliance(adsl: pd.DataFrame, adqs: pd.DataFrame, interval_weeks: int = 6, window_days: int = 14,
               population: str = "SAFFL", stop_dates: pd.Series | None = None) -> pd.DataFrame:
    """Expected, received, off-schedule and compliance (%) per analysis visit (module rules).

    Visits come from the schedule, not from ADQS: BASELINE, then every ``interval_weeks`` weeks
    up to the last visit at which anyone is expected (or, if later, the last visit with an
    off-schedule questionnaire), so a visit where nobody returned a questionnaire is shown with 0.
    *Received* = subjects with an ONSCHFL = Y record at the visit (:func:`flag_schedule`, the
    records the by-visit statistics use), so compliance never exceeds 100 %; *Off-schedule* =
    population subjects with an ONSCHFL = N record (a questionnaire where they were no longer
    expected, e.g. after progression), in no by-visit statistic. CONSORT-PRO (Calvert et al.,
    JAMA 2013;309:814) item 13: compliance = received / expected.

    ``stop_dates`` (USUBJID -> date) ends the questionnaire schedule earlier, e.g. at the first
    progression when the protocol collects questionnaires only until then.
    """
    if interval_weeks < 1:
        raise ValueError(f"interval_weeks must be at least 1, got {interval_weeks!r}")
    on_study = last_on_schedule(adsl, population, stop_dates)
    flagged = flag_schedule(adsl, adqs, window_days, population, stop_dates)
    got = flagged[flagged["ONSCHFL"].isin(["Y", "N"])] if len(flagged) else flagged
    received = got[got["ONSCHFL"].eq("Y")].groupby("AVISIT")["USUBJID"].nunique() if len(got) else pd.Series(dtype=int)
    off = got[got["ONSCHFL"].eq("N")].groupby("AVISIT")["USUBJID"].nunique() if len(got) else pd.Series(dtype=int)

    def expected_at(week: int) -> int:
        return int((on_study >= window_opens(week, window_days)).sum())

    weeks, week = [], interval_weeks
    last_received = int(got["AVISITN"].max()) if len(got) and got["AVISITN"].notna().any() else 0
    while expected_at(week) or week <= last_received:
        weeks.append(week)
        week += interval_weeks
    rows = []
    for visit, n_exp in [("BASELINE", len(on_study))] + [(f"WEEK {w}", expected_at(w)) for w in weeks]:
        n_got = int(received.get(visit, 0))
        rows.append({"Visit": visit, "Expected": n_exp, "Received": n_got,
                     "Compliance (%)": round_half_up(100 * n_got / n_exp, 1) if n_exp else "-",
                     "Off-schedule": int(off.get(visit, 0))})
    return pd.DataFrame(rows).set_index("Visit")


def treated_subjects(adsl: pd.DataFrame, population: str = "SAFFL") -> pd.DataFrame:
    """ADSL rows of the quality-of-life population: flag ``population`` = Y and treated (TRTSDT
    present; the questionnaire schedule runs from the first dose). Every QoL denominator."""
    return adsl[adsl[population].eq("Y") & adsl["TRTSDT"].notna()]


def without_baseline(adsl: pd.DataFrame, adqs: pd.DataFrame, population: str = "SAFFL") -> pd.Series:
    """USUBJIDs of ``population`` subjects with no baseline questionnaire (no ADQS record with
    ABLFL = Y for any scale). They have no change from baseline, so they are absent from the
    change, mixed-model, responder and time-to-deterioration analyses (ADQS rules)."""
    pop = treated_subjects(adsl, population)["USUBJID"]
    with_base = adqs.loc[adqs["ABLFL"].eq("Y"), "USUBJID"].unique() if len(adqs) else []
    return pop[~pop.isin(with_base)].reset_index(drop=True)


def incomplete_dates(adqs: pd.DataFrame) -> pd.DataFrame:
    """Questionnaires (subject, visit) kept in ADQS without an analysis date because QSDTC is
    partial or missing (ADQS ``ADTINCFL`` = Y): they get no analysis visit and are in no
    by-visit analysis."""
    if "ADTINCFL" not in adqs.columns:
        return pd.DataFrame(columns=["USUBJID", "VISIT"])
    return adqs.loc[adqs["ADTINCFL"].eq("Y"), ["USUBJID", "VISIT"]].drop_duplicates().reset_index(drop=True)


def by_visit(adqs: pd.DataFrame, paramcd: str, alpha: float = 0.05, min_n_ci: int = 3) -> pd.DataFrame:
    """Scores and change from baseline of one scale by analysis visit (numeric), from the
    records of :func:`analysis_set` (off-schedule questionnaires out when ADQS is flagged by
    :func:`flag_schedule`). The change CI is :func:`mean_ci` (t, level 1 - alpha, none for fewer
    than ``min_n_ci`` changes, clipped to :data:`CHANGE_RANGE`; ``change_ci_clipped`` says so)."""
    return by_visit_all(adqs, [paramcd], alpha, min_n_ci)[paramcd]


def by_visit_all(adqs: pd.DataFrame, paramcds, alpha: float = 0.05, min_n_ci: int = 3) -> dict[str, pd.DataFrame]:
    """:func:`by_visit` for several scales at once: PARAMCD -> its table. The analysis records
    and visits are found once and grouped once (ADQS is large: ~800,000 records at 10,000
    subjects), so every scale's table costs one group, not one pass over ADQS."""
    keep = analysis_mask(adqs)
    visits = visit_order(adqs.loc[keep, ["AVISIT", "AVISITN", "ANL01FL"]])
    wanted = list(paramcds)
    rows = adqs.loc[keep & adqs["PARAMCD"].isin(wanted), ["PARAMCD", "AVISIT", "AVAL", "CHG"]]
    groups = {key: g for key, g in rows.groupby(["PARAMCD", "AVISIT"], sort=False)}
    empty = rows.iloc[0:0]
    columns = ["visit", "n", "mean", "sd", "median", "min", "max", "n_change", "mean_change",
               "change_ci_low", "change_ci_high", "change_ci_clipped"]
    tables = {}
    for paramcd in wanted:
        out = []
        for visit in visits:
            v = groups.get((paramcd, visit), empty)
            chg = v["CHG"].dropna()
            low, high, clipped = mean_ci(chg, alpha, min_n_ci, CHANGE_RANGE)
            out.append({"visit": visit, "n": int(v["AVAL"].count()), "mean": v["AVAL"].mean(),
                        "sd": v["AVAL"].std(ddof=1), "median": v["AVAL"].median(), "min": v["AVAL"].min(),
                        "max": v["AVAL"].max(), "n_change": int(chg.count()),
                        "mean_change": chg.mean() if len(chg) else np.nan,
                        "change_ci_low": low, "change_ci_high": high, "change_ci_clipped": clipped})
        tables[paramcd] = pd.DataFrame(out, columns=columns)
    return tables


CLIPPED_MARK = "\u2020"   # dagger after a CI cut to the possible range


def _fmt(x, d=1):
    return "-" if pd.isna(x) else round_half_up(x, d)


def _ci_cell(est, low, high, clipped, n) -> str:
    if not n or pd.isna(est):
        return "-"
    if pd.isna(low):
        return f"{_fmt(est)} [-]"
    return f"{_fmt(est)} [{_fmt(low)}, {_fmt(high)}]" + (CLIPPED_MARK if clipped else "")


def by_visit_display(summary: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Display of :func:`by_visit` (one decimal for means, medians and CIs; two for SD). The CI
    column is labelled from ``alpha`` (:func:`ci_label`); "[-]" = no CI (too few changes), a
    dagger = CI clipped to the range of change (:func:`by_visit_notes` says both)."""
    return pd.DataFrame({
        "n": summary["n"].astype(str),
        "Mean (SD)": [f"{_fmt(m)} ({_fmt(s, 2)})" for m, s in zip(summary["mean"], summary["sd"])],
        "Median (min, max)": [f"{_fmt(m)} ({_fmt(a)}, {_fmt(b)})" for m, a, b in zip(summary["median"], summary["min"], summary["max"])],
        "n (change)": summary["n_change"].astype(str),
        f"Mean change [{ci_label(alpha)} CI]": [
            _ci_cell(m, a, b, c, n) for m, a, b, c, n in zip(summary["mean_change"], summary["change_ci_low"],
                                                              summary["change_ci_high"], summary["change_ci_clipped"], summary["n_change"])],
    }).set_axis(summary["visit"]).rename_axis("Visit")


def by_visit_notes(alpha: float, min_n_ci: int, clipped: bool = False) -> str:
    """Footnote of the by-visit tables and the figure: CI level from ``alpha``, the minimum n
    (``qol.min_n_ci``) and, when ``clipped``, that a CI was cut to the range of change."""
    text = (f"CI: two-sided {ci_label(alpha)} (alpha = {alpha:g}), t distribution. [-]: no CI with fewer "
            f"than {max(int(min_n_ci), 2)} changes (qol.min_n_ci).")
    if clipped:
        text += (f" {CLIPPED_MARK}: CI cut to the possible range of change ({CHANGE_RANGE[0]:g} to {CHANGE_RANGE[1]:g}); "
                 "the true mean lies in that range, so the cut interval keeps its coverage.")
    return text


def instruments_scored(adqs: pd.DataFrame) -> list[str]:
    """Instruments (ADQS PARCAT1) with at least one scored record, in ADQS order."""
    if adqs.empty or "PARCAT1" not in adqs.columns:
        return []
    return adqs.loc[adqs["AVAL"].notna(), "PARCAT1"].drop_duplicates().tolist()


def scoring_text(name: str, instruments=None) -> str:
    """How instrument ``name`` is scored, for the page: :data:`SCORING_SOURCES`, else its scale
    table (linear transformation to 0-100, half rule; :mod:`mpmlib.derive.qol_scoring`)."""
    if name in SCORING_SOURCES:
        return SCORING_SOURCES[name]
    from mpmlib.derive.qol_scoring import instrument

    return f"{name}, scored by its scale table {instrument(name, instruments)['scales']} (0-100, half rule)"


def qs_inventory(qs: pd.DataFrame | None, instruments=None) -> pd.DataFrame:
    """What the QS domain holds and what is analysed: one row per QS category (QSCAT, "(none)"
    when absent) and instrument of the instrument table whose ``qstestcd`` pattern matches the
    QSTESTCD (:func:`mpmlib.derive.adqs.item_codes`): records, subjects and whether it is
    scored. Codes of no instrument are not analysed (another instrument needs rows in the
    instrument table). ``QSALL`` not-done records are left out (they are missed questionnaires)."""
    from mpmlib.derive.adqs import item_codes
    from mpmlib.derive.qol_scoring import load_instruments

    cols = ["QS category (QSCAT)", "Records", "Subjects", "Analysed"]
    if qs is None or qs.empty or "QSTESTCD" not in qs.columns:
        return pd.DataFrame(columns=cols)
    rows = qs[qs["QSTESTCD"].astype(str).ne("QSALL")]
    codes, uniq = pd.factorize(rows["QSTESTCD"].astype(str))
    inst = item_codes(pd.Series(uniq, dtype=object), load_instruments(instruments))["INSTRUMENT"].to_numpy()[codes]
    cat = rows["QSCAT"].fillna("(none)").astype(str).to_numpy() if "QSCAT" in rows.columns else "(none)"
    frame = pd.DataFrame({"cat": cat, "inst": pd.Series(inst, dtype=object).fillna(""), "id": rows["USUBJID"].to_numpy()})
    out = frame.groupby(["cat", "inst"], sort=True).agg(Records=("id", "size"), Subjects=("id", "nunique")).reset_index()
    out["Analysed"] = np.where(out["inst"].ne(""), "yes: scored as " + out["inst"],
                               "no: no instrument of the instrument table matches its QSTESTCD")
    return out.rename(columns={"cat": cols[0]})[cols].set_index(cols[0])


NOT_MADE = "*Not made: no scored questionnaire in this input (see \"What the questionnaire data hold\").*"
"""What a section of the page shows when :func:`no_data_message` gave a reason."""


def no_data_message(qs: pd.DataFrame | None, adqs: pd.DataFrame, instruments=None) -> str | None:
    """Why the page has no analyses (Markdown), or None when ADQS has scores: no QS domain, or
    QS without a questionnaire of any instrument of the instrument table (named from it)."""
    from mpmlib.derive.qol_scoring import load_instruments

    if qs is None or qs.empty:
        return "> **No QS domain in this input.** Quality-of-life analyses cannot be made."
    if adqs.empty or adqs["AVAL"].notna().sum() == 0:
        names = ", ".join(md_text(n) for n in load_instruments(instruments)["instrument"])
        return (f"> **QS holds no questionnaire of an instrument this analysis scores ({names}; "
                "`mpmlib/resources/qol_instruments.csv`).** The table above lists what QS holds; none of it "
                "is analysed, so quality-of-life analyses cannot be made.")
    return None


def data_gaps(adsl: pd.DataFrame, adqs: pd.DataFrame, population: str = "SAFFL") -> pd.DataFrame:
    """Subject-level listing of what keeps questionnaires out of the analyses: population
    subjects without a baseline questionnaire (:func:`without_baseline`) and questionnaires with a
    partial or missing date (:func:`incomplete_dates`), one row per subject and finding (USUBJID,
    Finding), sorted by subject. The page shows USUBJID through ``Run.subject_ids``."""
    rows = [pd.DataFrame({"USUBJID": without_baseline(adsl, adqs, population), "Finding": "no baseline questionnaire"})]
    undated = incomplete_dates(adqs)
    if len(undated):
        rows.append(pd.DataFrame({"USUBJID": undated["USUBJID"],
                                  "Finding": "questionnaire with a partial or missing date (visit " + undated["VISIT"].astype(str) + ")"}))
    return pd.concat(rows, ignore_index=True).sort_values(["USUBJID", "Finding"], kind="stable").reset_index(drop=True)


def scale_directions(adqs: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    """Scale, instrument and what a higher score means (ADQS DIRECTION, from the scale table:
    +1 better, -1 worse; EORTC Scoring Manual §4 for the QLQ-C30) for the scales ``codes``."""
    rows = adqs.drop_duplicates("PARAMCD").set_index("PARAMCD").reindex(codes)
    return pd.DataFrame({"Scale": rows["PARAM"], "Instrument": rows["PARCAT1"],
                         "Higher score": np.where(rows["DIRECTION"].eq(1), "better", "worse")},
                        index=pd.Index(codes, name="Code"))


MODEL_COLUMNS = ["visit", "n", "estimate", "ci_low", "ci_high", "ci_clipped"]


def _on_schedule(adqs: pd.DataFrame) -> pd.DataFrame:
    """Drop off-schedule records (ONSCHFL present and not Y; :func:`flag_schedule`)."""
    return adqs[adqs["ONSCHFL"].eq("Y")] if "ONSCHFL" in adqs.columns else adqs


def mixed_model(adqs: pd.DataFrame, paramcd: str, min_n: int = 5, alpha: float = 0.05) -> tuple[pd.DataFrame, dict]:
    """Estimated mean change per visit from the linear mixed model (module docstring).

    Uses the changes of :func:`analysis_set` (off-schedule questionnaires out when ADQS carries
    ONSCHFL). Returns (estimates: visit, n, estimate, ci_low, ci_high, ci_clipped - Wald CI at
    level 1 - alpha cut to :data:`CHANGE_RANGE` by :func:`clip_ci`; info: n_subjects, n_obs,
    converged, random-intercept variance, residual variance, visits left out, clipped).
    """
    from mpmlib.analysis.stats import random_intercept_reml

    adqs = _on_schedule(adqs)
    data = adqs[adqs["PARAMCD"].eq(paramcd) & adqs["CHG"].notna() & adqs["BASE"].notna()].copy()
    counts = data.groupby("AVISITN").size()
    kept = counts[counts >= min_n].index
    dropped = sorted(data.loc[~data["AVISITN"].isin(kept), "AVISIT"].unique(), key=lambda v: int(v.split()[1]))
    data = data[data["AVISITN"].isin(kept)]
    info = {"n_subjects": int(data["USUBJID"].nunique()), "n_obs": len(data), "visits_left_out": dropped}
    if data["AVISITN"].nunique() < 1 or data["USUBJID"].nunique() < 3:
        return pd.DataFrame(columns=MODEL_COLUMNS), {**info, "converged": False, "clipped": False}
    levels = sorted(kept.astype(int))
    visit = pd.Categorical(data["AVISITN"].astype(int), categories=levels)
    # treatment coding, first kept visit as reference (as patsy's C(VISIT)); baseline centred
    design = pd.get_dummies(visit, prefix="WEEK", drop_first=True, dtype=float).set_axis(data.index)
    design.insert(0, "Intercept", 1.0)
    design["BASEC"] = data["BASE"] - data["BASE"].mean()
    try:
        fit = random_intercept_reml(data["CHG"], design, data["USUBJID"])
    except (ValueError, np.linalg.LinAlgError):
        return pd.DataFrame(columns=MODEL_COLUMNS), {**info, "converged": False, "clipped": False}
    names = design.columns
    z = sps.norm.ppf(1 - alpha / 2)
    out = []
    for level in levels:
        contrast = pd.Series(0.0, index=names)
        contrast["Intercept"] = 1.0
        if f"WEEK_{level}" in contrast.index:
            contrast[f"WEEK_{level}"] = 1.0
        est = float(contrast @ fit["params"])
        se = float(np.sqrt(contrast @ fit["cov_params"] @ contrast))
        low, high, clipped = clip_ci(est - z * se, est + z * se, CHANGE_RANGE)
        out.append({"visit": f"WEEK {level}", "n": int((visit == level).sum()), "estimate": est,
                    "ci_low": low, "ci_high": high, "ci_clipped": clipped})
    info.update(converged=fit["converged"], clipped=any(r["ci_clipped"] for r in out), group_variance=fit["tau2"], residual_variance=fit["sigma2"],
                baseline_coefficient=float(fit["params"]["BASEC"]))
    return pd.DataFrame(out), info


def responders(adqs: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """Per visit, subjects with a change from baseline: improved / stable / deteriorated n (%)
    (records of :func:`analysis_set`: off-schedule questionnaires out when ADQS is flagged)."""
    adqs = _on_schedule(adqs)
    rows = adqs[adqs["PARAMCD"].eq(paramcd) & adqs["CHG"].notna()]
    out = []
    for visit in [v for v in visit_order(adqs) if v != "BASELINE"]:
        v = rows[rows["AVISIT"].eq(visit)]
        n = len(v)
        imp, det = int(v["IMPRFL"].eq("Y").sum()), int(v["DETERFL"].eq("Y").sum())
        out.append({"Visit": visit, "n": n, "Improved": n_pct(imp, n), "Stable": n_pct(n - imp - det, n),
                    "Deteriorated": n_pct(det, n)})
    return pd.DataFrame(out).set_index("Visit")


def time_to_deterioration(adqs: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """TTD data per subject with a baseline score: AVAL (days, = study day), EVENT (1 =
    deterioration), for the Kaplan-Meier helpers (module docstring). Off-schedule questionnaires
    (ONSCHFL = N, :func:`flag_schedule`) are not used: follow-up ends with the schedule."""
    adqs = _on_schedule(adqs)
    rows = adqs[adqs["PARAMCD"].eq(paramcd)]
    with_base = rows[rows["ABLFL"].eq("Y")]["USUBJID"].unique()
    post = rows[rows["USUBJID"].isin(with_base) & rows["CHG"].notna()].sort_values(["USUBJID", "ADY"])
    first_event = post[post["DETERFL"].eq("Y")].groupby("USUBJID")["ADY"].min()
    last = post.groupby("USUBJID")["ADY"].max()
    out = pd.DataFrame({"USUBJID": with_base})
    out["EVENT"] = out["USUBJID"].isin(first_event.index).astype(int)
    out["AVAL"] = np.where(out["EVENT"].eq(1), out["USUBJID"].map(first_event), out["USUBJID"].map(last).fillna(1))
    out["CNSR"] = 1 - out["EVENT"]
    out["EVNTDESC"] = np.where(out["EVENT"].eq(1), "Deterioration >= threshold", "Last questionnaire")
    out["CNSDTDSC"] = np.where(out["EVENT"].eq(1), "",
                               np.where(out["USUBJID"].isin(last.index), "No deterioration at last questionnaire",
                                        "No post-baseline questionnaire"))
    return out


def model_display(estimates: pd.DataFrame, info: dict, alpha: float = 0.05) -> pd.DataFrame:
    """Display of :func:`mixed_model`: estimated mean change [CI at level 1 - alpha, labelled by
    :func:`ci_label`; dagger = clipped] per visit, and the variance components as footnote rows."""
    table = pd.DataFrame({
        "n": estimates["n"].astype(str).to_numpy(),
        f"Estimated mean change [{ci_label(alpha)} CI]": [
            _ci_cell(e, a, b, c, 1) for e, a, b, c in zip(estimates["estimate"], estimates["ci_low"],
                                                          estimates["ci_high"], estimates["ci_clipped"])],
    }, index=pd.Index(estimates["visit"], name="Visit"))
    table.loc["Baseline score (per point)"] = ["", round_half_up(info["baseline_coefficient"], 3)]
    table.loc["Between-subject / residual variance"] = [
        "", f"{round_half_up(info['group_variance'], 1)} / {round_half_up(info['residual_variance'], 1)}"]
    return table


def model_caption(label: str, info: dict, alpha: float = 0.05) -> str:
    """The line above a model table: scale, changes and subjects, convergence, visits left out,
    the CI level (:func:`ci_label`, Wald) and, when a CI was clipped, the footnote. ``label`` and
    the visit names (data text) are escaped for Markdown (:func:`mpmlib.tables.format.md_text`)."""
    text = f"**{md_text(label)}**: {info['n_obs']} changes from {info['n_subjects']} subjects"
    if not info.get("converged"):
        text += " — *the model did not converge; estimates not shown*"
    if info["visits_left_out"]:
        text += f"; visits left out (too few data): {md_text(', '.join(map(str, info['visits_left_out'])))}"
    text += f"; CI: {ci_label(alpha)} Wald"
    if info.get("clipped"):
        text += (f"; {CLIPPED_MARK} CI cut to the possible range of change "
                 f"({CHANGE_RANGE[0]:g} to {CHANGE_RANGE[1]:g})")
    return text


def progression_dates(adrs: pd.DataFrame) -> pd.Series:
    """USUBJID -> date of the first progression (ADRS PD), where the questionnaire schedule ends
    when ``qol.expected_until`` is "progression"."""
    if adrs is None or adrs.empty:
        return pd.Series(dtype="datetime64[ns]")
    rows = adrs[adrs["PARAMCD"].eq("PD") & adrs["AVALC"].eq("Y")]
    return rows.set_index("USUBJID")["ADT"]
