"""Regression models of the influencing-factors analysis: odds ratios, hazard ratios, log-rank.

* Complete cases: rows missing any model variable are left out and counted (``n_used``,
  ``n_dropped``); a covariate without variation in the used rows, or whose estimate diverges,
  gets a NaN row and ``info["problem"]`` says why. No data pattern of the trial raises.
* Logistic: ``"ml"`` = statsmodels ``Logit`` with Wald CIs/p-values (R ``glm``, ``confint.default``);
  ``"firth"`` = Firth (1993) penalised likelihood fitted as R ``logistf`` (Heinze & Schemper 2002:
  modified-score Newton-Raphson, profile penalised-likelihood CIs, penalised LR p-values);
  ``"auto"`` = ML unless :func:`_separation_reason` finds (quasi-)separation, then Firth.
* Cox: lifelines ``CoxPHFitter`` (Efron ties, the R ``coxph`` default), Wald CIs/p-values, and
  the Schoenfeld-residual PH test per covariate (lifelines has no global test).
* statsmodels / lifelines warnings never leak: they are returned in ``info["warnings"]``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

LOGISTIC_COLUMNS = ["coef", "se", "odds_ratio", "ci_low", "ci_high", "p_value"]
COX_COLUMNS = ["coef", "se", "hazard_ratio", "ci_low", "ci_high", "p_value"]
#: Separation rule of method "auto": |coef| or SE beyond these on the ML fit means a diverging estimate.
MAX_ABS_COEF, MAX_SE = 10.0, 1e3
#: Fitted probability this close to 0 or 1 is "numerically 0 or 1" (R ``glm.fit``: 10 * .Machine$double.eps).
PROB_EPS = 10 * np.finfo(float).eps


def _prepare(data: pd.DataFrame, responses: list[str], covariates: list[str], columns: list[str]):
    """Complete cases of the model variables (as floats), the number of rows left out, an all-NaN
    result table, the covariates with variation in those rows, and a problem list naming the others."""
    missing = [c for c in [*responses, *covariates] if c not in data.columns]
    if missing:
        raise ValueError(f"columns not in the data: {missing}")
    raw = data[[*responses, *covariates]]
    frame = raw.apply(pd.to_numeric, errors="coerce").astype(float)
    text = [c for c in frame.columns if (frame[c].isna() & raw[c].notna()).any()]
    if text:
        raise ValueError(f"non-numeric values in {text}: dummy-code categorical factors first")
    frame = frame.dropna()
    constant = [c for c in covariates if frame[c].nunique() < 2]
    table = pd.DataFrame(np.nan, index=pd.Index(covariates, dtype=object), columns=columns)
    problems = [f"no variation in the used rows, not estimable: {', '.join(constant)}"] if constant else []
    return frame, len(data) - len(frame), table, [c for c in covariates if c not in constant], problems


def _ratio_table(coef, se, low, high, p, index, ratio: str) -> pd.DataFrame:
    """Coefficient table with the ratio exp(coef) and its CI exp(coefficient CI)."""
    return pd.DataFrame({"coef": coef, "se": se, ratio: np.exp(coef), "ci_low": np.exp(low), "ci_high": np.exp(high),
                         "p_value": p}, index=pd.Index(index, dtype=object))


def _messages(caught) -> list[str]:
    return list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))


def _firth_fit(X: np.ndarray, y: np.ndarray, fixed: int | None = None, value: float = 0.0,
               start: np.ndarray | None = None, max_iter: int = 100, tol: float = 1e-9):
    """Maximise the penalised log-likelihood l(b) + 1/2 log|X'WX| (Firth 1993), optionally with
    coefficient ``fixed`` held at ``value`` (profile / restricted fits, the penalty keeping all of X
    as in ``logistf``). Newton-Raphson on the modified score U*_j = sum (y - p + h (1/2 - p)) x_j
    (h = hat-matrix diagonal), steps capped at 5 and halved while the penalised likelihood falls
    (``logistf.control`` maxstep 5). Returns (beta, penalised loglik, inverse information, converged)."""
    beta = np.zeros(X.shape[1]) if start is None else np.array(start, dtype=float)
    if fixed is not None:
        beta[fixed] = value
    free = np.array([j for j in range(X.shape[1]) if j != fixed])

    def evaluate(b):
        eta = X @ b
        p, w = special.expit(eta), special.expit(eta) * special.expit(-eta)  # w > 0 until |eta| > 745
        info = X.T @ (X * w[:, None])
        sign, logdet = np.linalg.slogdet(info)
        return p, info, float(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * logdet) if sign > 0 else -np.inf

    (p, info, loglik), converged = evaluate(beta), False
    for _ in range(max_iter):
        try:
            h = np.einsum("ij,jk,ik->i", X, np.linalg.inv(info), X) * p * (1 - p)
            score = X.T @ (y - p + h * (0.5 - p))
            step = np.zeros_like(beta)
            step[free] = np.linalg.solve(info[np.ix_(free, free)], score[free])
        except np.linalg.LinAlgError:  # information numerically singular: stop, not converged
            break
        if np.max(np.abs(step)) > 5:
            step *= 5 / np.max(np.abs(step))
        for _ in range(25):
            p_new, info_new, loglik_new = evaluate(beta + step)
            if loglik_new >= loglik - 1e-12:
                break
            step /= 2
        beta, p, info, loglik = beta + step, p_new, info_new, loglik_new
        if np.max(np.abs(step)) < tol and np.max(np.abs(score[free]), initial=0) < 1e-6:
            converged = True
            break
    return beta, loglik, np.linalg.inv(info), converged


def _profile_bound(X, y, j, beta, loglik, se, q, side: int) -> float:
    """Profile penalised-likelihood confidence limit of coefficient j: the value b on ``side``
    (-1 lower, +1 upper) of the estimate where 2 (l*max - l*profile(b)) = q (Heinze & Schemper 2002,
    section 2.3; ``logistf`` pl = TRUE). NaN when no limit is found within 2^12 SEs."""
    def excess(b):  # a restricted fit numerically failing far out counts as beyond the limit
        try:
            return min(2 * (loglik - _firth_fit(X, y, fixed=j, value=b, start=beta)[1]) - q, 1e10)
        except np.linalg.LinAlgError:
            return 1e10

    width = max(se, 1e-3)
    for k in range(13):
        far = beta[j] + side * width * 2 ** k
        if excess(far) > 0:
            near = beta[j] + side * width * 2 ** (k - 1) if k else beta[j]
            return float(optimize.brentq(excess, min(near, far), max(near, far), xtol=1e-10))
    return np.nan


def _firth(X, y, names, alpha):
    """Firth fit with profile penalised-likelihood CIs and penalised likelihood-ratio p-values."""
    beta, loglik, cov, converged = _firth_fit(X, y)
    se, q, rows = np.sqrt(np.diag(cov)), stats.chi2.ppf(1 - alpha, 1), range(1, X.shape[1])
    low = [_profile_bound(X, y, j, beta, loglik, se[j], q, -1) for j in rows]
    high = [_profile_bound(X, y, j, beta, loglik, se[j], q, +1) for j in rows]
    chisq = [max(2 * (loglik - _firth_fit(X, y, fixed=j, value=0.0, start=beta)[1]), 0.0) for j in rows]
    table = _ratio_table(beta[1:], se[1:], low, high, stats.chi2.sf(chisq, 1), names, "odds_ratio")
    return table, converged


def _ml(X, y, names, alpha):
    """statsmodels Logit by Newton-Raphson; Wald CIs and p-values. Returns (table, converged,
    fitted probabilities), or raises what statsmodels raises on perfect prediction."""
    import statsmodels.api as sm

    fit = sm.Logit(y, X).fit(method="newton", maxiter=100, disp=0)
    ci = fit.conf_int(alpha)
    table = _ratio_table(fit.params[1:], fit.bse[1:], ci[1:, 0], ci[1:, 1], fit.pvalues[1:], names, "odds_ratio")
    return table, bool(fit.mle_retvals.get("converged", False)), fit.predict(X)


def _separation_reason(table, converged, fitted, messages) -> str | None:
    """Why the ML fit shows (quasi-)separation, or None: no convergence, |coef| > 10, SE > 1e3,
    fitted probabilities numerically 0 or 1, or a statsmodels perfect-separation message."""
    if not converged:
        return "maximum likelihood did not converge"
    big = table.index[(table["coef"].abs() > MAX_ABS_COEF) | (table["se"] > MAX_SE) | ~np.isfinite(table["se"])]
    if len(big):
        return f"diverging ML estimate (|coef| > {MAX_ABS_COEF:g} or SE > {MAX_SE:g}): {', '.join(big)}"
    if np.any((fitted < PROB_EPS) | (fitted > 1 - PROB_EPS)):
        return "fitted probabilities numerically 0 or 1"
    if any("separation" in m.lower() for m in messages):
        return "statsmodels reports perfect separation"
    return None


def logistic_regression(data: pd.DataFrame, outcome: str, covariates: list[str], alpha: float = 0.05,
                        method: str = "auto") -> tuple[pd.DataFrame, dict]:
    """Logistic regression of the 0/1 ``outcome`` on numeric ``covariates`` (already dummy-coded;
    names kept). Returns the table (index = covariates, intercept left out) of coef, se,
    odds_ratio, ci_low, ci_high (OR scale) and p_value, and info: method, n_used, n_dropped,
    n_events, converged, firth_reason, events_per_variable (= min(events, non-events) / number of
    covariates), ci_method, warnings, problem. ``method`` is "ml", "firth" or "auto" (module doc)."""
    if method not in ("auto", "ml", "firth"):
        raise ValueError(f"method must be 'auto', 'ml' or 'firth', got {method!r}")
    frame, n_dropped, table, used, problems = _prepare(data, [outcome], covariates, LOGISTIC_COLUMNS)
    if not frame[outcome].isin([0, 1]).all():
        raise ValueError(f"outcome {outcome!r} must be coded 0/1")
    n_events = int(frame[outcome].sum())
    info = {"method": None, "n_used": len(frame), "n_dropped": n_dropped, "n_events": n_events,
            "converged": False, "firth_reason": None, "ci_method": None,
            "events_per_variable": min(n_events, len(frame) - n_events) / len(covariates) if covariates else np.nan,
            "warnings": [], "problem": None}
    if n_events in (0, len(frame)) or not used:
        info["problem"] = "; ".join(problems or ["outcome has a single value: no odds ratio is estimable"])
        return table, info
    X, y = np.column_stack([np.ones(len(frame)), frame[used].to_numpy()]), frame[outcome].to_numpy()
    fitted, reason = None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if method != "firth":
            try:
                fitted, converged, probs = _ml(X, y, used, alpha)
                reason = _separation_reason(fitted, converged, probs, _messages(caught))
                info.update(method="ml", converged=converged, ci_method="Wald")
            except Exception as error:  # statsmodels PerfectSeparationError, singular Hessian
                info["method"], reason = "ml", f"maximum likelihood failed: {error}"
        if method == "firth" or (method == "auto" and reason):
            info.update(method="firth", firth_reason=reason or "requested", ci_method="profile penalized likelihood")
            try:
                fitted, info["converged"] = _firth(X, y, used, alpha)
            except (np.linalg.LinAlgError, ValueError) as error:  # collinear covariates
                fitted = None
                problems.append(f"Firth fit failed: {error}")
        elif reason:
            problems.append(reason)
    info.update(warnings=_messages(caught), problem="; ".join(problems) or None)
    if fitted is not None:
        table.loc[used] = fitted.to_numpy()
    return table, info


#: The proportional-hazards test reported with every Cox model (shown on the page as the method).
PH_TEST_METHOD = ("scaled Schoenfeld residual score test (Grambsch & Therneau 1994), rank time transform, "
                  "lifelines proportional_hazard_test")


def cox_regression(data: pd.DataFrame, duration: str, event: str, covariates: list[str],
                   alpha: float = 0.05) -> tuple[pd.DataFrame, dict]:
    """Cox proportional-hazards regression (lifelines ``CoxPHFitter``, Efron ties as R ``coxph``).
    Returns the table (index = covariates) of coef, se, hazard_ratio, ci_low, ci_high (HR scale,
    Wald) and p_value (Wald), and info: method, n_used, n_dropped, n_events, events_per_variable
    (events / covariates), converged, ph_test, ph_violated (covariates with PH p < 0.05), warnings,
    problem. A covariate without variation or with a diverging estimate (|coef| > 10 or SE > 1e3,
    e.g. no events in a level: infinite HR) gets a NaN row and a ``problem`` message. ``ph_test``:
    lifelines ``proportional_hazard_test(time_transform="rank")``, the scaled-Schoenfeld-residual
    score test per covariate (Grambsch & Therneau 1994) in the approximation R survival used before
    version 3.0 (late 2019), so it may differ slightly from today's ``cox.zph``."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    frame, n_dropped, table, used, problems = _prepare(data, [duration, event], covariates, COX_COLUMNS)
    if not frame[event].isin([0, 1]).all() or (frame[duration] < 0).any():
        raise ValueError(f"{event!r} must be coded 0/1 and {duration!r} must be >= 0")
    n_events = int(frame[event].sum())
    info = {"method": "Cox (Efron ties)", "n_used": len(frame), "n_dropped": n_dropped, "n_events": n_events,
            "events_per_variable": n_events / len(covariates) if covariates else np.nan, "converged": False,
            "ph_test": pd.DataFrame(columns=["test_statistic", "p_value"]), "ph_method": PH_TEST_METHOD,
            "ph_violated": [],
            "warnings": [], "problem": None}
    if n_events == 0 or not used:
        info["problem"] = "; ".join(problems + (["no events"] if n_events == 0 else []))
        return table, info
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitter = CoxPHFitter(alpha=alpha).fit(frame[[duration, event, *used]], duration, event)
            s, ci = fitter.summary, fitter.confidence_intervals_.to_numpy()
            fitted = _ratio_table(s["coef"], s["se(coef)"], ci[:, 0], ci[:, 1], s["p"], used, "hazard_ratio")
            ph = proportional_hazard_test(fitter, frame[[duration, event, *used]], time_transform="rank").summary
            ph.index = [i[-1] if isinstance(i, tuple) else i for i in ph.index]
            info["ph_test"] = ph[["test_statistic", "p"]].rename(columns={"p": "p_value"}).reindex(used)
            info["converged"] = True
        except Exception as error:  # lifelines ConvergenceError, singular matrix
            fitted = None
            problems.append(f"Cox fit failed: {error}")
    info["warnings"] = _messages(caught)
    if fitted is not None:
        bad = fitted.index[(fitted["coef"].abs() > MAX_ABS_COEF) | ~(fitted["se"] <= MAX_SE)]
        if len(bad):
            problems.append(f"diverging estimate (no events in a level? infinite HR), not estimable: {', '.join(bad)}")
            fitted.loc[bad] = np.nan
        table.loc[used] = fitted.to_numpy()
        ph = info["ph_test"]
        info["ph_violated"] = [c for c in ph.index[ph["p_value"] < 0.05] if c not in bad]
    info["problem"] = "; ".join(problems) or None
    return table, info


def logrank(data: pd.DataFrame, duration: str, event: str, group: str) -> dict:
    """Log-rank test of equal survival across the levels of ``group`` (lifelines
    ``multivariate_logrank_test``; for two groups R ``survdiff``, rho = 0): statistic (chi-square
    on groups - 1 df), df, p_value, groups, n_used, n_dropped, warnings and reason (why NaN, else None).
    Rows missing the time, event or group are left out; fewer than 2 groups gives NaNs."""
    from lifelines.statistics import multivariate_logrank_test

    frame = data[[duration, event, group]].dropna()
    groups = sorted(frame[group].unique().tolist())
    result = {"statistic": np.nan, "df": np.nan, "p_value": np.nan, "groups": groups, "n_used": len(frame),
              "n_dropped": len(data) - len(frame), "reason": None, "warnings": []}
    if len(groups) < 2 or frame[event].sum() == 0:
        result["reason"] = f"fewer than 2 groups with data ({len(groups)})" if len(groups) < 2 else "no events"
        return result
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        test = multivariate_logrank_test(frame[duration], frame[group], frame[event])
    result.update(statistic=float(test.test_statistic), df=int(test.degrees_of_freedom),
                  p_value=float(test.p_value), warnings=_messages(caught))
    return result
