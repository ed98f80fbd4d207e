"""Quality-of-life analyses: ADSL + ADQS in, tables out (EORTC QLQ-C30).

* Compliance: questionnaires received / expected at each scheduled analysis visit. Expected =
  treated subjects still on study at the visit (window start on or before their last date on
  study: death, data cut-off or last contact, whichever is first, or the end of the questionnaire
  schedule, e.g. first progression, ``qol.expected_until``); received = an expected subject with a
  questionnaire with at least one answered item assigned to that visit (ADQS ANL01FL);
  questionnaires of subjects not expected are counted apart as off-schedule. EORTC / ISOQOL
  reporting practice (Calvert et al., JAMA 2013;309:814, CONSORT-PRO item 13).
* Scores and change from baseline by visit: n, mean, SD, median, min, max; mean change with a
  t-based 95 % CI. Only subjects with a baseline score contribute to change.
* Linear mixed model of change from baseline (REML, :func:`mpmlib.stats.random_intercept_reml`,
  the model of statsmodels MixedLM / lme4 / SAS PROC MIXED, vectorised): fixed effects visit
  (categorical) and baseline score (centred at its mean), random intercept per subject. Valid
  under missing at random given the observed scores (no imputation); visits with fewer than
  ``min_n`` observations are left out. Estimated mean change per visit = intercept + visit effect
  at the mean baseline, with Wald 95 % CIs from the fixed-effects covariance.
* Clinically meaningful change: >= 10 points (Osoba 1998) worse / better than baseline.
* Time to deterioration (TTD): first post-baseline questionnaire with a meaningful
  deterioration; censored at the last post-baseline questionnaire (day 1 when there is none);
  death is not an event (a sensitivity choice the SAP must name). Kaplan-Meier via mpmlib.stats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from .tables import n_pct, round_half_up

def visit_order(adqs: pd.DataFrame) -> list[str]:
    """BASELINE then scheduled weeks in time order (analysis visits present in ADQS)."""
    visits = adqs[adqs["ANL01FL"].eq("Y")][["AVISIT", "AVISITN"]].drop_duplicates().sort_values("AVISITN")
    return visits["AVISIT"].tolist()


def compliance(adsl: pd.DataFrame, adqs: pd.DataFrame, interval_weeks: int = 6, window_days: int = 14,
               population: str = "SAFFL", stop_dates: pd.Series | None = None) -> pd.DataFrame:
    """Expected, received, off-schedule and compliance (%) per analysis visit (module rules).

    Visits come from the schedule, not from ADQS: BASELINE, then every ``interval_weeks`` weeks
    up to the last visit at which anyone is expected (or, if later, the last visit with an
    off-schedule questionnaire), so a visit where nobody returned a questionnaire is shown with 0.
    *Received* counts only subjects expected at the visit, so compliance never exceeds 100 %;
    *Off-schedule* counts population subjects with a questionnaire at a visit where they were no
    longer expected (e.g. after their progression, when the schedule ends there). CONSORT-PRO
    (Calvert et al., JAMA 2013;309:814) item 13: compliance = received / expected.

    ``stop_dates`` (USUBJID -> date) ends the questionnaire schedule earlier, e.g. at the first
    progression when the protocol collects questionnaires only until then.
    """
    if interval_weeks < 1:
        raise ValueError(f"interval_weeks must be at least 1, got {interval_weeks!r}")
    pop = analysis_population(adsl, population)
    ends = [pop[c] for c in ("LSTALVDT", "DTHDT", "DCUTDT") if c in pop]
    if stop_dates is not None:
        ends.append(pop["USUBJID"].map(stop_dates))
    last = pd.concat(ends, axis=1).min(axis=1)
    on_study = pd.Series(((last - pop["TRTSDT"]).dt.days + 1).to_numpy(), index=pop["USUBJID"].to_numpy())
    got = adqs[adqs["ANL01FL"].eq("Y") & adqs["USUBJID"].isin(on_study.index)]
    received = got.groupby("AVISIT")["USUBJID"].unique()

    def expected_at(week: int) -> pd.Index:
        return on_study.index[(on_study >= 7 * week + 1 - window_days).to_numpy()]

    weeks, week = [], interval_weeks
    last_received = int(got["AVISITN"].max()) if got["AVISITN"].notna().any() else 0
    while len(expected_at(week)) or week <= last_received:
        weeks.append(week)
        week += interval_weeks
    rows = []
    for visit, expected in [("BASELINE", on_study.index)] + [(f"WEEK {w}", expected_at(w)) for w in weeks]:
        returned = pd.Index(received.get(visit, []))
        n_exp, n_got = len(expected), int(returned.isin(expected).sum())
        rows.append({"Visit": visit, "Expected": n_exp, "Received": n_got,
                     "Compliance (%)": round_half_up(100 * n_got / n_exp, 1) if n_exp else "-",
                     "Off-schedule": int((~returned.isin(expected)).sum())})
    return pd.DataFrame(rows).set_index("Visit")


def analysis_population(adsl: pd.DataFrame, population: str = "SAFFL") -> pd.DataFrame:
    """ADSL rows of the quality-of-life population: flag ``population`` = Y and treated (TRTSDT
    present; the questionnaire schedule runs from the first dose). Every QoL denominator."""
    return adsl[adsl[population].eq("Y") & adsl["TRTSDT"].notna()]


def without_baseline(adsl: pd.DataFrame, adqs: pd.DataFrame, population: str = "SAFFL") -> pd.Series:
    """USUBJIDs of ``population`` subjects with no baseline questionnaire (no ADQS record with
    ABLFL = Y for any scale). They have no change from baseline, so they are absent from the
    change, mixed-model, responder and time-to-deterioration analyses (ADQS rules)."""
    pop = analysis_population(adsl, population)["USUBJID"]
    with_base = adqs.loc[adqs["ABLFL"].eq("Y"), "USUBJID"].unique() if len(adqs) else []
    return pop[~pop.isin(with_base)].reset_index(drop=True)


def incomplete_dates(adqs: pd.DataFrame) -> pd.DataFrame:
    """Questionnaires (subject, visit) kept in ADQS without an analysis date because QSDTC is
    partial or missing (ADQS ``ADTINCFL`` = Y): they get no analysis visit and are in no
    by-visit analysis."""
    if "ADTINCFL" not in adqs.columns:
        return pd.DataFrame(columns=["USUBJID", "VISIT"])
    return adqs.loc[adqs["ADTINCFL"].eq("Y"), ["USUBJID", "VISIT"]].drop_duplicates().reset_index(drop=True)


def _ci(values: pd.Series, alpha: float = 0.05) -> tuple[float, float]:
    n = values.count()
    if n < 2:
        return (np.nan, np.nan)
    half = sps.t.ppf(1 - alpha / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return (values.mean() - half, values.mean() + half)


def by_visit(adqs: pd.DataFrame, paramcd: str, alpha: float = 0.05) -> pd.DataFrame:
    """Scores and change from baseline of one scale by analysis visit (numeric)."""
    rows = adqs[adqs["PARAMCD"].eq(paramcd) & adqs["ANL01FL"].eq("Y")]
    out = []
    for visit in visit_order(adqs):
        v = rows[rows["AVISIT"].eq(visit)]
        chg = v["CHG"].dropna()
        low, high = _ci(chg, alpha)
        out.append({"visit": visit, "n": int(v["AVAL"].count()), "mean": v["AVAL"].mean(), "sd": v["AVAL"].std(ddof=1),
                    "median": v["AVAL"].median(), "min": v["AVAL"].min(), "max": v["AVAL"].max(),
                    "n_change": int(chg.count()), "mean_change": chg.mean() if len(chg) else np.nan,
                    "change_ci_low": low, "change_ci_high": high})
    return pd.DataFrame(out)


def by_visit_display(summary: pd.DataFrame) -> pd.DataFrame:
    """Display of :func:`by_visit` (one decimal for means, medians and CIs)."""
    def f(x, d=1):
        return "-" if pd.isna(x) else round_half_up(x, d)
    return pd.DataFrame({
        "n": summary["n"].astype(str), "Mean (SD)": [f"{f(m)} ({f(s, 2)})" for m, s in zip(summary["mean"], summary["sd"])],
        "Median (min, max)": [f"{f(m)} ({f(a)}, {f(b)})" for m, a, b in zip(summary["median"], summary["min"], summary["max"])],
        "n (change)": summary["n_change"].astype(str),
        "Mean change [95% CI]": [f"{f(m)} [{f(a)}, {f(b)}]" if n else "-" for m, a, b, n in
                                 zip(summary["mean_change"], summary["change_ci_low"], summary["change_ci_high"], summary["n_change"])],
    }).set_axis(summary["visit"]).rename_axis("Visit")


def mixed_model(adqs: pd.DataFrame, paramcd: str, min_n: int = 5, alpha: float = 0.05) -> tuple[pd.DataFrame, dict]:
    """Estimated mean change per visit from the linear mixed model (module docstring).

    Returns (estimates: visit, n, estimate, ci_low, ci_high; info: n_subjects, n_obs, converged,
    random-intercept variance, residual variance, visits left out).
    """
    from .stats import random_intercept_reml

    data = adqs[adqs["PARAMCD"].eq(paramcd) & adqs["CHG"].notna() & adqs["BASE"].notna()].copy()
    counts = data.groupby("AVISITN").size()
    kept = counts[counts >= min_n].index
    dropped = sorted(data.loc[~data["AVISITN"].isin(kept), "AVISIT"].unique(), key=lambda v: int(v.split()[1]))
    data = data[data["AVISITN"].isin(kept)]
    info = {"n_subjects": int(data["USUBJID"].nunique()), "n_obs": len(data), "visits_left_out": dropped}
    if data["AVISITN"].nunique() < 1 or data["USUBJID"].nunique() < 3:
        return pd.DataFrame(columns=["visit", "n", "estimate", "ci_low", "ci_high"]), {**info, "converged": False}
    levels = sorted(kept.astype(int))
    visit = pd.Categorical(data["AVISITN"].astype(int), categories=levels)
    # treatment coding, first kept visit as reference (as patsy's C(VISIT)); baseline centred
    design = pd.get_dummies(visit, prefix="WEEK", drop_first=True, dtype=float).set_axis(data.index)
    design.insert(0, "Intercept", 1.0)
    design["BASEC"] = data["BASE"] - data["BASE"].mean()
    try:
        fit = random_intercept_reml(data["CHG"], design, data["USUBJID"])
    except (ValueError, np.linalg.LinAlgError):
        return pd.DataFrame(columns=["visit", "n", "estimate", "ci_low", "ci_high"]), {**info, "converged": False}
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
        out.append({"visit": f"WEEK {level}", "n": int((visit == level).sum()), "estimate": est,
                    "ci_low": est - z * se, "ci_high": est + z * se})
    info.update(converged=fit["converged"], group_variance=fit["tau2"], residual_variance=fit["sigma2"],
                baseline_coefficient=float(fit["params"]["BASEC"]))
    return pd.DataFrame(out), info


def responders(adqs: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """Per visit, subjects with a change from baseline: improved / stable / deteriorated n (%)."""
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
    deterioration), for the Kaplan-Meier helpers (module docstring)."""
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


