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
likelihood when a factor separates the outcome, see :mod:`mpmlib.analysis.models`), hazard ratios (Cox
regression with a proportional-hazards check) and log-rank tests, univariable and for a
pre-specified multivariable set, with events per variable and complete cases left out reported
next to each model; Kaplan-Meier curves by factor level; and the number of tests made, by
family (:func:`count_tests`).

What a reviewer reads is built from the settings actually used, never written for one trial:

* every odds- or hazard-ratio row names its comparison: "Non-epithelioid vs Epithelioid" (the
  level against the factor's reference level, :func:`reference_level`), ">=65 vs <65" (a
  pre-specified category against the lowest) or "per 10 years" (:func:`unit_text`);
* confidence levels are printed from ``alpha`` (:func:`ci_label`), never as a fixed "95%";
* the question explored is ``study.factors_question`` of the parameter file (or a generic
  sentence) followed by the endpoints analysed (:func:`question_text`), with the caveat that
  an uncontrolled association cannot be attributed to a treatment (:func:`attribution_caveat`);
* "no factor was chosen after looking at the data" is said only for a locked run whose lock
  holds this factor list (:func:`mpmlib.pages.factors.locked_factor_list`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


from mpmlib.analysis import models
from mpmlib.analysis import stats
from mpmlib.errors import DataError
from mpmlib.tables.format import ci_level, fmt_estimate, md_code, md_text

MISSING = "Missing"


def _cut_labels(cuts: list[float]) -> list[str]:
    fmt = [f"{c:g}" for c in cuts]
    return [f"<{fmt[0]}"] + [f"{a}-<{b}" for a, b in zip(fmt, fmt[1:])] + [f">={fmt[-1]}"]


def level_text(value) -> str:
    """A factor level as text, the same for a data value and a parameter value: text as given,
    a number without a trailing ".0" (``0``, ``0.0`` and ``"0"`` are all "0"; format ``g``), so
    a reference or map key written as text matches levels coded as numbers and vice versa."""
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{float(value):g}"
    return str(value)


def reference_level(spec: dict, levels: list[str]) -> str | None:
    """The reference level of a factor among its ``levels`` (text, :func:`level_text`).

    Rule, first that applies: no ``reference`` given -> the first level (sorted; for
    pre-specified categories the lowest); the reference as text equals a level (so reference
    "0" finds ECOG stored as 0.0, and 0 finds "0"); the reference is a data value that ``map``
    relabels (reference "M" with map M -> Male finds "Male"); exactly one level equals it
    ignoring case and surrounding blanks ("white" finds "WHITE"). Otherwise
    :class:`~mpmlib.errors.DataError` naming the factor, the reference and the levels available:
    a comparison against a level the analyst did not choose would be mislabelled."""
    if not levels:
        return None
    reference = spec.get("reference")
    if reference is None:
        return levels[0]
    text = level_text(reference)
    mapping = {level_text(k): level_text(v) for k, v in (spec.get("map") or {}).items()}
    folded = [lv for lv in levels if lv.strip().casefold() == text.strip().casefold()]
    for candidate in (text, mapping.get(text), folded[0] if len(folded) == 1 else None):
        if candidate in levels:
            return candidate
    raise DataError("ADSL", spec["var"], "factor reference level not found",
                    detail=f"factor {spec.get('label', spec['var'])!r}: reference {reference!r} is not a level "
                           f"in these data; levels available: {', '.join(levels)} (set factors.variables "
                           f"reference to one of them)")


def factor_frame(adsl: pd.DataFrame, specs: list[dict]) -> pd.DataFrame:
    """USUBJID plus, per factor, ``<VAR>@cat`` (level labels as text, "Missing" where missing,
    ordered reference level first, :func:`reference_level`) and, for continuous factors,
    ``<VAR>@num`` (value / unit). Data values, ``map`` keys and ``map`` values are compared as
    text (:func:`level_text`), so numeric codes and text in the parameter file agree."""
    out = adsl[["USUBJID"]].copy()
    for spec in specs:
        var = spec["var"]
        values = adsl[var] if var in adsl.columns else pd.Series(np.nan, index=adsl.index)
        if spec.get("kind") == "continuous":
            number = pd.to_numeric(values, errors="coerce")
            out[f"{var}@num"] = number / spec.get("unit", 1)
            cuts = sorted(spec.get("cuts", []))
            levels = _cut_labels(cuts) if cuts else []
            cat = (pd.cut(number, [-np.inf, *cuts, np.inf], right=False, labels=levels).astype(object) if cuts
                   else pd.Series(np.nan, index=adsl.index, dtype=object))
        else:
            mapping = {level_text(k): level_text(v) for k, v in (spec.get("map") or {}).items()}
            text = values.astype(object).where(values.notna()).map(level_text, na_action="ignore")
            cat = text.map(lambda v: mapping.get(v, v), na_action="ignore")
            levels = sorted(cat.dropna().unique(), key=str)
        reference = reference_level(spec, levels)
        if reference is not None:
            levels = [reference] + [lv for lv in levels if lv != reference]
        out[f"{var}@cat"] = pd.Categorical(cat.where(cat.notna(), MISSING),
                                           categories=levels + ([MISSING] if cat.isna().any() else []))
    return out


def has_levels(frame: pd.DataFrame, spec: dict) -> bool:
    """True when the factor has categories to compare (a continuous factor without cut-points has
    none: its ``@cat`` column holds only "Missing" and it is analysed per unit only)."""
    return any(lv != MISSING for lv in frame[f"{spec['var']}@cat"].cat.categories)


def continuous_term(spec: dict) -> str:
    """Model term of a continuous factor: ``VAR (per unit)``, or ``VAR`` when the unit is 1."""
    unit = spec.get("unit", 1)
    return f"{spec['var']} (per {unit:g})" if unit != 1 else spec["var"]


def design(frame: pd.DataFrame, spec: dict, continuous: bool) -> pd.DataFrame:
    """Model columns for one factor: dummies ``VAR[level]`` against the reference level (missing
    -> NaN, so the subject is left out of the model), or ``VAR (per unit)``."""
    var = spec["var"]
    if continuous:
        return pd.DataFrame({continuous_term(spec): frame[f"{var}@num"]})
    cat = frame[f"{var}@cat"]
    levels = [lv for lv in cat.cat.categories if lv != MISSING]
    missing = cat.eq(MISSING)
    cols = {f"{var}[{lv}]": np.where(missing, np.nan, cat.eq(lv).astype(float)) for lv in levels[1:]}
    return pd.DataFrame(cols, index=frame.index)


def unit_text(spec: dict) -> str:
    """What one step of a continuous factor is: "per <unit> <unit name>", the name taken from a
    trailing parenthesis of the label ("Age (years)", unit 10 -> "per 10 years"; "(%)" ->
    "percentage points"), else "per <unit>-unit increase" ("per 1-unit increase")."""
    unit = f"{spec.get('unit', 1):g}"
    label = str(spec.get("label", "")).strip()
    name = label[label.rfind("(") + 1:-1].strip() if label.endswith(")") and "(" in label else ""
    name = {"%": "percentage points"}.get(name, name)
    return f"per {unit} {name}" if name else f"per {unit}-unit increase"


def comparisons(frame: pd.DataFrame, specs: list[dict]) -> dict[str, dict]:
    """Model term -> {"comparison", "reference"} for every term :func:`design` can make: a level
    against the reference level ("Non-epithelioid vs Epithelioid", reference "Epithelioid"), a
    pre-specified category against the first (">=65 vs <65") or one unit step ("per 10 years",
    reference ""). So every odds- or hazard-ratio row says what it compares."""
    out = {}
    for spec in specs:
        if spec.get("kind") == "continuous":
            out[continuous_term(spec)] = {"comparison": unit_text(spec), "reference": ""}
        levels = [lv for lv in frame[f"{spec['var']}@cat"].cat.categories if lv != MISSING]
        for lv in levels[1:]:
            out[f"{spec['var']}[{lv}]"] = {"comparison": f"{lv} vs {levels[0]}", "reference": levels[0]}
    return out


def ci_label(alpha: float) -> str:
    """Two-sided confidence level of ``alpha`` as printed: "95% CI" for 0.05, "90% CI" for 0.1,
    "97.5% CI" for 0.025 (:func:`mpmlib.tables.format.ci_level`)."""
    return f"{ci_level(alpha)} CI"


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
    """Rate of a 0/1 outcome (indexed like ``frame``) by factor level, with Clopper-Pearson CIs
    at level 1 - ``alpha`` (column ``ci_label``, e.g. "90% CI"); first row = all subjects."""
    rows = [{"factor": "All subjects", "level": "", **_rate(outcome, alpha)}]
    for spec in specs:
        if not has_levels(frame, spec):
            continue
        col = frame[f"{spec['var']}@cat"]
        for level in col.cat.categories:
            rows.append({"factor": spec["label"], "level": level, **_rate(outcome[col.eq(level)], alpha)})
    return pd.DataFrame(rows).assign(ci_label=ci_label(alpha))


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
            rows += _rows(spec, continuous, table, info, ratio, comparisons(frame, [spec]), alpha)
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


def _result_row(factor: str, analysis: str, term: str, r: pd.Series, info: dict, ratio: str,
                compared: dict[str, dict], alpha: float) -> dict:
    """One odds- or hazard-ratio row; ``term`` (the model column) is shown as its comparison
    (:func:`comparisons`), the reference level is kept in ``reference``."""
    what = compared.get(term) or {"comparison": term, "reference": ""}
    return {"factor": factor, "analysis": analysis, "term": what["comparison"], "reference": what["reference"],
            "model_term": term, "estimate": r[ratio], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
            "ci_label": ci_label(alpha), "p_value": r["p_value"],
            "ph_p_value": _ph_p(info, term) if np.isfinite(r[ratio]) else np.nan,   # no PH check of no estimate
            "ph_method": info.get("ph_method"),
            "n": info.get("n_used"), "n_dropped": info.get("n_dropped"), "events": info.get("n_events"),
            "method": info.get("method") or "-", "note": model_notes(info, term)}


def _rows(spec: dict, continuous: bool, table: pd.DataFrame, info: dict, ratio: str, compared: dict[str, dict],
          alpha: float) -> list[dict]:
    analysis = "continuous" if continuous else (
        "categories at " + ", ".join(f"{c:g}" for c in spec["cuts"]) if spec.get("kind") == "continuous" else "levels")
    return [_result_row(spec["label"], analysis, term, r, info, ratio, compared, alpha) for term, r in table.iterrows()]


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


def shown_ci_label(results: pd.DataFrame) -> str:
    """The one confidence level of a result table (its ``ci_label`` column, set from ``alpha`` by
    the function that computed the CIs); ValueError when it is missing or mixed, so a label can
    never disagree with the intervals under it."""
    labels = results["ci_label"].dropna().unique() if "ci_label" in results else []
    if len(labels) != 1:
        raise ValueError(f"result table needs one ci_label, found {list(labels)}")
    return str(labels[0])


def rates_display(rates: pd.DataFrame) -> pd.DataFrame:
    """Subgroup rates: n, responders, rate % [CI at the level the rates were computed with]."""
    from mpmlib.tables.format import round_half_up

    return pd.DataFrame({
        "n": rates["n"].astype(str).to_numpy(), "Events": rates["events"].astype(str).to_numpy(),
        f"Rate, % [{shown_ci_label(rates)}]": [
            "-" if n == 0 else f"{round_half_up(100 * r, 1)} [{round_half_up(100 * a, 1)}, {round_half_up(100 * b, 1)}]"
            for n, r, a, b in zip(rates["n"], rates["rate"], rates["ci_low"], rates["ci_high"])],
    }, index=pd.MultiIndex.from_arrays([rates["factor"], rates["level"]], names=["Factor", "Level"]))


def ratios_display(results: pd.DataFrame, ratio_name: str) -> pd.DataFrame:
    """Univariable or multivariable results: what each row compares ("Non-epithelioid vs
    Epithelioid", "per 10 years"), ratio [CI at the computed level], p, n, events, method, the
    proportional-hazards test p (Cox results) and every note (:func:`model_notes`)."""
    if results.empty:
        return pd.DataFrame({"": ["No model could be fitted"]}).set_index("")
    return pd.DataFrame({
        f"{ratio_name} [{shown_ci_label(results)}]": [
            f"{fmt_estimate(e, 2)} [{fmt_estimate(a, 2)}, {fmt_estimate(b, 2)}]"
            for e, a, b in zip(results["estimate"], results["ci_low"], results["ci_high"])],
        "p": [_fmt_p(p) for p in results["p_value"]],
        "n": results["n"].astype("Int64").astype(str).to_numpy(), "Events": results["events"].astype("Int64").astype(str).to_numpy(),
        "Method": results["method"].replace({"ml": "ML", "firth": "Firth"}).to_numpy(),
        **({"PH test p": [_fmt_p(p) for p in results["ph_p_value"].astype(float)]}
           if "ph_p_value" in results and results["method"].astype(str).str.startswith("Cox").any() else {}),
        "Note": results["note"].fillna("").to_numpy(),
    }, index=pd.MultiIndex.from_arrays([results["factor"], results["analysis"], results["term"]],
                                       names=["Factor", "Analysis", "Comparison"]))


def ph_method_text(*results: pd.DataFrame) -> str:
    """The proportional-hazards test named from what the Cox fits report (``info["ph_method"]``,
    :data:`mpmlib.analysis.models.PH_TEST_METHOD`, carried in the rows' ``ph_method``), so the page names
    the test actually run; "" when no Cox row carries one."""
    methods = [m for r in results if "ph_method" in r for m in r["ph_method"].dropna().unique()]
    methods = list(dict.fromkeys(methods))
    return f"Proportional-hazards check: {md_text('; '.join(methods))}." if methods else ""


def multivariable_rows(frame: pd.DataFrame, specs: list[dict], table: pd.DataFrame, info: dict, ratio: str,
                       alpha: float = 0.05) -> pd.DataFrame:
    """Multivariable model coefficients as result rows (factor label from the term's variable,
    the term shown as its comparison, :func:`comparisons`), with every applicable note
    (:func:`model_notes`: Firth reason, model problem, PH check of the term), the PH test
    p-value (Cox) and the complete cases used / left out."""
    labels, compared = {s["var"]: s["label"] for s in specs}, comparisons(frame, specs)
    rows = []
    for term, r in table.iterrows():
        var = term.split("[", 1)[0].split(" (per", 1)[0]
        rows.append(_result_row(labels.get(var, var), "multivariable", term, r, info, ratio, compared, alpha))
    return pd.DataFrame(rows)


def epv_note(info: dict, minimum: float = 10) -> str:
    """Subjects used and left out (complete cases), events and events per variable of a
    multivariable model, with a warning when events per variable fall below ``minimum``
    (Peduzzi et al., J Clin Epidemiol 1996;49:1373), and the method notes of :func:`model_notes`
    (Firth's penalized likelihood and why, model problems; escaped for Markdown, as they name
    model terms built from factor levels of the data and the parameter file)."""
    epv = info.get("events_per_variable")
    dropped = info.get("n_dropped") or 0
    text = (f"{info.get('n_used', 0)} subjects ({dropped} left out for a missing model factor), "
            f"{info.get('n_events', 0)} events, events per variable {fmt_estimate(epv)}")
    if epv is not None and np.isfinite(epv) and epv < minimum:
        text += (f" — **below {minimum:g}: the model is over-fitted and its estimates unreliable "
                 "(Peduzzi et al. 1996); read it as a description, not as adjusted effects**")
    notes = model_notes({k: info.get(k) for k in ("firth_reason", "problem")})
    if notes:
        text += f". *Model notes:* {md_text(notes)}"
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
    :func:`mpmlib.analysis.efficacy.km_curves` (``stats.km_table``, matched to R ``survfit``). ``tte`` has
    AVAL and EVENT aligned with ``frame``; factors without categories (continuous without cuts)
    are left out."""
    from mpmlib.analysis import efficacy

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


# ---- page text: built from the settings and data used -------------------------------------------

#: Published sources of pre-specified cut-points, shown when a factor uses that cut-point.
CUT_POINT_SOURCES = {("NLRBL", 5): "Kao et al., Clin Cancer Res 2010;16:5805-13"}


def response_outcomes(adrs: pd.DataFrame, population: pd.DataFrame) -> dict[str, pd.Series]:
    """The 0/1 response outcomes analysed, one value per subject of ``population`` (row order,
    index 0..n-1): confirmed objective response (confirmed BOR ``CBOR`` in CR, PR) and disease
    control (CR, PR, SD, non-CR/non-PD), as :mod:`mpmlib.analysis.efficacy` (RECIST 1.1 section 4.4)."""
    from mpmlib.analysis import efficacy

    best = efficacy.best_response_by_subject(adrs, population, "CBOR").reset_index(drop=True)
    return {"Objective response (confirmed)": best.isin(efficacy.ORR_CODES).astype(int),
            "Disease control": best.isin(efficacy.DCR_CODES).astype(int)}


def endpoint_definitions(eff: dict, response: bool, survival: list[str], origin: str = "first dose") -> list[str]:
    """The endpoints this page analyses, defined from the efficacy settings used (RECIST 1.1
    section 4.4: confirmation ``confirmation_days`` later, SD at least ``sd_min_days`` after the
    time origin; the ``evaluator``'s assessments): the response endpoints when ``response`` (tumour
    responses analysed), then each of ``survival`` ("PFS", "OS") that is analysed."""
    out = []
    if response:
        out.append(f"confirmed objective response (best overall response CR or PR by RECIST 1.1, confirmed by an "
                   f"assessment at least {eff['confirmation_days']} days later; {md_text(eff['evaluator']).lower()} "
                   "assessments)")
        out.append(f"disease control (confirmed CR or PR, SD at least {eff['sd_min_days']} days after {origin}, "
                   "or non-CR/non-PD)")
    names = {"PFS": "progression-free survival (PFS)", "OS": "overall survival (OS)"}
    return out + [names.get(p, p) for p in survival]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "; ".join(items[:-1]) + "; and " + items[-1]


def question_text(question: str | None, endpoints: list[str]) -> str:
    """The question explored, for Markdown: ``study.factors_question`` of the parameter file
    (escaped, :func:`mpmlib.tables.format.md_text`) read as the endpoints actually analysed, or - when
    the parameter file has none - a generic sentence about baseline factors and those endpoints.
    Nothing here names a treatment: text that describes a study comes from its parameter file."""
    analysed = _join(endpoints) if endpoints else "no endpoint (none is available in this input)"
    if question and question.strip():
        asked = md_text(question.strip().rstrip("?").strip())
        return f"{asked}? Here this is read as: {analysed}."
    return f"This page explores which baseline factors go with the endpoints analysed: {analysed}."


def n_arms(population: pd.DataFrame) -> list[str]:
    """The treatment arms of the analysed subjects (actual treatment ``TRT01A``, else ``ARM``),
    sorted; empty when ADSL has neither."""
    column = next((c for c in ("TRT01A", "ARM") if c in population.columns), None)
    return sorted(population[column].dropna().astype(str).unique()) if column else []


def attribution_caveat(arms: list[str]) -> str:
    """Why no association here can be credited to a treatment, for any trial: with one arm there
    is no control group (ICH E10, section 1.3: an uncontrolled comparison cannot separate the
    treatment effect from prognosis); with several arms, the arms are pooled and never compared."""
    if len(arms) <= 1:
        return ("With a single arm and no control group, an association cannot be attributed to the study "
                "treatment: a factor that goes with better outcomes here may be prognostic (it would go with "
                "them under any treatment) rather than a marker of benefit from the treatment.")
    return (f"The subjects of all {len(arms)} arms ({', '.join(md_text(a) for a in arms)}) are analysed together "
            "and the arms are not compared: an association found here cannot be attributed to any treatment.")


def lab_factor_notes(specs: list[dict], lab_baseline: dict) -> list[str]:
    """Where each analysed laboratory factor comes from (``adsl.lab_baseline``): baseline = last
    non-missing LBSTRESN on or before the first dose (``mpmlib.derive.adsl.merge_lab_baseline``,
    admiral ABLFL), a ratio within one sample; with its cut-points and their source when known
    (:data:`CUT_POINT_SOURCES`)."""
    tests, ratios = lab_baseline.get("tests") or {}, lab_baseline.get("ratios") or {}
    notes = []
    for spec in specs:
        var = spec["var"]
        if var not in tests and var not in ratios:
            continue
        what = (f"{ratios[var][0]} / {ratios[var][1]} of the same sample" if var in ratios
                else f"LBTESTCD {tests[var]}")
        cuts = spec.get("cuts") or []
        sources = [CUT_POINT_SOURCES[(var, c)] for c in cuts if (var, c) in CUT_POINT_SOURCES]
        text = (f"{md_text(spec['label'])} ({md_code(var)}): SDTM LB {md_text(what)}, the last value on or before the "
                f"first dose; analysed {md_text(unit_text(spec))}")
        if cuts:
            text += f" and at the pre-specified cut-point(s) {', '.join(f'{c:g}' for c in cuts)}"
        notes.append(text + (f" ({'; '.join(sources)})" if sources else "") + ".")
    return notes


def chance_text(n_tests: int, alpha: float) -> str:
    """How many of ``n_tests`` unadjusted tests would reach p < ``alpha`` by chance alone if no
    factor mattered (expected number alpha x tests; the significance level is ``efficacy.alpha``)."""
    level = f"{100 * alpha:.4g}%"
    return (f"**Hypothesis tests in this report:** {n_tests}. At a {level} level, about "
            f"{fmt_estimate(alpha * n_tests)} would be expected to reach p < {alpha:g} by chance alone.")
