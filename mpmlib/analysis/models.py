"""Regression models of the influencing-factors analysis: odds ratios, hazard ratios, log-rank.

* Complete cases: rows missing any model variable are left out and counted (``n_used``,
  ``n_dropped``); a covariate without variation in the used rows, or whose estimate diverges,
  gets a NaN row and ``info["problem"]`` says why. No data pattern of the trial raises.
* Logistic: ``"ml"`` = statsmodels ``Logit`` with Wald CIs/p-values (R ``glm``, ``confint.default``);
  ``"firth"`` = Firth (1993) penalised likelihood fitted as R ``logistf`` (Heinze & Schemper 2002:
  modified-score Newton-Raphson, profile penalised-likelihood CIs, penalised LR p-values);
  ``"auto"`` = ML unless :func:`_separation_reason` finds (quasi-)separation, then Firth.
* Cox: lifelines ``CoxPHFitter`` (Efron ties, the R ``coxph`` default), Wald CIs/p-values, and
  the proportional-hazards score test of R survival >= 3.0 ``cox.zph`` per covariate and global
  (:func:`ph_score_test`, Grambsch & Therneau 1994).
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
#: Newton-Raphson stops when the step norm or the Newton decrement falls below this (lifelines
#: ``fit_options["precision"]``; its default 1e-7 stops damped steps ~1e-5 short of R ``coxph``).
COX_PRECISION = 1e-12
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


#: Time transforms g(t) of :func:`ph_score_test`, as R ``cox.zph(transform = ...)``.
PH_TRANSFORMS = ("km", "rank", "identity", "log")
#: The proportional-hazards test reported with every Cox model (shown on the page as the method).
PH_TEST_METHOD = ('score test of Grambsch & Therneau (R survival >= 3.0 cox.zph, transform "km", Efron ties), '
                  'one 1-df test per model column (cox.zph terms = FALSE: each level of a factor against its reference)')


def _ph_time_transform(time: np.ndarray, event: np.ndarray, transform: str) -> np.ndarray:
    """g(t) of every row: R ``cox.zph``'s ``identity``, ``log``, ``rank`` (average ranks of all
    times, censored included, as R ``rank``) or ``km`` (1 - S(t-), the left-continuous
    Kaplan-Meier estimate of the pooled data at t: R ``findInterval(..., left.open = TRUE)``)."""
    if transform == "identity":
        return time
    if transform == "log":
        if np.any(time[event] <= 0):
            raise ValueError("transform 'log' needs event times > 0")
        with np.errstate(divide="ignore", invalid="ignore"):   # censored times <= 0 never enter
            return np.log(time)
    if transform == "rank":
        return stats.rankdata(time)
    uniq, inverse = np.unique(time, return_inverse=True)
    deaths = np.bincount(inverse, weights=event.astype(float), minlength=len(uniq))
    at_risk = len(time) - np.r_[0, np.cumsum(np.bincount(inverse, minlength=len(uniq)))[:-1]]
    surv = np.cumprod(1 - deaths / at_risk)
    return 1 - np.r_[1.0, surv[:-1]][inverse]


def ph_score_test(design, durations, events, coef, transform: str = "km", ties: str = "efron") -> pd.DataFrame:
    """Proportional-hazards test of a fitted Cox model: the score test of R survival >= 3.0 ``cox.zph``.

    Rule (Grambsch & Therneau, Biometrika 1994;81:515-526; Therneau, survival 3.0 ``cox.zph``,
    R/cox.zph.R and src/zph1.c): for covariate j, the score test at (beta, gamma = 0) of adding
    gamma_j x_j g(t) to the Cox model with coefficients ``coef``, g = the time transform centred
    at its mean over the events. With the risk-set means m(t) and covariances V(t) of the fitted
    model (Efron's or Breslow's tie handling as in the fit: Efron's k-th of d tied deaths removes
    k/d of the tied deaths' risk), U = sum over events g(t_i) (x_i - m(t_i)) and the 2p x 2p
    information I = sum over events [V, gV; gV, g^2 V]. The score of beta is set to 0 (beta is the MLE), so
    covariate j's statistic is u' I_kk^-1 u with u = (0, U_j) over kk = (1..p, p + j), 1 df, and
    the GLOBAL statistic is (0, U)' I^-1 (0, U) on p df; p-values are chi-square upper tails.
    This replaced in survival 3.0 the approximation based on scaled Schoenfeld residuals and
    the average variance (survival 2.x, lifelines ``proportional_hazard_test``).

    Long function: it follows R/cox.zph.R and src/zph1.c step by step (risk-set sums, tie
    handling, the 2p x 2p information, per-covariate and global statistics), so a reader can hold
    it against that reference line by line; split, the correspondence would be lost.

    Parameters
    ----------
    design : DataFrame or 2-D array
        Covariates of the model, one column per coefficient (dummy-coded factors: one test per
        column, as R ``cox.zph(terms = FALSE)``); complete cases only.
    durations, events : array-like
        Follow-up time and event indicator (1 event, 0 censored) of each row.
    coef : array-like
        Fitted Cox coefficients in the column order of ``design``.
    transform : {"km", "rank", "identity", "log"}
        Time transform g(t) (R ``cox.zph``; ``"km"`` is R's default: 1 - left-continuous
        Kaplan-Meier of the pooled data).
    ties : {"efron", "breslow"}
        Tie handling of the fit (R ``coxph`` and lifelines: Efron).

    Returns
    -------
    DataFrame
        Index = the covariates and ``"GLOBAL"``; columns test_statistic (chi-square), df,
        p_value. NaN statistics when the information matrix is singular (e.g. a covariate
        constant in the data).
    """
    if transform not in PH_TRANSFORMS:
        raise ValueError(f"transform must be one of {PH_TRANSFORMS}, got {transform!r}")
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    names = [str(c) for c in design.columns] if isinstance(design, pd.DataFrame) else \
        [f"x{j + 1}" for j in range(np.shape(design)[1])]
    x = np.asarray(design, dtype=float)
    time, event = np.asarray(durations, dtype=float), np.asarray(events, dtype=float)
    beta = np.asarray(coef, dtype=float)
    n, p = x.shape
    if len(time) != n or len(event) != n or beta.shape != (p,):
        raise ValueError(f"design ({n} x {p}), durations ({len(time)}), events ({len(event)}) and "
                         f"coef ({beta.size}) do not match")
    if not (np.isfinite(x).all() and np.isfinite(time).all() and np.isfinite(beta).all()):
        raise ValueError("design, durations and coef must be finite (complete cases, a converged fit)")
    if not np.isin(event, (0, 1)).all() or not event.any():
        raise ValueError("events must be coded 0/1 with at least one event")
    event = event.astype(bool)
    g = _ph_time_transform(time, event, transform)
    g = g - g[event].mean()
    order = np.argsort(time, kind="stable")
    time, event, g, x = time[order], event[order], g[order], x[order] - x.mean(axis=0)
    eta = x @ beta
    risk = np.exp(eta - eta.max())          # a common factor cancels in every risk-set ratio
    xx = x[:, :, None] * x[:, None, :]
    # Sums over the risk set {time >= t} (all rows) and over the deaths at t, per distinct time.
    uniq, first, group = np.unique(time, return_index=True, return_inverse=True)

    def from_time_on(values):   # sum over the rows with time >= t, at each distinct t
        return np.cumsum(values[::-1], axis=0)[::-1][first]

    def at_time(values):        # sum over the rows with time == t
        total = from_time_on(values)
        return total - np.concatenate([total[1:], np.zeros((1, *values.shape[1:]))])

    dead = event.astype(float)
    w_risk, w_dead = risk, risk * dead
    s0, s1, s2 = from_time_on(w_risk), from_time_on(w_risk[:, None] * x), from_time_on(w_risk[:, None, None] * xx)
    d0, d1, d2 = at_time(w_dead), at_time(w_dead[:, None] * x), at_time(w_dead[:, None, None] * xx)
    deaths = np.bincount(group, weights=dead, minlength=len(uniq))
    # One term per death; Efron: the k-th (k = 0..d-1) of d tied deaths removes k/d of their risk.
    rows = np.flatnonzero(event)
    k = group[rows]
    frac = (np.arange(len(rows)) - np.searchsorted(k, k)) / deaths[k] if ties == "efron" else np.zeros(len(rows))
    denom = s0[k] - frac * d0[k]
    mean = (s1[k] - frac[:, None] * d1[k]) / denom[:, None]
    var = (s2[k] - frac[:, None, None] * d2[k]) / denom[:, None, None] - mean[:, :, None] * mean[:, None, :]
    gk = g[rows]
    score = np.r_[np.zeros(p), gk @ (x[rows] - mean)]
    info = np.block([[var.sum(axis=0), np.tensordot(gk, var, 1)],
                     [np.tensordot(gk, var, 1), np.tensordot(gk ** 2, var, 1)]])

    def chisq(idx):
        try:
            return float(score[idx] @ np.linalg.solve(info[np.ix_(idx, idx)], score[idx]))
        except np.linalg.LinAlgError:
            return np.nan

    statistic = [chisq(np.r_[np.arange(p), p + j]) for j in range(p)] + [chisq(np.arange(2 * p))]
    df = np.r_[np.ones(p), p]
    return pd.DataFrame({"test_statistic": statistic, "df": df, "p_value": stats.chi2.sf(statistic, df)},
                        index=pd.Index([*names, "GLOBAL"], dtype=object))


def _fit_failure(model: str, error: Exception) -> str:
    """A model that could not be fitted, in words for the page (the library's own message names
    the numerical symptom; its advice and links are dropped)."""
    text = str(error).split(" Please see")[0].strip()
    if "Convergence halted" in text or "singular" in text.lower():
        return f"{model} model not estimable: the fit did not converge (collinear factors or levels with too few events)"
    return f"{model} model not estimable: {text}"


def cox_regression(data: pd.DataFrame, duration: str, event: str, covariates: list[str],
                   alpha: float = 0.05) -> tuple[pd.DataFrame, dict]:
    """Cox proportional-hazards regression (lifelines ``CoxPHFitter``, Efron ties as R ``coxph``).
    Returns the table (index = covariates) of coef, se, hazard_ratio, ci_low, ci_high (HR scale,
    Wald) and p_value (Wald), and info: method, n_used, n_dropped, n_events, events_per_variable
    (events / covariates), converged, ph_test, ph_violated (covariates with PH p < 0.05), warnings,
    problem. A covariate without variation or with a diverging estimate (|coef| > 10 or SE > 1e3,
    e.g. no events in a level: infinite HR) gets a NaN row and a ``problem`` message. ``ph_test``
    (index = covariates; test_statistic, p_value) and ``ph_global`` (dict of test_statistic, df,
    p_value; NaN without a fit): :func:`ph_score_test` of the fitted model with transform "km" and
    Efron ties, equal to R survival >= 3.0 ``cox.zph(coxph(...))`` (its default transform);
    ``ph_method`` names it (:data:`PH_TEST_METHOD`)."""
    from lifelines import CoxPHFitter

    frame, n_dropped, table, used, problems = _prepare(data, [duration, event], covariates, COX_COLUMNS)
    if not frame[event].isin([0, 1]).all() or (frame[duration] < 0).any():
        raise ValueError(f"{event!r} must be coded 0/1 and {duration!r} must be >= 0")
    n_events = int(frame[event].sum())
    info = {"method": "Cox (Efron ties)", "n_used": len(frame), "n_dropped": n_dropped, "n_events": n_events,
            "events_per_variable": n_events / len(covariates) if covariates else np.nan, "converged": False,
            "ph_test": pd.DataFrame(columns=["test_statistic", "p_value"]), "ph_method": PH_TEST_METHOD,
            "ph_global": {"test_statistic": np.nan, "df": np.nan, "p_value": np.nan}, "ph_violated": [],
            "warnings": [], "problem": None}
    if n_events == 0 or not used:
        info["problem"] = "; ".join(problems + (["no events"] if n_events == 0 else []))
        return table, info
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitter = CoxPHFitter(alpha=alpha).fit(frame[[duration, event, *used]], duration, event,
                                                  fit_options={"precision": COX_PRECISION})
            s, ci = fitter.summary, fitter.confidence_intervals_.to_numpy()
            fitted = _ratio_table(s["coef"], s["se(coef)"], ci[:, 0], ci[:, 1], s["p"], used, "hazard_ratio")
            info["converged"] = True
        except Exception as error:  # lifelines ConvergenceError, singular matrix
            fitted = None
            problems.append(_fit_failure("Cox", error))
        if fitted is not None:
            ph = ph_score_test(frame[used], frame[duration], frame[event], fitter.params_[used], "km", "efron")
            info["ph_test"] = ph.loc[used, ["test_statistic", "p_value"]]
            info["ph_global"] = {k: float(v) for k, v in ph.loc["GLOBAL"].items()}
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
