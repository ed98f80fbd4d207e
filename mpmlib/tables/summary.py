"""Display tables: ADaM in, a formatted DataFrame out (read -> filter -> count -> render).

Conventions (as in most CSR shells, e.g. pycsr / PhUSE "Analysis and Display White Papers"):

* columns are the treatment groups plus ``Total``, each headed with its N;
* the denominator of every percentage is the column N of the population shown, so every
  subject in the population is counted (a ``Missing`` row appears when a value is missing);
* numbers are rounded half away from zero (as SAS ``ROUND``), not half to even; means and medians
  get one decimal more than the data, standard deviations two (``decimals`` = the data's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpmlib.tables.format import MISSING, n_pct, round_half_up


def column_populations(adsl: pd.DataFrame, by: str, total: bool = True) -> dict[str, pd.DataFrame]:
    """Subjects per display column: one per group of ``by`` (sorted), plus ``Total``."""
    columns = {str(g): rows for g, rows in adsl.groupby(by, sort=True)}
    if total:
        columns["Total"] = adsl
    return columns


def column_header(label: str, n: int) -> str:
    return f"{label} (N={n})"


def summary_table(adsl: pd.DataFrame, by: str, rows: list[dict], total: bool = True) -> pd.DataFrame:
    """Baseline-characteristics style table.

    ``rows``: ``{"var": "AGE", "label": "Age (years)", "kind": "continuous", "decimals": 0}`` or
    ``{"var": "SEX", "label": "Sex", "kind": "categorical", "levels": ["F", "M"],
    "labels": {"F": "Female"}}``. Levels not listed but present are added (sorted) so nothing is
    hidden; missing values get a ``Missing`` row.
    """
    pops = column_populations(adsl, by, total)
    out = []
    for spec in rows:
        if spec["var"] not in adsl.columns:
            continue
        if spec["kind"] == "continuous":
            block = _continuous_block(pops, spec)
        else:
            block = _categorical_block(adsl, pops, spec)
        out.append(block)
    table = pd.concat(out) if out else pd.DataFrame()
    table.columns = [column_header(label, len(rows)) for label, rows in pops.items()]
    return table


def continuous_summary(values: pd.Series, decimals: int = 0) -> dict[str, str]:
    """n, Mean (SD), Median, Min, Max of the non-missing values."""
    x = values.dropna().astype(float)
    if x.empty:
        return {"n": "0", "Mean (SD)": "", "Median": "", "Min, Max": ""}
    sd = round_half_up(x.std(ddof=1), decimals + 2) if len(x) > 1 else "NE"
    return {
        "n": str(len(x)),
        "Mean (SD)": f"{round_half_up(x.mean(), decimals + 1)} ({sd})",
        "Median": round_half_up(float(np.median(x)), decimals + 1),
        "Min, Max": f"{round_half_up(x.min(), decimals)}, {round_half_up(x.max(), decimals)}",
    }


def _continuous_block(pops, spec) -> pd.DataFrame:
    stats = {label: continuous_summary(rows[spec["var"]], spec.get("decimals", 0))
             for label, rows in pops.items()}
    block = pd.DataFrame(stats)
    missing = {label: int(rows[spec["var"]].isna().sum()) for label, rows in pops.items()}
    if any(missing.values()):
        block.loc[MISSING] = [str(missing[label]) for label in pops]
    block.index = pd.MultiIndex.from_product([[spec["label"]], block.index])
    return block


def _categorical_block(adsl, pops, spec) -> pd.DataFrame:
    var = spec["var"]
    values = adsl[var].astype("object")
    listed = [lvl for lvl in spec.get("levels", [])]
    present = sorted({_level(v) for v in values.dropna()} - set(map(str, listed)))
    levels = [str(lvl) for lvl in listed] + present
    labels = spec.get("labels", {})
    data = {}
    for label, rows in pops.items():
        col = rows[var].map(lambda v: MISSING if pd.isna(v) else _level(v))
        counts = col.value_counts()
        entries = [n_pct(int(counts.get(lvl, 0)), len(rows)) for lvl in levels]
        data[label] = entries + ([n_pct(int(counts.get(MISSING, 0)), len(rows))]
                                 if values.isna().any() else [])
    index = [labels.get(lvl, lvl) for lvl in levels] + ([MISSING] if values.isna().any() else [])
    block = pd.DataFrame(data, index=index)
    block.index = pd.MultiIndex.from_product([[spec["label"]], block.index])
    return block


def _level(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def population_table(adsl: pd.DataFrame, by: str = "TRT01P") -> pd.DataFrame:
    """Analysis populations among enrolled subjects: n (% of enrolled) per group and in total.

    Enrolled: ENRLFL; safety: SAFFL (any study drug); efficacy: EFFFL (treated with
    measurable disease at baseline).
    """
    enrolled = adsl[adsl["ENRLFL"].eq("Y")]
    pops = column_populations(enrolled, by)
    rows = {"Enrolled": "ENRLFL", "Safety population (any study drug)": "SAFFL",
            "Efficacy population (measurable disease, treated)": "EFFFL"}
    data = {label: [n_pct(int(sub[flag].eq("Y").sum()), len(sub)) for flag in rows.values()]
            for label, sub in pops.items()}
    table = pd.DataFrame(data, index=list(rows))
    table.columns = [column_header(label, len(sub)) for label, sub in pops.items()]
    return table


def disposition_counts(adsl: pd.DataFrame) -> dict[str, int]:
    """Counts for the CONSORT-style flow (CONSORT 2010 flow diagram boxes)."""
    enrolled = adsl["ENRLFL"].eq("Y")
    treated = adsl["SAFFL"].eq("Y")
    has_eot = adsl["EOTSTT"].notna().any()
    return {
        "screened": len(adsl),
        "not_enrolled": int((~enrolled).sum()),
        "enrolled": int(enrolled.sum()),
        "not_treated": int((enrolled & ~treated).sum()),
        "treated": int(treated.sum()),
        "no_measurable_disease": int((treated & adsl["EFFFL"].ne("Y")).sum()),
        "efficacy": int(adsl["EFFFL"].eq("Y").sum()),
        # None when DS holds no END OF TREATMENT records (e.g. the CDISC pilot)
        "treatment_ongoing": int((treated & adsl["EOTSTT"].eq("ONGOING")).sum()) if has_eot else None,
        "treatment_ended": int((treated & adsl["EOTSTT"].eq("DISCONTINUED")).sum()) if has_eot else None,
        "study_ongoing": int((enrolled & adsl["EOSSTT"].eq("ONGOING")).sum()),
        "study_ended": int((enrolled & adsl["EOSSTT"].isin(["DISCONTINUED", "COMPLETED"])).sum()),
        "deaths": int((enrolled & adsl["DTHFL"].eq("Y")).sum()),
    }


def disposition_table(adsl: pd.DataFrame, by: str = "TRT01P") -> pd.DataFrame:
    """End-of-treatment and end-of-study status with reasons, n (%) of enrolled subjects."""
    enrolled = adsl[adsl["ENRLFL"].eq("Y")].copy()
    enrolled["EOT"] = np.where(enrolled["SAFFL"].ne("Y"), "Not treated", enrolled["EOTSTT"])
    rows = []
    if enrolled["EOTSTT"].notna().any():
        rows += [{"var": "EOT", "label": "Study treatment", "kind": "categorical",
                  "levels": ["ONGOING", "DISCONTINUED"],
                  "labels": {"ONGOING": "Ongoing", "DISCONTINUED": "Discontinued"}},
                 {"var": "DCTREAS", "label": "Reason treatment ended", "kind": "categorical"}]
    rows += [{"var": "EOSSTT", "label": "Study participation", "kind": "categorical",
              "levels": ["ONGOING", "COMPLETED", "DISCONTINUED"],
              "labels": {"ONGOING": "Ongoing", "COMPLETED": "Completed", "DISCONTINUED": "Discontinued"}},
             {"var": "DCSREAS", "label": "Reason study participation ended", "kind": "categorical"}]
    table = summary_table(enrolled, by, rows)
    # reasons: a blank reason means "not applicable", not missing data
    return table[~((table.index.get_level_values(0).str.startswith("Reason"))
                   & (table.index.get_level_values(1) == MISSING))]


def exposure_table(adex: pd.DataFrame, adsl: pd.DataFrame, drug_labels: dict[str, str],
                   by: str = "TRT01A") -> pd.DataFrame:
    """Exposure per study drug in the safety population: administrations, duration, dose."""
    safety = adsl[adsl["SAFFL"].eq("Y")][["USUBJID", by]]
    wide = adex.pivot_table(index="USUBJID", columns=["PARCAT1", "PARAMCD"], values="AVAL",
                            aggfunc="first")
    wide.columns = [f"{drug}_{param}" for drug, param in wide.columns]
    data = safety.merge(wide, how="left", left_on="USUBJID", right_index=True)
    units = adex[adex["PARAMCD"].eq("CUMDOSE")].groupby("PARCAT1")["AVALU"].first()
    rows = []
    for code, label in drug_labels.items():
        rows += [
            {"var": f"{code}_NADMIN", "label": f"{label}: administrations", "kind": "continuous", "decimals": 0},
            {"var": f"{code}_DURD", "label": f"{label}: duration of exposure (days)", "kind": "continuous",
             "decimals": 0},
        ]
        dose = f"{code}_CUMDOSE"
        if dose in data.columns and data[dose].notna().any():
            unit = units.get(code)
            unit = unit if isinstance(unit, str) else "unit not recorded"
            if data[dose].max() >= 1e9:                 # viral particles: shown in 10^12
                data[dose] = data[dose] / 1e12
                unit = f"x10^12 {unit}"
            rows.append({"var": dose, "label": f"{label}: cumulative dose ({unit})", "kind": "continuous",
                         "decimals": 0 if data[dose].max() >= 100 else 1})
        rows.append({"var": f"{code}_RDI", "label": f"{label}: relative dose intensity (%)", "kind": "continuous",
                     "decimals": 0})
    return summary_table(data, by, rows)


# ---- data QC ---------------------------------------------------------------------------------------
#
# When a critical finding stops a run (mpmlib.report.pipeline.build_report, README "Data QC and the gate"):
# a critical rule that fails stops every run, locked or exploratory: only the QC page is written.
# For exploration a parameter file may downgrade named critical rules to warnings (qc.downgrade);
# the analyses then run and the QC page and the index say which rules were downgraded. A locked
# run (a lock file, or qc.locked: true) refuses qc.downgrade, so there every critical rule stops it.


def exposure_footnote(adex: pd.DataFrame, adsl: pd.DataFrame, ex_missing_end: str, by: str) -> str:
    """Footnote of the exposure table (Markdown), the same on every page that shows it: what the
    columns are (``by``: actual TRT01A or planned TRT01P), how administrations, duration and dose
    are counted (``mpmlib.derive.adex``), and, with ``adsl.ex_missing_end: ignore``, how many
    treated subjects have no countable EX record (their only records have no end date)."""
    columns = "actual (TRT01A)" if by == "TRT01A" else "planned (TRT01P)"
    text = (f"_Safety population, columns by {columns} treatment. Administrations: each EX record counts "
            "its dose frequency (EXDOSFRQ) times its days (QD over 14 days = 14; ONCE = 1); duration = last "
            "− first dose + 1 day; cumulative dose = EXDOSE × administrations._")
    if ex_missing_end == "ignore" and len(adex):
        nadmin = adex[adex["PARAMCD"].eq("NADMIN")].groupby("USUBJID")["AVAL"].sum()
        safety = adsl.loc[adsl["SAFFL"].eq("Y"), "USUBJID"]
        none = int(safety.map(nadmin).fillna(0).eq(0).sum())
        if none:
            text += (f" _{none} subject(s) of the safety population have only EX records without an end date: "
                     "with `adsl.ex_missing_end: ignore` (as admiral) such records are not counted, so these "
                     "subjects show 0 administrations and no duration or dose._")
    return text


#: Rows of a subject-level listing shown on an HTML page; the CSV next to the page holds them all.
LISTING_MAX_ROWS = 500


def listing_page(listing: pd.DataFrame, csv_name: str | None, max_rows: int = LISTING_MAX_ROWS
                 ) -> tuple[pd.DataFrame, str]:
    """The rows of a listing shown on the page and a note (Markdown, "" when all are shown): a
    listing longer than ``max_rows`` (10,000-subject trials) shows its first ``max_rows`` rows
    in its own order and says where every record is (``<csv_name>.csv`` beside the page, written
    by ``mpm report``), so no record is dropped, only not repeated in the HTML.

    >>> shown, note = listing_page(pd.DataFrame({"a": range(3)}), "x", max_rows=2)
    >>> len(shown), note
    (2, '_First 2 of 3 rows shown; every row is in `x.csv` beside this page._')
    """
    if len(listing) <= max_rows:
        return listing, ""
    where = f"`{csv_name}.csv` beside this page" if csv_name else "the CSV files written by `mpm report`"
    return listing.head(max_rows), f"_First {max_rows} of {len(listing)} rows shown; every row is in {where}._"