def model_display(estimates: pd.DataFrame, info: dict) -> pd.DataFrame:
    """Display of :func:`mixed_model`: estimated mean change [95 % CI] per visit, and the
    variance components as a footnote row."""
    table = pd.DataFrame({
        "n": estimates["n"].astype(str).to_numpy(),
        "Estimated mean change [95% CI]": [f"{round_half_up(e, 1)} [{round_half_up(a, 1)}, {round_half_up(b, 1)}]"
                                           for e, a, b in zip(estimates["estimate"], estimates["ci_low"], estimates["ci_high"])],
    }, index=pd.Index(estimates["visit"], name="Visit"))
    table.loc["Baseline score (per point)"] = ["", round_half_up(info["baseline_coefficient"], 3)]
    table.loc["Between-subject / residual variance"] = [
        "", f"{round_half_up(info['group_variance'], 1)} / {round_half_up(info['residual_variance'], 1)}"]
    return table


def progression_dates(adrs: pd.DataFrame) -> pd.Series:
    """USUBJID -> date of the first progression (ADRS PD), where the questionnaire schedule ends
    when ``qol.expected_until`` is "progression"."""
    if adrs is None or adrs.empty:
        return pd.Series(dtype="datetime64[ns]")
    rows = adrs[adrs["PARAMCD"].eq("PD") & adrs["AVALC"].eq("Y")]
    return rows.set_index("USUBJID")["ADT"]
