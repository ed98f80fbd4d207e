"""Efficacy analyses: ADaM (ADSL, ADRS, ADTTE) in, result tables out.

Every function returns a tidy DataFrame (numbers, for CSV export and tests) or a display table
built from one; the statistics come from :mod:`mpmlib.analysis.stats`. Rules:

* Denominators are every subject of the analysis population (``efficacy.population``, the
  efficacy population by default). A subject without a post-baseline assessment is in the
  denominator as "not evaluable" (BOR ``MISSING``), never dropped.
* ORR = CR + PR (confirmed BOR, RECIST 1.1 §4.4 for a single-arm trial with response as the
  primary endpoint; FDA 2018 endpoint guidance); DCR = CR + PR + SD (SD at least
  ``sd_min_days`` after the reference date) + NON-CR/NON-PD. Clopper-Pearson exact CIs.
* Times are stored in days and shown in months of :data:`DAYS_PER_MONTH` = 30.4375 days
  (365.25 / 12) on every table and time axis, counted from the time origin of the run (first
  dose or randomisation, ``Run.time_origin``); confidence levels are printed from ``alpha``
  (:func:`ci_level`), never as a fixed "95%".
* Listings name subjects by USUBJID, or by the masked number of ``report.mask_subject_ids``:
  they take ``ids``, a function USUBJID Series -> shown Series (``Run.subject_ids``).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pandas as pd

from mpmlib.analysis import stats
from mpmlib.errors import DataError
from mpmlib.tables.format import ci_level, fmt_estimate, n_pct, round_half_up

DAYS_PER_MONTH = 30.4375
BOR_ROWS = [("CR", "Complete response (CR)"), ("PR", "Partial response (PR)"), ("SD", "Stable disease (SD)"),
            ("NON-CR/NON-PD", "Non-CR/non-PD"), ("PD", "Progressive disease (PD)"),
            ("NE", "Not evaluable (NE)"), ("MISSING", "No post-baseline assessment")]
ORR_CODES, DCR_CODES = ("CR", "PR"), ("CR", "PR", "SD", "NON-CR/NON-PD")
#: What a listing shows as the subject: USUBJID Series -> shown Series (``Run.subject_ids``).
SubjectIds = Callable[[pd.Series], pd.Series]


def time_label(origin: str, unit: str = "Months") -> str:
    """Time-axis label naming unit and origin: ``time_label("randomisation")`` ->
    "Months since randomisation" (``origin`` from ``Run.time_origin``)."""
    return f"{unit} since {origin}"


def _shown_ids(usubjid: pd.Series, ids: SubjectIds | None) -> pd.Series:
    values = pd.Series(usubjid).reset_index(drop=True)
    return values.astype(str) if ids is None else pd.Series(ids(values)).reset_index(drop=True)


def flagged_subjects(adsl: pd.DataFrame, flag: str) -> pd.DataFrame:
    """ADSL subjects with ``flag == "Y"`` (e.g. EFFFL, SAFFL)."""
    return adsl[adsl[flag].eq("Y")] if flag in adsl.columns else adsl.iloc[0:0]


def best_response_by_subject(adrs: pd.DataFrame, subjects: pd.DataFrame, paramcd: str = "CBOR") -> pd.Series:
    """BOR/CBOR per subject of ``subjects`` (index USUBJID); a subject without an ADRS record
    (e.g. no RS at all) is ``MISSING``; a best response ``ND`` (an ADRS written before
    ``derive.adrs`` mapped it) is ``NE``, RECIST 1.1 having no ND best response (see
    ``mpmlib.derive.adrs``). Any other value outside :data:`BOR_ROWS` is a DataError: it would
    fall out of every table while staying in the denominator."""
    rows = adrs[adrs["PARAMCD"].eq(paramcd)].set_index("USUBJID")["AVALC"]
    best = subjects["USUBJID"].map(rows).fillna("MISSING").replace({"ND": "NE"}).set_axis(subjects["USUBJID"])
    unknown = ~best.isin([code for code, _ in BOR_ROWS])
    if unknown.any():
        raise DataError("ADRS", f"AVALC (PARAMCD={paramcd})", "best response must be one of "
                        + ", ".join(code for code, _ in BOR_ROWS), best.index[unknown],
                        f"found {sorted(set(best[unknown].astype(str)))}")
    return best


def response_rates(adrs: pd.DataFrame, subjects: pd.DataFrame, alpha: float = 0.05,
                   null_rate: float | None = None) -> pd.DataFrame:
    """ORR (confirmed), DCR (confirmed), and ORR/DCR without confirmation (sensitivity).

    Columns: endpoint, responders, n, rate, ci_low, ci_high, p_value (one-sided exact binomial
    test H1: rate > ``null_rate``, ORR only).
    """
    rows = []
    for label, paramcd, codes, test in (
        ("Objective response rate (confirmed CR + PR)", "CBOR", ORR_CODES, True),
        ("Disease control rate (confirmed CR + PR + SD + non-CR/non-PD)", "CBOR", DCR_CODES, False),
        ("Objective response rate, confirmation not required", "BOR", ORR_CODES, True),
        ("Disease control rate, confirmation not required", "BOR", DCR_CODES, False),
    ):
        best = best_response_by_subject(adrs, subjects, paramcd)
        x, n = int(best.isin(codes).sum()), int(len(best))
        summary = stats.proportion_summary(x, n, alpha, null_rate if test else None)
        rows.append({"endpoint": label, "responders": x, "n": n, "rate": summary["rate"],
                     "ci_low": summary["ci_low"], "ci_high": summary["ci_high"], "p_value": summary["p_value"]})
    return pd.DataFrame(rows)


def response_table(adrs: pd.DataFrame, subjects: pd.DataFrame, alpha: float = 0.05,
                   null_rate: float | None = None) -> pd.DataFrame:
    """Display table: best overall response with and without confirmation, n (%) of the
    population, then ORR and DCR with exact CIs (percent, one decimal). Every subject is in
    exactly one BOR row (:func:`best_response_by_subject`: ND shown as NE, unknown values an
    error), so the rows add up to N."""
    n = len(subjects)
    conf, unconf = (best_response_by_subject(adrs, subjects, p) for p in ("CBOR", "BOR"))
    lines = []
    for code, label in BOR_ROWS:
        lines.append({"": label, f"Confirmed (N={n})": n_pct(int(conf.eq(code).sum()), n),
                      f"Confirmation not required (N={n})": n_pct(int(unconf.eq(code).sum()), n)})
    rates = response_rates(adrs, subjects, alpha, null_rate)
    level = ci_level(alpha)
    for short, i in (("ORR", 0), ("DCR", 1)):
        lines.append({"": f"{short}, n (%) [{level} CI]",
                      f"Confirmed (N={n})": rate_text(rates.iloc[i]),
                      f"Confirmation not required (N={n})": rate_text(rates.iloc[i + 2])})
    if null_rate is not None:
        lines.append({"": f"ORR one-sided exact binomial test vs {round_half_up(100 * null_rate, 0)}%, p",
                      f"Confirmed (N={n})": p_text(rates.iloc[0]["p_value"]),
                      f"Confirmation not required (N={n})": p_text(rates.iloc[2]["p_value"])})
    return pd.DataFrame(lines).set_index("")


def rate_text(row) -> str:
    """``"n (p%) [low, high]"`` in percent with one decimal, halves rounded up."""
    if row["n"] == 0:
        return "-"
    pct = round_half_up(Fraction(100 * int(row["responders"]), int(row["n"])), 1)
    return (f"{int(row['responders'])} ({pct}) [{round_half_up(100 * row['ci_low'], 1)}, "
            f"{round_half_up(100 * row['ci_high'], 1)}]")


def p_text(p: float) -> str:
    if p is None or np.isnan(p):
        return "-"
    return "<0.001" if p < 0.001 else round_half_up(p, 3)


def not_evaluable_listing(adrs: pd.DataFrame, subjects: pd.DataFrame, ids: SubjectIds | None = None) -> pd.DataFrame:
    """Subjects counted as not evaluable (confirmed BOR NE or no post-baseline assessment), with
    why, for the data manager: one row per subject in USUBJID order, indexed by ``ids(USUBJID)``
    (USUBJID itself when ``ids`` is None; ``Run.subject_ids`` masks it when asked)."""
    best = best_response_by_subject(adrs, subjects, "CBOR")
    ne = best[best.isin(["NE", "MISSING"])].sort_index(kind="stable")
    ovr = adrs[adrs["PARAMCD"].eq("OVR")]
    n_assess = ovr[ovr["ANL01FL"].eq("Y")].groupby("USUBJID").size()
    n_excl = ovr[ovr["ANL01FL"].ne("Y")].groupby("USUBJID").size()
    death = adrs[adrs["PARAMCD"].eq("DEATH")].set_index("USUBJID")["AVALC"]
    out = pd.DataFrame({"Confirmed BOR": ne.to_numpy(),
                        "Assessments used": ne.index.map(n_assess).fillna(0).astype(int),
                        "Assessments not used": ne.index.map(n_excl).fillna(0).astype(int),
                        "Died": ne.index.map(death).fillna("N")}, index=ne.index)
    out["Reason"] = np.where(out["Confirmed BOR"].eq("MISSING"),
                             np.where(out["Died"].eq("Y"), "died before the first assessment",
                                      "no post-baseline tumour assessment"),
                             "only NE or too-early (< SD window) assessments")
    return out.set_axis(pd.Index(_shown_ids(ne.index.to_series(), ids), name="Subject"))


# ---- time to event ---------------------------------------------------------------------------

def tte_data(adtte: pd.DataFrame, subjects: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """ADTTE records of ``paramcd`` for the subjects, with EVENT = 1 - CNSR."""
    data = adtte[adtte["PARAMCD"].eq(paramcd) & adtte["USUBJID"].isin(subjects["USUBJID"])].copy()
    data["EVENT"] = 1 - data["CNSR"].astype(int)
    return data


def tte_summary(data: pd.DataFrame, conf_type: str = "log-log", alpha: float = 0.05,
                landmark_months=(6, 12)) -> pd.DataFrame:
    """One-column numeric summary of a KM analysis: n, events, censored, median (months) with
    CI, and landmark rates with CIs (``stats.km_summary``; CI transform ``conf_type``)."""
    if data.empty:
        return pd.DataFrame(columns=["statistic", "value", "ci_low", "ci_high"])
    landmarks_days = [m * DAYS_PER_MONTH for m in landmark_months]
    s = stats.km_summary(data["AVAL"], data["EVENT"], conf_type, alpha, landmarks_days)
    rows = [("Subjects", s["n"], np.nan, np.nan), ("Events", s["events"], np.nan, np.nan),
            ("Censored", s["censored"], np.nan, np.nan),
            ("Median (months)", s["median"] / DAYS_PER_MONTH, s["ci_low"] / DAYS_PER_MONTH,
             s["ci_high"] / DAYS_PER_MONTH)]
    for months, (_, lm) in zip(landmark_months, s["landmarks"].iterrows()):
        rows.append((f"Rate at {months} months (%)", 100 * lm["survival"], 100 * lm["ci_low"],
                     100 * lm["ci_high"]))
    return pd.DataFrame(rows, columns=["statistic", "value", "ci_low", "ci_high"])


def tte_display(summaries: dict[str, pd.DataFrame], alpha: float = 0.05, conf_type: str = "log-log") -> pd.DataFrame:
    """Side-by-side display of :func:`tte_summary` results (one column per endpoint)."""
    level = ci_level(alpha)
    cols = {}
    for name, summary in summaries.items():
        cells = {}
        for _, r in summary.iterrows():
            if r["statistic"] in ("Subjects", "Events", "Censored"):
                cells[r["statistic"]] = str(int(r["value"]))
            else:
                cells[f"{r['statistic']} [{level} CI]"] = (
                    f"{fmt_estimate(r['value'])} [{fmt_estimate(r['ci_low'])}, {fmt_estimate(r['ci_high'])}]")
        cols[name] = cells
    table = pd.DataFrame(cols)
    table.index.name = f"Kaplan-Meier, CI: {conf_type}"
    return table.fillna("")


def censoring_table(data: pd.DataFrame) -> pd.DataFrame:
    """Events and censorings by reason (EVNTDESC for events, CNSDTDSC for censorings), n (%)."""
    n = len(data)
    kind = np.where(data["CNSR"].eq(0), "Event", "Censored")
    reason = np.where(data["CNSR"].eq(0), data["EVNTDESC"], data["CNSDTDSC"])
    counts = pd.Series(1, index=pd.MultiIndex.from_arrays([kind, reason], names=["Status", "Reason"])).groupby(
        level=[0, 1]).sum()
    counts = counts.sort_index(level=0, ascending=False, sort_remaining=True)
    return pd.DataFrame({f"n (%) of N={n}": [n_pct(int(v), n) for v in counts]}, index=counts.index)


def km_curves(data: pd.DataFrame, by: str | None = None, conf_type: str = "log-log",
              alpha: float = 0.05) -> dict[str, pd.DataFrame]:
    """KM table per group (label -> ``stats.km_table``), for :func:`plots_efficacy.km_plot`."""
    groups = [("All subjects", data)] if by is None else list(data.groupby(by, sort=True))
    return {str(label): stats.km_table(rows["AVAL"], rows["EVENT"], conf_type, alpha)
            for label, rows in groups if len(rows)}


def numbers_at_risk(data: pd.DataFrame, times_days, by: str | None = None) -> pd.DataFrame:
    """Subjects still at risk (AVAL >= t) at each time, per group (R ``summary.survfit`` n.risk)."""
    groups = [("All subjects", data)] if by is None else list(data.groupby(by, sort=True))
    times = np.asarray(list(times_days), dtype=float)
    rows = {str(label): [(rows["AVAL"].to_numpy(float) >= t).sum() for t in times] for label, rows in groups}
    return pd.DataFrame.from_dict(rows, orient="index", columns=times)


def median_followup(os_data: pd.DataFrame, conf_type: str = "log-log", alpha: float = 0.05) -> tuple:
    """Median follow-up (months) by reverse Kaplan-Meier on OS (Schemper & Smith 1996)."""
    if os_data.empty:
        return (np.nan, np.nan, np.nan)
    med = stats.median_followup_reverse_km(os_data["AVAL"], os_data["EVENT"], conf_type, alpha)
    return tuple(v / DAYS_PER_MONTH for v in med)


def followup_text(os_data: pd.DataFrame, conf_type: str = "log-log", alpha: float = 0.05) -> str:
    """The median follow-up line of the page (Markdown), its CI level from ``alpha``."""
    median, low, high = median_followup(os_data, conf_type, alpha)
    return (f"**Median follow-up (reverse Kaplan–Meier):** {fmt_estimate(median)} months "
            f"({ci_level(alpha)} CI {fmt_estimate(low)} to {fmt_estimate(high)})")


def responder_durations(dor: pd.DataFrame, ttr: pd.DataFrame) -> pd.DataFrame:
    """Responders, events and censorings of duration of response (DoR), and the observed median
    (min, max) of time to response (TTR), months.

    TTR is observed for every responder (it ends at the response), so its median and range
    describe it. DoR is censored for responders still in response, where the median of the
    observed times is biased low (censored times are shorter than the true ones): its median is
    the Kaplan–Meier one only (:func:`mpmlib.pages.efficacy.km_section`), and each responder's time with its
    censoring is in :func:`responder_listing`."""
    out = {}
    for name, data in (("Time to response", ttr), ("Duration of response", dor)):
        events = int(data["EVENT"].sum()) if len(data) else 0
        months = data["AVAL"] / DAYS_PER_MONTH
        median = (f"{round_half_up(months.median(), 1)} ({round_half_up(months.min(), 1)}, "
                  f"{round_half_up(months.max(), 1)})" if len(data) else "-")
        if name == "Duration of response":
            median = "Kaplan–Meier median below" if len(data) else "-"
        out[name] = {"Responders": str(len(data)),
                     "Events (progression or death)": "-" if name == "Time to response" or data.empty else str(events),
                     "Censored": "-" if name == "Time to response" or data.empty else str(len(data) - events),
                     "Observed median (min, max), months": median}
    return pd.DataFrame(out)


def responder_listing(dor: pd.DataFrame, ttr: pd.DataFrame, ids: SubjectIds | None = None) -> pd.DataFrame:
    """One row per responder (USUBJID order, indexed by ``ids(USUBJID)``): time to response and
    duration of response in months (one decimal; "+" = censored, as in the KM plot), and what
    ended the duration: the event (ADTTE ``EVNTDESC``) or the censoring reason (``CNSDTDSC``)."""
    if dor.empty:
        return pd.DataFrame(columns=["Time to response (months)", "Duration of response (months)",
                                     "Censored", "Event or censoring reason"]).rename_axis("Subject")
    rows = dor.sort_values("USUBJID", kind="stable")
    censored = rows["EVENT"].eq(0).to_numpy()
    ttr_days = rows["USUBJID"].map(ttr.set_index("USUBJID")["AVAL"] if len(ttr) else pd.Series(dtype=float))
    months = [round_half_up(v / DAYS_PER_MONTH, 1) + ("+" if c else "") for v, c in zip(rows["AVAL"], censored)]
    return pd.DataFrame({
        "Time to response (months)": [fmt_estimate(v / DAYS_PER_MONTH, missing="-") for v in ttr_days],
        "Duration of response (months)": months,
        "Censored": np.where(censored, "Y", "N"),
        "Event or censoring reason": np.where(censored, rows["CNSDTDSC"].astype(str), rows["EVNTDESC"].astype(str)),
    }, index=pd.Index(_shown_ids(rows["USUBJID"], ids), name="Subject"))


def swimmer_data(adsl: pd.DataFrame, adrs: pd.DataFrame, subjects: pd.DataFrame,
                 reference: str = "TTEREFDT") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inputs of :func:`plots_efficacy.swimmer_plot`: one bar per subject (DURATION = days on
    treatment, TRTDURD, starting START = TRTSDT - reference days after the origin, 0 when the
    origin is the first dose; colour = confirmed BOR; ONGOING = treatment ongoing at the
    cut-off) and the events on it (first confirmed response, first PD, death; days from the
    reference date, day 1 = reference date)."""
    sub = adsl[adsl["USUBJID"].isin(subjects["USUBJID"])].set_index("USUBJID")
    start = (pd.to_datetime(sub["TRTSDT"]) - pd.to_datetime(sub[reference])).dt.days if "TRTSDT" in sub else 0
    bars = pd.DataFrame({"USUBJID": sub.index, "DURATION": sub["TRTDURD"].fillna(0).to_numpy(),
                         "START": pd.Series(start, index=sub.index).fillna(0).to_numpy(float),
                         "BOR": best_response_by_subject(adrs, sub.reset_index(), "CBOR").to_numpy(),
                         "ONGOING": (sub["EOTSTT"].eq("ONGOING") if "EOTSTT" in sub else
                                     pd.Series(False, index=sub.index)).to_numpy()})
    events = []
    for paramcd, label in (("CRSP", "Response start"), ("PD", "Progression"), ("DEATH", "Death")):
        rows = adrs[adrs["PARAMCD"].eq(paramcd) & adrs["AVALC"].eq("Y") & adrs["USUBJID"].isin(sub.index)]
        day = (rows["ADT"] - rows["USUBJID"].map(sub[reference])).dt.days + 1
        events.append(pd.DataFrame({"USUBJID": rows["USUBJID"].to_numpy(), "DAY": day.to_numpy(), "EVENT": label}))
    return bars, pd.concat(events, ignore_index=True).dropna(subset=["DAY"])


