"""Safety tables: ADSL + ADAE (+ ADEX) in, counts and display tables out.

Conventions (ICH E3 §12.2, FDA "Standard Safety Tables and Figures" integrated guide 2022):

* Only treatment-emergent AEs (ADAE ``TRTEMFL = "Y"``) of the safety population are counted.
* Columns: one per treatment group (``safety.by``) plus ``Total``; the denominator of every
  percentage is the column's number of subjects in the population, so nobody is dropped.
* A subject is counted once per row (per SOC, per preferred term); "events" count records.
* Tables by maximum grade count each subject once per term, at the worst CTCAE grade. A TEAE
  without a grade (ATOXGRN missing) is never dropped: a subject whose every record of the term
  has no grade is counted under "Grade missing" (:data:`GRADE_MISSING`); with at least one
  graded record, at the worst known grade (the grades shown are those recorded; FDA Standard
  Safety Tables and Figures guide 2022: every subject with the event is counted once). So the
  grade columns always add up to "All grades".
* Rows are sorted by descending frequency in the Total column, then alphabetically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .tables import n_pct

ANY = "Any treatment-emergent AE"
ALL_TERMS = "All terms"
#: grade category of a subject whose TEAEs of a term all lack a CTCAE grade
GRADE_MISSING = "Missing"
GRADE_CATEGORIES = ["1", "2", "3", "4", "5", GRADE_MISSING]


def population(adsl: pd.DataFrame, flag: str = "SAFFL", by: str = "TRT01A") -> pd.DataFrame:
    """USUBJID and GROUP (the table column) of the subjects with ``flag == "Y"``."""
    pop = adsl[adsl[flag].eq("Y")] if flag in adsl.columns else adsl.iloc[0:0]
    return pd.DataFrame({"USUBJID": pop["USUBJID"].to_numpy(), "GROUP": pop[by].astype(str).to_numpy()})


def group_sizes(pop: pd.DataFrame) -> dict[str, int]:
    """Column label -> N, groups sorted, then Total."""
    sizes = pop.groupby("GROUP").size().sort_index()
    return {**{str(k): int(v) for k, v in sizes.items()}, "Total": len(pop)}


def teae(adae: pd.DataFrame, pop: pd.DataFrame) -> pd.DataFrame:
    """Treatment-emergent AEs of the population, with the subject's GROUP."""
    rows = adae[adae["TRTEMFL"].eq("Y")] if len(adae) else adae
    return rows.merge(pop, on="USUBJID", how="inner")


def _count(rows: pd.DataFrame, sizes: dict[str, int]) -> dict[str, tuple[int, int]]:
    """(subjects, events) per column, Total included."""
    out = {}
    for group in sizes:
        sub = rows if group == "Total" else rows[rows["GROUP"].eq(group)]
        out[group] = (int(sub["USUBJID"].nunique()), int(len(sub)))
    return out


def overview_rows(drugs: dict[str, str], has_irae: bool,
                  grade3_label: str = "CTCAE grade >= 3") -> list[tuple[str, str | None]]:
    """Row label -> ADAE flag of the overview table (``drugs``: code -> label)."""
    rows = [(ANY, None), (grade3_label, "GR3FL"), ("Serious", "SERFL")]
    rows += [(f"Related to {label}", f"REL{code}FL") for code, label in drugs.items()]
    rows += [("Related to any study drug", "RELANYFL")]
    if has_irae:
        rows += [("Immune-related", "AEIRFL")]
    rows += [("Leading to treatment discontinuation", "DISCFL"), ("Fatal (outcome death)", "FATALFL")]
    return rows


def grade_label(teaes: pd.DataFrame) -> str:
    """"CTCAE grade >= 3", or "Severe" when the data carry severity (AESEV) instead of grades."""
    if "GRSRC" in teaes.columns and teaes["GRSRC"].eq("AESEV").any():
        return "Severe (AESEV; no CTCAE grade in the data)"
    return "CTCAE grade >= 3"


