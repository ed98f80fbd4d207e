"""Influencing factors: which baseline characteristics go with response and survival.

An exploratory analysis on a small single-arm sample (parameters: ``factors:`` in the parameter
file). Each factor is an ADSL variable with a label and either

* ``kind: categorical`` - levels (optionally relabelled / pooled by ``map``), ``reference``
  level first; or
* ``kind: continuous`` - analysed per ``unit`` (e.g. per 10 years) *and* at the pre-specified
  ``cuts`` (e.g. ``[65]`` gives "<65" and ">=65"), never at data-driven cut-points.

Missing values stay missing: subgroup tables show a "Missing" row so every subject is counted;
models use complete cases and say how many were left out.

Results: rates with exact CIs by subgroup, odds ratios (logistic regression; Firth's penalized
likelihood when a factor separates the outcome, see :mod:`mpmlib.models`), hazard ratios (Cox
regression with a proportional-hazards check) and log-rank tests, univariable and for a
pre-specified multivariable set, with events per variable and complete cases left out reported
next to each model; Kaplan-Meier curves by factor level; and the number of tests made, by
family (:func:`count_tests`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import models, stats
from .tables import fmt_estimate

MISSING = "Missing"


def _cut_labels(cuts: list[float]) -> list[str]:
    fmt = [f"{c:g}" for c in cuts]
    return [f"<{fmt[0]}"] + [f"{a}-<{b}" for a, b in zip(fmt, fmt[1:])] + [f">={fmt[-1]}"]


def factor_frame(adsl: pd.DataFrame, specs: list[dict]) -> pd.DataFrame:
    """USUBJID plus, per factor, ``<VAR>@cat`` (level labels, "Missing" where missing, ordered
    reference first) and, for continuous factors, ``<VAR>@num`` (value / unit)."""
    out = adsl[["USUBJID"]].copy()
    for spec in specs:
        var = spec["var"]
        values = adsl[var] if var in adsl.columns else pd.Series(np.nan, index=adsl.index)
        if spec.get("kind") == "continuous":
            number = pd.to_numeric(values, errors="coerce")
            out[f"{var}@num"] = number / spec.get("unit", 1)
            cuts = sorted(spec.get("cuts", []))
            if cuts:
                labels = _cut_labels(cuts)
                cat = pd.cut(number, [-np.inf, *cuts, np.inf], right=False, labels=labels).astype(object)
            else:
                cat = pd.Series(np.nan, index=adsl.index, dtype=object)
            levels = labels if cuts else []
        else:
            text = values.astype(object).where(values.notna())
            text = text.map(lambda v: v if isinstance(v, str) else (f"{v:g}" if isinstance(v, (int, float)) else v),
                            na_action="ignore")
            cat = text.map(lambda v: spec.get("map", {}).get(v, v), na_action="ignore")
            levels = sorted(cat.dropna().unique(), key=str)
        reference = spec.get("reference")
        if reference in levels:
            levels = [reference] + [lv for lv in levels if lv != reference]
        out[f"{var}@cat"] = pd.Categorical(cat.where(cat.notna(), MISSING),
                                           categories=levels + ([MISSING] if cat.isna().any() else []))
    return out


def has_levels(frame: pd.DataFrame, spec: dict) -> bool:
    """True when the factor has categories to compare (a continuous factor without cut-points has
    none: its ``@cat`` column holds only "Missing" and it is analysed per unit only)."""
    return any(lv != MISSING for lv in frame[f"{spec['var']}@cat"].cat.categories)


def design(frame: pd.DataFrame, spec: dict, continuous: bool) -> pd.DataFrame:
    """Model columns for one factor: dummies ``VAR[level]`` against the reference level (missing
    -> NaN, so the subject is left out of the model), or ``VAR (per unit)``."""
    var = spec["var"]
    if continuous:
        unit = spec.get("unit", 1)
        return pd.DataFrame({f"{var} (per {unit:g})" if unit != 1 else var: frame[f"{var}@num"]})
    cat = frame[f"{var}@cat"]
    levels = [lv for lv in cat.cat.categories if lv != MISSING]
    missing = cat.eq(MISSING)
    cols = {f"{var}[{lv}]": np.where(missing, np.nan, cat.eq(lv).astype(float)) for lv in levels[1:]}
    return pd.DataFrame(cols, index=frame.index)


def analysis_terms(frame: pd.DataFrame, specs: list[dict]) -> list[tuple[dict, bool]]:
    """(spec, continuous?) for every analysis of every factor: continuous factors twice."""
    terms = []
    for spec in specs:
        if spec.get("kind") == "continuous":
            terms.append((spec, True))
            if spec.get("cuts"):
                terms.append((spec, False))
        else:
            terms.append((spec, False))
    return terms


def subgroup_rates(frame: pd.DataFrame, outcome: pd.Series, specs: list[dict], alpha: float = 0.05) -> pd.DataFrame:
    """Rate of a 0/1 outcome (indexed like ``frame``) by factor level, with Clopper-Pearson CIs;
    first row = all subjects."""
    rows = [{"factor": "All subjects", "level": "", **_rate(outcome, alpha)}]
    for spec in specs:
        if not has_levels(frame, spec):
            continue
        col = frame[f"{spec['var']}@cat"]
        for level in col.cat.categories:
            rows.append({"factor": spec["label"], "level": level, **_rate(outcome[col.eq(level)], alpha)})
    return pd.DataFrame(rows)


def _rate(values: pd.Series, alpha: float) -> dict:
    n, x = int(values.notna().sum()), int(values.sum())
    low, high = stats.exact_binomial_ci(x, n, alpha) if n else (np.nan, np.nan)
    return {"n": n, "events": x, "rate": x / n if n else np.nan, "ci_low": low, "ci_high": high}


def _fit(x: pd.DataFrame, outcome: pd.Series | None, tte: pd.DataFrame | None, alpha: float):
    """Logistic model of ``outcome`` (0/1) or Cox model of ``tte`` (AVAL, EVENT) on columns ``x``."""
    if outcome is not None:
        return models.logistic_regression(x.assign(_y=outcome.to_numpy()), "_y", list(x.columns), alpha)
    data = x.assign(_t=tte["AVAL"].to_numpy(), _e=tte["EVENT"].to_numpy())
    return models.cox_regression(data, "_t", "_e", list(x.columns), alpha)


def _univariable(frame, specs, outcome, tte, alpha, ratio) -> pd.DataFrame:
    rows = []
    for spec, continuous in analysis_terms(frame, specs):
        x = design(frame, spec, continuous)
        if x.shape[1]:
            table, info = _fit(x, outcome, tte, alpha)
            rows += _rows(spec, continuous, table, info, ratio)
    return pd.DataFrame(rows)


def univariable_logistic(frame: pd.DataFrame, outcome: pd.Series, specs: list[dict], alpha: float = 0.05) -> pd.DataFrame:
    """One logistic model per factor analysis (continuous and categorised separately)."""
    return _univariable(frame, specs, outcome, None, alpha, "odds_ratio")


def univariable_cox(frame: pd.DataFrame, tte: pd.DataFrame, specs: list[dict], alpha: float = 0.05) -> pd.DataFrame:
    """One Cox model per factor analysis; ``tte`` has AVAL and EVENT aligned with ``frame``."""
    return _univariable(frame, specs, None, tte, alpha, "hazard_ratio")


def multivariable(frame: pd.DataFrame, specs: list[dict], chosen: list[str], outcome: pd.Series | None = None,
                  tte: pd.DataFrame | None = None, alpha: float = 0.05) -> tuple[pd.DataFrame, dict]:
    """Multivariable logistic (``outcome``) or Cox (``tte``) model of the pre-specified factors
    ``chosen`` (continuous factors enter continuously)."""
    parts = [design(frame, spec, spec.get("kind") == "continuous") for spec in specs if spec["var"] in chosen]
    x = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)
    return _fit(x, outcome, tte, alpha)


def model_notes(info: dict, term: str | None = None) -> str:
    """Every note that applies to a model's estimate, joined by "; ": why Firth's penalized
    likelihood replaced maximum likelihood (``firth_reason``), a model problem (``problem``: a
    term not estimable, a fit that failed) and, for Cox models, a failed proportional-hazards
    check of ``term`` (or of any term when ``term`` is None). None of them hides another."""
    notes = []
    if info.get("firth_reason"):
        notes.append(f"Firth: {info['firth_reason']}")
    if info.get("problem"):
        notes.append(str(info["problem"]))
    violated = info.get("ph_violated") or []
    if (term in violated) if term is not None else bool(violated):
        notes.append("PH assumption doubtful")
    return "; ".join(notes)


def _ph_p(info: dict, term: str) -> float:
    """Proportional-hazards test p-value of ``term`` (Cox models; NaN otherwise)."""
    ph = info.get("ph_test")
    if ph is None or term not in getattr(ph, "index", []):
        return np.nan
    return float(ph.loc[term, "p_value"])


def _result_row(factor: str, analysis: str, term: str, r: pd.Series, info: dict, ratio: str) -> dict:
    level = term.split("[", 1)[1].rstrip("]") if "[" in term else term
    return {"factor": factor, "analysis": analysis, "term": level, "estimate": r[ratio], "ci_low": r["ci_low"],
            "ci_high": r["ci_high"], "p_value": r["p_value"],
            "ph_p_value": _ph_p(info, term) if np.isfinite(r[ratio]) else np.nan,   # no PH check of no estimate
            "n": info.get("n_used"), "n_dropped": info.get("n_dropped"), "events": info.get("n_events"),
            "method": info.get("method") or "-", "note": model_notes(info, term)}


def _rows(spec: dict, continuous: bool, table: pd.DataFrame, info: dict, ratio: str) -> list[dict]:
    analysis = f"continuous, per {spec.get('unit', 1):g}" if continuous else (
        "categories at " + ", ".join(f"{c:g}" for c in spec["cuts"]) if spec.get("kind") == "continuous" else "levels")
    return [_result_row(spec["label"], analysis, term, r, info, ratio) for term, r in table.iterrows()]


def logrank_by_factor(frame: pd.DataFrame, tte: pd.DataFrame, specs: list[dict]) -> pd.DataFrame:
    """Log-rank test per factor over its non-missing levels (levels listed in category order,
    reference first)."""
    rows = []
    for spec in specs:
        if not has_levels(frame, spec):
            continue
        col = frame[f"{spec['var']}@cat"]
        keep = col.ne(MISSING).to_numpy()
        data = pd.DataFrame({"t": tte["AVAL"].to_numpy()[keep], "e": tte["EVENT"].to_numpy()[keep],
                             "g": col.astype(str).to_numpy()[keep]})
        result = models.logrank(data, "t", "e", "g")
        groups = [str(g) for g in (result.get("groups") or [])]
        ordered = [str(lv) for lv in col.cat.categories if str(lv) in groups]   # category order, reference first
        rows.append({"factor": spec["label"], "levels": ", ".join(ordered),
                     "chi_square": result["statistic"], "df": result["df"], "p_value": result["p_value"],
                     "note": result.get("reason") or ""})
    return pd.DataFrame(rows)


def _fmt_p(p: float) -> str:
    return ("<0.001" if p < 0.001 else fmt_estimate(p, 3)) if np.isfinite(p) else "-"


def logrank_display(results: pd.DataFrame) -> pd.DataFrame:
    """Log-rank results for reviewers: levels compared, chi-square, df, p."""
    return pd.DataFrame({
        "Levels compared": results["levels"].to_numpy(),
        "Chi-square": [fmt_estimate(x, 2) for x in results["chi_square"]],
        "df": ["-" if not np.isfinite(d) else str(int(d)) for d in results["df"]],
        "p": [_fmt_p(p) for p in results["p_value"]],
        "Note": results["note"].to_numpy(),
    }, index=pd.Index(results["factor"], name="Factor"))


# ---- display ------------------------------------------------------------------------------------

def rate_forest_rows(rates: pd.DataFrame) -> pd.DataFrame:
    """Forest-plot rows for subgroup rates: a header row per factor, then its levels with
    "x/n" at the right."""
    rows = []
    for factor, group in rates.groupby("factor", sort=False):
        if factor != "All subjects":
            rows.append({"label": factor, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "right": "",
                         "header": True})
        for r in group.itertuples():
            rows.append({"label": r.level or factor, "estimate": r.rate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                         "right": f"{r.events}/{r.n}", "header": factor == "All subjects"})
    return pd.DataFrame(rows)


def ratio_forest_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Forest-plot rows for odds or hazard ratios (univariable results): header per factor and
    analysis, then each term vs the reference, estimate (CI) at the right (no rows when no model
    could be fitted)."""
    rows = []
    if results.empty:
        return pd.DataFrame(columns=["label", "estimate", "ci_low", "ci_high", "right", "header"])
    for (factor, analysis), group in results.groupby(["factor", "analysis"], sort=False):
        rows.append({"label": f"{factor} ({analysis})", "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                     "right": "", "header": True})
        for r in group.itertuples():
            rows.append({"label": f"  {r.term}", "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                         "right": f"{fmt_estimate(r.estimate, 2)} ({fmt_estimate(r.ci_low, 2)}-{fmt_estimate(r.ci_high, 2)})"
                                  + (" F" if r.method == "firth" else ""), "header": False})
    return pd.DataFrame(rows)


def rates_display(rates: pd.DataFrame) -> pd.DataFrame:
    """Subgroup rates: n, responders, rate % [95% CI]."""
    from .tables import round_half_up

    return pd.DataFrame({
        "n": rates["n"].astype(str).to_numpy(), "Events": rates["events"].astype(str).to_numpy(),
        "Rate, % [95% CI]": ["-" if n == 0 else f"{round_half_up(100 * r, 1)} [{round_half_up(100 * a, 1)}, "
                             f"{round_half_up(100 * b, 1)}]" for n, r, a, b in
                             zip(rates["n"], rates["rate"], rates["ci_low"], rates["ci_high"])],
    }, index=pd.MultiIndex.from_arrays([rates["factor"], rates["level"]], names=["Factor", "Level"]))


def ratios_display(results: pd.DataFrame, ratio_name: str) -> pd.DataFrame:
    """Univariable or multivariable results: ratio [95% CI], p, n, events, method, the
    proportional-hazards test p (Cox results) and every note (:func:`model_notes`)."""
    if results.empty:
        return pd.DataFrame({"": ["No model could be fitted"]}).set_index("")
    return pd.DataFrame({
        f"{ratio_name} [95% CI]": [f"{fmt_estimate(e, 2)} [{fmt_estimate(a, 2)}, {fmt_estimate(b, 2)}]" for e, a, b in
                                   zip(results["estimate"], results["ci_low"], results["ci_high"])],
        "p": [_fmt_p(p) for p in results["p_value"]],
        "n": results["n"].astype("Int64").astype(str).to_numpy(), "Events": results["events"].astype("Int64").astype(str).to_numpy(),
        "Method": results["method"].replace({"ml": "ML", "firth": "Firth"}).to_numpy(),
        **({"PH test p": [_fmt_p(p) for p in results["ph_p_value"].astype(float)]}
           if "ph_p_value" in results and results["method"].astype(str).str.startswith("Cox").any() else {}),
        "Note": results["note"].fillna("").to_numpy(),
    }, index=pd.MultiIndex.from_arrays([results["factor"], results["analysis"], results["term"]],
                                       names=["Factor", "Analysis", "Level / term"]))


def multivariable_rows(spec_labels: dict[str, str], table: pd.DataFrame, info: dict, ratio: str) -> pd.DataFrame:
    """Multivariable model coefficients as result rows (factor label from the term's variable),
    with every applicable note (:func:`model_notes`: Firth reason, model problem, PH check of the
    term), the PH test p-value (Cox) and the complete cases used / left out."""
    rows = []
    for term, r in table.iterrows():
        var = term.split("[", 1)[0].split(" (per", 1)[0]
        rows.append(_result_row(spec_labels.get(var, var), "multivariable", term, r, info, ratio))
    return pd.DataFrame(rows)


def epv_note(info: dict, minimum: float = 10) -> str:
    """Subjects used and left out (complete cases), events and events per variable of a
    multivariable model, with a warning when events per variable fall below ``minimum``
    (Peduzzi et al., J Clin Epidemiol 1996;49:1373), and the method notes of :func:`model_notes`
    (Firth's penalized likelihood and why, model problems)."""
    epv = info.get("events_per_variable")
    dropped = info.get("n_dropped") or 0
    text = (f"{info.get('n_used', 0)} subjects ({dropped} left out for a missing model factor), "
            f"{info.get('n_events', 0)} events, events per variable {fmt_estimate(epv)}")
    if epv is not None and np.isfinite(epv) and epv < minimum:
        text += (f" — **below {minimum:g}: the model is over-fitted and its estimates unreliable "
                 "(Peduzzi et al. 1996); read it as a description, not as adjusted effects**")
    notes = model_notes({k: info.get(k) for k in ("firth_reason", "problem")})
    if notes:
        text += f". *Model notes:* {notes}"
    return text


def count_tests(results: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Number of hypothesis tests shown in the report, by family: every finite p-value.

    ``results``: (family, result table) pairs, e.g. ("Logistic, univariable", univariable rows).
    Each finite ``p_value`` counts once in its family; each finite ``ph_p_value`` (Cox models)
    counts once in "Proportional-hazards check". NaN p-values (a model not estimable, a log-rank
    test without two groups) are not tests. The last row is the total. Rationale: the reader
    needs the number of tests made to judge unadjusted p-values (ICH E9 section 5.6; Wang et al.,
    NEJM 2007;357:2189 on reporting subgroup analyses)."""
    counts: dict[str, int] = {}
    for family, table in results:
        for column, name in (("p_value", family), ("ph_p_value", "Proportional-hazards check")):
            if table is None or column not in getattr(table, "columns", []):
                continue
            p = pd.to_numeric(table[column], errors="coerce").to_numpy(float)
            counts[name] = counts.get(name, 0) + int(np.isfinite(p).sum())
    ph = "Proportional-hazards check"
    order = [f for f in counts if f != ph] + ([ph] if ph in counts else [])      # PH checks last
    out = pd.DataFrame({"Tests": [counts[f] for f in order]}, index=pd.Index(order, name="Family"))
    out.loc["Total"] = int(out["Tests"].sum())
    return out.astype(int)


def firth_footnote(results: pd.DataFrame) -> str | None:
    """Footnote for :func:`ratio_forest_rows`' " F" mark, when any estimate used Firth."""
    if results.empty or not results["method"].eq("firth").any():
        return None
    return "F = Firth's penalized likelihood (the factor separates the outcome; profile-likelihood CI)"


def km_by_factor(frame: pd.DataFrame, tte: pd.DataFrame, specs: list[dict], conf_type: str = "log-log",
                 alpha: float = 0.05) -> dict[str, dict[str, pd.DataFrame]]:
    """Kaplan-Meier tables by factor level: factor label -> {"level (n=..)" -> KM table}, levels in
    category order (reference first, "Missing" last so every subject is shown), computed by
    :func:`mpmlib.efficacy.km_curves` (``stats.km_table``, matched to R ``survfit``). ``tte`` has
    AVAL and EVENT aligned with ``frame``; factors without categories (continuous without cuts)
    are left out."""
    from . import efficacy

    out = {}
    for spec in specs:
        if not has_levels(frame, spec):
            continue
        col = frame[f"{spec['var']}@cat"]
        curves = {}
        for level in col.cat.categories:
            rows = tte[col.eq(level).to_numpy() & tte["AVAL"].notna().to_numpy()]
            if len(rows):
                curves[f"{level} (n={len(rows)})"] = efficacy.km_curves(rows, None, conf_type, alpha)["All subjects"]
        if curves:
            out[spec["label"]] = curves
    return out