def waterfall_data(adtr: pd.DataFrame, adrs: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
    """Best (lowest) % change from baseline in the target-lesion sum per subject of the
    population (``adtr.best_percent_change``: complete assessments only), with confirmed BOR.
    Subjects without a baseline or post-baseline sum keep a missing PCHG (counted, not drawn)."""
    from mpmlib.derive.adtr import best_percent_change

    best = best_percent_change(adtr) if len(adtr) else pd.DataFrame(columns=["USUBJID", "PCHG"])
    out = subjects[["USUBJID"]].merge(best[["USUBJID", "PCHG"]], on="USUBJID", how="left")
    out["BOR"] = best_response_by_subject(adrs, subjects, "CBOR").to_numpy()
    return out


def spider_data(adtr: pd.DataFrame, adrs: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
    """% change from baseline over time (MONTH: months of :data:`DAYS_PER_MONTH` since the
    reference date, ADTR ``REFDT``; baseline at month 0) for complete post-baseline assessments
    of the population, with confirmed BOR."""
    if adtr.empty:
        return pd.DataFrame(columns=["USUBJID", "MONTH", "PCHG", "BOR"])
    rows = adtr[adtr["USUBJID"].isin(subjects["USUBJID"]) & adtr["PCHG"].notna()
                & (adtr["ABLFL"].eq("Y") | adtr["ANL01FL"].eq("Y"))].copy()
    rows["MONTH"] = np.where(rows["ABLFL"].eq("Y"), 0.0, (rows["ADT"] - rows["REFDT"]).dt.days / DAYS_PER_MONTH)
    followed = rows.loc[rows["ABLFL"].ne("Y"), "USUBJID"].unique()
    rows = rows[rows["USUBJID"].isin(followed)]            # a baseline point alone is no line
    bor = best_response_by_subject(adrs, subjects, "CBOR")
    rows["BOR"] = rows["USUBJID"].map(bor)
    return rows[["USUBJID", "MONTH", "PCHG", "BOR"]].sort_values(["USUBJID", "MONTH"]).reset_index(drop=True)


def discordance_listing(discordant: pd.DataFrame, adtr: pd.DataFrame, limit: int = 50,
                        ids: SubjectIds | None = None) -> pd.DataFrame:
    """Disagreements between re-derived and assessor responses for the data manager: the subject
    (``ids(USUBJID)``; USUBJID when None) and study day of the assessment (day 1 = the origin,
    no day 0), both responses and the measurements behind the re-derived one; at most
    ``limit`` rows, in USUBJID and date order."""
    out = discordant.sort_values(["USUBJID", "ADT"], kind="stable").head(limit).copy()
    ref = out["USUBJID"].map(adtr.groupby("USUBJID")["REFDT"].first())
    days = (out["ADT"] - ref).dt.days
    table = pd.DataFrame({"Subject": _shown_ids(out["USUBJID"], ids).to_numpy(), "Study day": days + (days >= 0),
                          "Re-derived": out["derived"], "Investigator": out["investigator"],
                          "Target": out.get("TRGRESP"), "Non-target": out.get("NTRGRESP"),
                          "New lesion": out.get("NEWLES"), "Sum (mm)": out["SDIAM"],
                          "% from baseline": out["PCHG"].round(1), "% from nadir": out["PCHGNAD"].round(1)})
    for col in ("Target", "Non-target", "New lesion", "Sum (mm)", "% from baseline", "% from nadir"):  # blank, not NaN
        table[col] = table[col].astype(object).where(table[col].notna(), "")
    return table.set_index(["Subject", "Study day"])


def limit_subjects(data: pd.DataFrame, order: pd.Series, limit: int) -> tuple[pd.DataFrame, str]:
    """Keep the rows of at most ``limit`` subjects, those ranked first by ``order`` (USUBJID ->
    sort key, larger first; ties by USUBJID), for figures with one element per subject, which
    stop being readable with hundreds of subjects. Returns the rows and a note for the reader
    ("" when nothing was left out)."""
    subjects = data["USUBJID"].unique()
    if len(subjects) <= limit:
        return data, ""
    ranked = (pd.DataFrame({"USUBJID": subjects, "KEY": pd.Series(subjects).map(order).fillna(-np.inf).to_numpy()})
              .sort_values(["KEY", "USUBJID"], ascending=[False, True], kind="stable"))
    keep = set(ranked["USUBJID"].head(limit))
    return data[data["USUBJID"].isin(keep)], f"Showing {limit} of {len(subjects)} subjects"


AT_RISK_MONTHS = range(0, 37, 3)


def km_analysis(data: pd.DataFrame, by: str | None, conf_type: str = "log-log", alpha: float = 0.05,
                landmark_months=(6, 12)) -> dict:
    """Everything a Kaplan-Meier section shows, for one endpoint: KM tables per group (``by``; None
    = all subjects), numbers at risk every 3 months up to a month past the last time, summaries
    per group plus Total (:func:`tte_summary`) and the medians in days for the guide lines."""
    curves = km_curves(data, by, conf_type, alpha)
    times = [m * DAYS_PER_MONTH for m in AT_RISK_MONTHS if m * DAYS_PER_MONTH <= data["AVAL"].max() + DAYS_PER_MONTH]
    groups = {"All subjects": data} if by is None else {**{str(k): v for k, v in data.groupby(by)}, "Total": data}
    summaries = {k: tte_summary(v, conf_type, alpha, landmark_months) for k, v in groups.items()}
    medians = {k: s.set_index("statistic").loc["Median (months)", "value"] * DAYS_PER_MONTH
               for k, s in summaries.items() if k in curves}
    return {"curves": curves, "at_risk": numbers_at_risk(data, times, by), "summaries": summaries, "medians": medians}