def overview_counts(teaes: pd.DataFrame, pop: pd.DataFrame, drugs: dict[str, str]) -> pd.DataFrame:
    """Tidy overview: row, column, N, subjects, events (``overview_table`` displays it)."""
    sizes = group_sizes(pop)
    has_irae = "AEIRFL" in teaes.columns and teaes["AEIRFL"].notna().any()
    records = []
    for label, flag in overview_rows(drugs, has_irae, grade_label(teaes)):
        rows = teaes if flag is None else teaes[teaes[flag].eq("Y")] if flag in teaes.columns else teaes.iloc[0:0]
        for group, (subjects, events) in _count(rows, sizes).items():
            records.append({"row": label, "column": group, "N": sizes[group], "subjects": subjects, "events": events})
    return pd.DataFrame(records)


def overview_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Display: per column "n (%)" of subjects and the number of events."""
    table = {}
    for group, rows in counts.groupby("column", sort=False):
        n = int(rows["N"].iloc[0])
        table[(f"{group} (N={n})", "Subjects, n (%)")] = [n_pct(s, n) for s in rows["subjects"]]
        table[(f"{group} (N={n})", "Events")] = rows["events"].astype(str).tolist()
    out = pd.DataFrame(table, index=counts["row"].drop_duplicates().tolist())
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    out.index.name = "Subjects with at least one"
    return out


def soc_pt_counts(teaes: pd.DataFrame, pop: pd.DataFrame) -> pd.DataFrame:
    """Subjects per SOC and preferred term per column: SOC, PT ("" for the SOC row), column,
    N, subjects, events; with a first row for any TEAE; sorted by Total frequency."""
    sizes = group_sizes(pop)
    records = []

    def add(soc, pt, rows):
        for group, (subjects, events) in _count(rows, sizes).items():
            records.append({"SOC": soc, "PT": pt, "column": group, "N": sizes[group],
                            "subjects": subjects, "events": events})

    add(ANY, "", teaes)
    for soc, soc_rows in teaes.groupby("AEBODSYS", sort=True):
        add(soc, "", soc_rows)
        for pt, pt_rows in soc_rows.groupby("AEDECOD", sort=True):
            add(soc, pt, pt_rows)
    counts = pd.DataFrame(records, columns=["SOC", "PT", "column", "N", "subjects", "events"])
    return sort_by_frequency(counts)


def sort_by_frequency(counts: pd.DataFrame) -> pd.DataFrame:
    """SOCs by descending Total subjects, then name; terms within each SOC likewise; the
    "any TEAE" row first."""
    total = counts[counts["column"].eq("Total")]
    soc_n = total[total["PT"].eq("")].set_index("SOC")["subjects"]
    pt_n = total.set_index(["SOC", "PT"])["subjects"]
    keyed = counts.assign(
        _any=~counts["SOC"].eq(ANY), _soc=-counts["SOC"].map(soc_n), _socname=counts["SOC"],
        _isterm=counts["PT"].ne(""), _pt=-pd.Series(list(zip(counts["SOC"], counts["PT"])), index=counts.index).map(pt_n),
        _ptname=counts["PT"])
    return (keyed.sort_values(["_any", "_soc", "_socname", "_isterm", "_pt", "_ptname"], kind="stable")
            .drop(columns=[c for c in keyed.columns if c.startswith("_")]).reset_index(drop=True))


def soc_pt_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Display of :func:`soc_pt_counts`: rows indexed by (SOC, preferred term); the SOC's own
    count is its "All terms" row."""
    if counts.empty:
        return pd.DataFrame({"": ["No treatment-emergent adverse events"]}).set_index("")
    wide = {}
    for group, rows in counts.groupby("column", sort=False):
        n = int(rows["N"].iloc[0])
        wide[f"{group} (N={n})"] = [n_pct(s, n) for s in rows["subjects"]]
    first = counts[counts["column"].eq(counts["column"].iloc[0])]
    labels = [(soc, "" if soc == ANY else ALL_TERMS if pt == "" else pt) for soc, pt in zip(first["SOC"], first["PT"])]
    return pd.DataFrame(wide, index=pd.MultiIndex.from_tuples(labels, names=["System organ class", "Preferred term"]))


def worst_grade(teaes: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One row per ``by`` group (a subject and term, say) with GRADE: the worst recorded CTCAE
    grade as "1".."5", or :data:`GRADE_MISSING` when no record of the group has a grade
    (module docstring). No record is dropped."""
    worst = teaes.groupby(by, as_index=False, dropna=False)["ATOXGRN"].max()     # max skips missing grades
    worst["GRADE"] = worst["ATOXGRN"].map(lambda g: GRADE_MISSING if pd.isna(g) else str(int(g)))
    return worst.drop(columns="ATOXGRN")


def max_grade_counts(teaes: pd.DataFrame, pop: pd.DataFrame) -> pd.DataFrame:
    """Subjects by their worst grade per preferred term (and for any TEAE), per column:
    SOC, PT, column, N, grade ("Any", "1".."5" or "Missing": no grade on any of the subject's
    records of the term), subjects. The grade categories add up to "Any"."""
    sizes = group_sizes(pop)
    worst = worst_grade(teaes, ["USUBJID", "GROUP", "AEBODSYS", "AEDECOD"])
    worst_any = worst_grade(teaes, ["USUBJID", "GROUP"])
    records = []

    def add(soc, pt, rows):
        for group in sizes:
            sub = rows if group == "Total" else rows[rows["GROUP"].eq(group)]
            grades = sub["GRADE"].value_counts()
            records.append({"SOC": soc, "PT": pt, "column": group, "N": sizes[group], "grade": "Any",
                            "subjects": int(sub["USUBJID"].nunique())})
            for g in GRADE_CATEGORIES:
                records.append({"SOC": soc, "PT": pt, "column": group, "N": sizes[group], "grade": g,
                                "subjects": int(grades.get(g, 0))})

    add(ANY, "", worst_any)
    for (soc, pt), rows in worst.groupby(["AEBODSYS", "AEDECOD"], sort=True):
        add(soc, pt, rows)
    counts = pd.DataFrame(records, columns=["SOC", "PT", "column", "N", "grade", "subjects"])
    total = counts[counts["column"].eq("Total") & counts["grade"].eq("Any")]
    order = total.assign(_any=total["SOC"].ne(ANY), _n=-total["subjects"]).sort_values(
        ["_any", "_n", "PT", "SOC"], kind="stable")          # by frequency of the term, then name
    rank = {key: i for i, key in enumerate(zip(order["SOC"], order["PT"]))}
    return (counts.assign(_r=[rank[k] for k in zip(counts["SOC"], counts["PT"])])
            .sort_values("_r", kind="stable").drop(columns="_r").reset_index(drop=True))


def max_grade_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Display of :func:`max_grade_counts`: rows = preferred terms (no SOC rows), columns = each
    group x (All grades, Grade 1..5, Grade missing), n (%). The "Grade missing" column is shown
    only when some subject is in it (otherwise it is zero everywhere)."""
    if counts.empty:
        return pd.DataFrame({"": ["No treatment-emergent adverse events"]}).set_index("")
    show_missing = bool(counts.loc[counts["grade"].eq(GRADE_MISSING), "subjects"].sum())
    wide = {}
    for (group, grade), rows in counts.groupby(["column", "grade"], sort=False):
        if grade == GRADE_MISSING and not show_missing:
            continue
        n = int(rows["N"].iloc[0])
        label = "All grades" if grade == "Any" else "Grade missing" if grade == GRADE_MISSING else f"Grade {grade}"
        wide[(f"{group} (N={n})", label)] = [n_pct(s, n) for s in rows["subjects"]]
    first = counts[(counts["column"] == counts["column"].iloc[0]) & counts["grade"].eq("Any")]
    out = pd.DataFrame(wide, index=[ANY if s == ANY else pt for s, pt in zip(first["SOC"], first["PT"])])
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    out.index.name = "Preferred term (worst grade per subject)"
    return out


def top_terms_by_grade(teaes: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """For the bar chart: the ``top`` most frequent preferred terms (subjects, all columns,
    those without a grade included), index = term, columns 1-5 = subjects by their worst grade
    for the term and "Missing" (no grade recorded for the term; drawn as a grey "Grade missing"
    segment by ``plots_safety.teae_grade_bars``). Every subject with the term is in one column."""
    worst = worst_grade(teaes, ["USUBJID", "AEDECOD"])
    table = pd.crosstab(worst["AEDECOD"], worst["GRADE"]) if len(worst) else pd.DataFrame()
    table = table.reindex(columns=GRADE_CATEGORIES, fill_value=0)
    totals = table.sum(axis=1)
    order = sorted(table.index, key=lambda t: (-totals[t], t))[:top]
    table = table.loc[order]
    table.columns = [int(c) if c != GRADE_MISSING else c for c in table.columns]
    table.index.name, table.columns.name = "AEDECOD", None
    return table


def irae_onsets(teaes: pd.DataFrame) -> pd.DataFrame:
    """Immune-related TEAEs, first onset per subject and term: TERM, ONSET_DAY (study day),
    GRADE (worst grade of that term for the subject; NaN when none of its records has a grade,
    drawn as a grey "Grade missing" marker by ``plots_safety.irae_onset_plot``). Undated onsets
    (ASTDY missing) cannot be placed on a time axis and are counted in ``attrs["undated"]``."""
    if "AEIRFL" not in teaes.columns or teaes.empty:
        return pd.DataFrame(columns=["TERM", "ONSET_DAY", "GRADE"])
    ir_all = teaes[teaes["AEIRFL"].eq("Y")]
    ir = ir_all[ir_all["ASTDY"].notna()]
    out = ir.groupby(["USUBJID", "AEDECOD"], as_index=False).agg(ONSET_DAY=("ASTDY", "min"), GRADE=("ATOXGRN", "max"))
    out = out.rename(columns={"AEDECOD": "TERM"})[["TERM", "ONSET_DAY", "GRADE"]]
    out.attrs["undated"] = int(ir_all.groupby(["USUBJID", "AEDECOD"]).ngroups - len(out))
    return out


def deaths_listing(adsl: pd.DataFrame, pop: pd.DataFrame, adae: pd.DataFrame, window_end: str = "TRTEDT") -> pd.DataFrame:
    """Deaths in the population: running subject number (no identifiers), group, study day of
    death, days after the last dose, and the fatal AE term(s) with whether they were
    treatment-emergent."""
    sub = adsl.merge(pop, on="USUBJID")
    dead = sub[sub["DTHDT"].notna()].sort_values(["GROUP", "DTHDT", "USUBJID"], kind="stable")
    if dead.empty:
        return pd.DataFrame(columns=["Group", "Day of death", "Days after last dose", "Fatal adverse event(s)"])
    fatal = adae[adae["FATALFL"].eq("Y")] if len(adae) else adae
    terms = fatal.groupby("USUBJID").apply(
        lambda r: "; ".join(f"{t}{'' if e == 'Y' else ' (not treatment-emergent)'}"
                            for t, e in zip(r["AEDECOD"], r["TRTEMFL"])), include_groups=False) if len(fatal) else {}
    day = (dead["DTHDT"] - dead["TRTSDT"]).dt.days
    after = (dead["DTHDT"] - dead[window_end]).dt.days
    out = pd.DataFrame({"Group": dead["GROUP"].to_numpy(), "Day of death": (day + (day >= 0)).astype("Int64").to_numpy(),
                        "Days after last dose": after.astype("Int64").to_numpy(),
                        "Fatal adverse event(s)": dead["USUBJID"].map(terms).fillna("none recorded").to_numpy()},
                       index=pd.RangeIndex(1, len(dead) + 1, name="Subject #"))
    return out


def export_csv(tables: dict[str, pd.DataFrame], folder: str | Path | None) -> list[Path]:
    """Write each table as ``<name>.csv`` (UTF-8, index kept) into ``folder`` (created);
    nothing when ``folder`` is None (a notebook opened on its own)."""
    if not folder:
        return []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        table.to_csv(path, encoding="utf-8", lineterminator="\n")
        paths.append(path)
    return paths


def any_flag_present(adae: pd.DataFrame, flag: str) -> bool:
    return flag in adae.columns and adae[flag].eq("Y").any()


def drug_labels(study_drugs: dict) -> dict[str, str]:
    """Study drug code -> label for row names (H101, PD1 -> "PD-1 inhibitor")."""
    nice = {"PD1": "PD-1 inhibitor"}
    return {code: nice.get(code, code) for code in study_drugs}

