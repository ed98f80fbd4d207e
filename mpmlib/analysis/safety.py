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
* Each table's first row says what it counts (e.g. "Any serious TEAE"): the ``any_label`` of
  :func:`soc_pt_table` / :func:`max_grade_table`.
* A flag that was not collected (null in every ADAE record: ``mpmlib.derive.adae``) is shown as
  "not collected", never as 0.
* Data with severity (AESEV) instead of CTCAE grades are labelled as severity (mild, moderate,
  severe), never as "CTCAE grade" with empty grade 4/5 columns.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mpmlib.tables.format import n_pct

ANY = "Any treatment-emergent AE"
ALL_TERMS = "All terms"
NOT_COLLECTED = "not collected"
#: severity (AESEV) shown in place of grades 1-3 when the data carry no CTCAE grade
SEVERITY_LABELS = {"1": "Mild", "2": "Moderate", "3": "Severe"}
#: DTHT01: deaths within this many days of the last dose are counted apart
DEATH_WINDOW_DAYS = 30
#: grade category of a subject whose TEAEs of a term all lack a CTCAE grade
GRADE_MISSING = "Missing"
GRADE_CATEGORIES = ["1", "2", "3", "4", "5", GRADE_MISSING]


def subject_groups(adsl: pd.DataFrame, flag: str = "SAFFL", by: str = "TRT01A") -> pd.DataFrame:
    """USUBJID and GROUP (the table column) of the subjects with ``flag == "Y"``."""
    pop = adsl[adsl[flag].eq("Y")] if flag in adsl.columns else adsl.iloc[0:0]
    return pd.DataFrame({"USUBJID": pop["USUBJID"].to_numpy(), "GROUP": pop[by].astype(str).to_numpy()})


def group_sizes(pop: pd.DataFrame) -> dict[str, int]:
    """Column label -> N, groups sorted, then Total."""
    sizes = pop.groupby("GROUP").size().sort_index()
    return {**{str(k): int(v) for k, v in sizes.items()}, "Total": len(pop)}


def teae(adae: pd.DataFrame, pop: pd.DataFrame, flag: str = "TRTEMFL") -> pd.DataFrame:
    """Treatment-emergent AEs of the population, with the subject's GROUP (``flag``: TRTEMFL, or
    TRTEIRFL for the immune-related sensitivity window)."""
    rows = adae[adae[flag].eq("Y")] if len(adae) else adae
    return rows.merge(pop, on="USUBJID", how="inner")


def is_severity(teaes: pd.DataFrame) -> bool:
    """True when the grades are AESEV severities (ADAE ``GRSRC = "AESEV"``), not CTCAE grades."""
    return "GRSRC" in teaes.columns and teaes["GRSRC"].eq("AESEV").any()


def collected(adae: pd.DataFrame, flag: str) -> bool:
    """Whether an ADAE flag was collected: present and not null in every record (module)."""
    return flag in adae.columns and adae[flag].notna().any()


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
    if is_severity(teaes):
        return "Severe (AESEV; no CTCAE grade in the data)"
    return "CTCAE grade >= 3"


def subset_label(what: str, teaes: pd.DataFrame | None = None) -> str:
    """First-row label of a sub-table, saying what it counts: ``what`` is "all", "grade3",
    "serious", "immune", or "related:<drug label>"."""
    grade3 = "severe TEAE" if teaes is not None and is_severity(teaes) else "TEAE of CTCAE grade >= 3"
    labels = {"all": ANY, "grade3": f"Any {grade3}", "serious": "Any serious TEAE",
              "immune": "Any immune-related TEAE"}
    if what.startswith("related:"):
        return f"Any TEAE related to {what.split(':', 1)[1]}"
    return labels[what]


def overview_counts(teaes: pd.DataFrame, pop: pd.DataFrame, drugs: dict[str, str]) -> pd.DataFrame:
    """Tidy overview: row, column, N, subjects, events (``overview_table`` displays it)."""
    sizes = group_sizes(pop)
    has_irae = "AEIRFL" in teaes.columns and teaes["AEIRFL"].notna().any()
    records = []
    for label, flag in overview_rows(drugs, has_irae, grade_label(teaes)):
        rows = teaes if flag is None else teaes[teaes[flag].eq("Y")] if flag in teaes.columns else teaes.iloc[0:0]
        known = flag is None or flag == "GR3FL" or collected(teaes, flag) or (teaes.empty and flag in teaes.columns)
        for group, (subjects, events) in _count(rows, sizes).items():
            records.append({"row": label, "column": group, "N": sizes[group], "subjects": subjects, "events": events,
                            "collected": known})
    return pd.DataFrame(records)


def overview_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Display: per column "n (%)" of subjects and the number of events."""
    table = {}
    known = counts["collected"] if "collected" in counts.columns else pd.Series(True, index=counts.index)
    for group, rows in counts.groupby("column", sort=False):
        n = int(rows["N"].iloc[0])
        ok = known[rows.index]
        table[(f"{group} (N={n})", "Subjects, n (%)")] = [n_pct(s, n) if k else NOT_COLLECTED
                                                          for s, k in zip(rows["subjects"], ok)]
        table[(f"{group} (N={n})", "Events")] = [str(e) if k else "" for e, k in zip(rows["events"], ok)]
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


def soc_pt_table(counts: pd.DataFrame, any_label: str = ANY) -> pd.DataFrame:
    """Display of :func:`soc_pt_counts`: rows indexed by (SOC, preferred term); the SOC's own
    count is its "All terms" row; the first row, labelled ``any_label`` (:func:`subset_label`),
    counts subjects with any event of the table."""
    if counts.empty:
        return pd.DataFrame({"": ["No treatment-emergent adverse events"]}).set_index("")
    wide = {}
    for group, rows in counts.groupby("column", sort=False):
        n = int(rows["N"].iloc[0])
        wide[f"{group} (N={n})"] = [n_pct(s, n) for s in rows["subjects"]]
    first = counts[counts["column"].eq(counts["column"].iloc[0])]
    labels = [(any_label, "") if soc == ANY else (soc, ALL_TERMS if pt == "" else pt)
              for soc, pt in zip(first["SOC"], first["PT"])]
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


def max_grade_table(counts: pd.DataFrame, any_label: str = ANY, severity: bool = False) -> pd.DataFrame:
    """Display of :func:`max_grade_counts`: rows = preferred terms (no SOC rows; the first row,
    ``any_label``, any event of the table), columns = each group x (All grades, Grade 1..5,
    Grade missing), n (%). The "Grade missing" column is shown only when some subject is in it.
    ``severity`` (AESEV data, :func:`is_severity`): columns Mild / Moderate / Severe / Severity
    missing, no grade 4-5 columns (severity has three levels, ICH E2A)."""
    if counts.empty:
        return pd.DataFrame({"": ["No treatment-emergent adverse events"]}).set_index("")
    show_missing = bool(counts.loc[counts["grade"].eq(GRADE_MISSING), "subjects"].sum())
    word = "severity" if severity else "grade"
    wide = {}
    for (group, grade), rows in counts.groupby(["column", "grade"], sort=False):
        if (grade == GRADE_MISSING and not show_missing) or (severity and grade in ("4", "5")):
            continue
        n = int(rows["N"].iloc[0])
        label = ("All grades" if not severity else "Any severity") if grade == "Any" else \
            f"{word.capitalize()} missing" if grade == GRADE_MISSING else \
            SEVERITY_LABELS[grade] if severity else f"Grade {grade}"
        wide[(f"{group} (N={n})", label)] = [n_pct(s, n) for s in rows["subjects"]]
    first = counts[(counts["column"] == counts["column"].iloc[0]) & counts["grade"].eq("Any")]
    out = pd.DataFrame(wide, index=[any_label if s == ANY else pt for s, pt in zip(first["SOC"], first["PT"])])
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    out.index.name = f"Preferred term (worst {word} per subject)"
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


def death_causes(adsl: pd.DataFrame, adae: pd.DataFrame, ds: pd.DataFrame | None = None,
                 dd: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cause of death per subject who died (ADSL DTHDT or DTHFL): USUBJID, CAUSE (text), CATEGORY.

    Sources in order (admiral ``ad_adsl.R`` DTHCAUS: a fatal AE first, then the collected cause):
    an AE with a fatal outcome (ADAE FATALFL = "Y") -> "Adverse event" with its term(s); else the
    primary cause of death in DD (SDTMIG 3.3 Death Details, DDTESTCD = PRCDTH, DDSTRESC or
    DDORRES); else a DS record with DSDECOD = DEATH whose DSTERM says more than "DEATH". A cause
    naming progression ("PROGRESS") is "Disease progression", "UNKNOWN" or none is "Unknown or not
    recorded", any other "Other" (DTHT01 "Primary cause of death"; nothing is guessed from
    tumour assessments)."""
    died = adsl["DTHDT"].notna()
    if "DTHFL" in adsl.columns:
        died |= adsl["DTHFL"].eq("Y")
    dead = adsl.loc[died, ["USUBJID"]]
    fatal = adae[adae["FATALFL"].eq("Y")] if len(adae) and "FATALFL" in adae.columns else adae.iloc[0:0]
    ae_terms = fatal.groupby("USUBJID")["AEDECOD"].agg(lambda t: "; ".join(dict.fromkeys(t.astype(str))))
    collected = pd.Series(dtype=object)
    if dd is not None and {"USUBJID", "DDTESTCD"} <= set(dd.columns):
        rows = dd[dd["DDTESTCD"].astype(str).str.strip().str.upper().eq("PRCDTH")]
        value = rows.get("DDSTRESC", pd.Series(np.nan, index=rows.index)).fillna(
            rows.get("DDORRES", pd.Series(np.nan, index=rows.index)))
        value = value.astype(object).where(value.notna(), "").astype(str).str.strip()
        collected = value[value.ne("")].groupby(rows.loc[value.ne(""), "USUBJID"]).first()
    if ds is not None and {"USUBJID", "DSDECOD", "DSTERM"} <= set(ds.columns):
        death = ds[ds["DSDECOD"].astype(str).str.strip().str.upper().eq("DEATH")]
        term = death["DSTERM"].astype(object).where(death["DSTERM"].notna(), "").astype(str).str.strip()
        informative = term.ne("") & term.str.upper().ne("DEATH")
        from_ds = term[informative].groupby(death.loc[informative, "USUBJID"]).first()
        collected = collected.combine_first(from_ds)
    cause = dead["USUBJID"].map(ae_terms)
    other = dead["USUBJID"].map(collected)
    text = other.fillna("").str.upper()
    category = np.select([cause.notna(), text.str.contains("PROGRESS"), text.isin(["", "UNKNOWN"])],
                         ["Adverse event", "Disease progression", "Unknown or not recorded"], default="Other")
    return pd.DataFrame({"USUBJID": dead["USUBJID"].to_numpy(), "CAUSE": cause.fillna(other).fillna("").to_numpy(),
                         "CATEGORY": category})


def _last_doses(adsl: pd.DataFrame, drugs: dict[str, str]) -> dict[str, str]:
    """Label -> ADSL last-dose variable: any study drug (TRTEDT) and each drug (<CODE>EDT)."""
    out = {"any study drug": "TRTEDT"}
    out.update({label: f"{code}EDT" for code, label in drugs.items() if f"{code}EDT" in adsl.columns})
    return out


def deaths_summary(adsl: pd.DataFrame, pop: pd.DataFrame, adae: pd.DataFrame, drugs: dict[str, str],
                   ds: pd.DataFrame | None = None, dd: pd.DataFrame | None = None,
                   days: int = DEATH_WINDOW_DAYS) -> pd.DataFrame:
    """DTHT01 (pharmaverse TLG catalog): deaths in the population, n (%) of the column N; deaths
    within ``days`` of the last dose of any study drug and of each drug (death date - last dose
    date <= ``days``), later deaths, the primary cause (:func:`death_causes`) and subjects with a
    fatal treatment-emergent AE."""
    sizes = group_sizes(pop)
    sub = adsl.merge(pop, on="USUBJID")
    dead = sub[sub["DTHDT"].notna() | sub.get("DTHFL", pd.Series(index=sub.index)).eq("Y")]
    causes = death_causes(adsl, adae, ds, dd).set_index("USUBJID")["CATEGORY"]
    fatal_te = set(adae.loc[adae["FATALFL"].eq("Y") & adae["TRTEMFL"].eq("Y"), "USUBJID"]) if len(adae) else set()
    rows: list[tuple[str, pd.Series]] = [("Total number of deaths", pd.Series(True, index=dead.index))]
    last = _last_doses(adsl, drugs)
    for label, var in last.items():
        gap = (dead["DTHDT"] - dead[var]).dt.days
        rows.append((f"  Within {days} days of the last dose of {label}", gap.le(days)))
    gap_any = (dead["DTHDT"] - dead["TRTEDT"]).dt.days
    rows.append((f"  More than {days} days after the last dose of any study drug", gap_any.gt(days)))
    if gap_any.isna().any():
        rows.append(("  Date of death or of last dose unknown", gap_any.isna()))
    rows.append(("Primary cause of death", None))
    for category in ("Adverse event", "Disease progression", "Other", "Unknown or not recorded"):
        rows.append((f"  {category}", dead["USUBJID"].map(causes).eq(category)))
    rows.append(("Subjects with a fatal treatment-emergent AE", dead["USUBJID"].isin(fatal_te)))
    table = {}
    for group, n in sizes.items():
        in_group = dead["GROUP"].eq(group) if group != "Total" else pd.Series(True, index=dead.index)
        table[f"{group} (N={n})"] = ["" if mask is None else n_pct(int((mask & in_group).sum()), n) for _, mask in rows]
    out = pd.DataFrame(table, index=[label for label, _ in rows])
    out.index.name = "Deaths, n (%)"
    return out


def deaths_listing(adsl: pd.DataFrame, pop: pd.DataFrame, adae: pd.DataFrame, drugs: dict[str, str],
                   ids, ds: pd.DataFrame | None = None, dd: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every death in the population (AEL04-like listing), sorted by subject, rows numbered:
    subject ID (``ids``: ``Run.subject_ids``), group, study day of death (day 1 = first dose, no day 0),
    days from the last dose of any study drug and of each drug, cause and category
    (:func:`death_causes`), and the fatal AE(s) with whether each was treatment-emergent."""
    sub = adsl.merge(pop, on="USUBJID")
    dead = sub[sub["DTHDT"].notna() | sub.get("DTHFL", pd.Series(index=sub.index)).eq("Y")].sort_values(
        "USUBJID", kind="stable")
    last = _last_doses(adsl, drugs)
    columns = ["Subject", "Group", "Day of death", *[f"Days after last dose of {lbl}" for lbl in last],
               "Cause of death", "Category", "Fatal adverse event(s)"]
    if dead.empty:
        return _numbered(pd.DataFrame(columns=columns))
    causes = death_causes(adsl, adae, ds, dd).set_index("USUBJID")
    fatal = adae[adae["FATALFL"].eq("Y")] if len(adae) else adae
    terms = fatal.groupby("USUBJID").apply(
        lambda r: "; ".join(f"{t} (AESEQ {int(q) if pd.notna(q) else '?'}"
                            f"{'' if e == 'Y' else ', not treatment-emergent'})"
                            for t, q, e in zip(r["AEDECOD"], r["AESEQ"], r["TRTEMFL"])),
        include_groups=False) if len(fatal) else pd.Series(dtype=object)
    day = (dead["DTHDT"] - dead["TRTSDT"]).dt.days
    out = {"Subject": ids(dead["USUBJID"]).to_numpy(), "Group": dead["GROUP"].to_numpy(),
           "Day of death": (day + (day >= 0)).astype("Int64").to_numpy()}
    for label, var in last.items():
        out[f"Days after last dose of {label}"] = (dead["DTHDT"] - dead[var]).dt.days.astype("Int64").to_numpy()
    out["Cause of death"] = dead["USUBJID"].map(causes["CAUSE"]).replace("", "not recorded").to_numpy()
    out["Category"] = dead["USUBJID"].map(causes["CATEGORY"]).to_numpy()
    out["Fatal adverse event(s)"] = dead["USUBJID"].map(terms).fillna("none recorded").to_numpy()
    return _numbered(pd.DataFrame(out, columns=columns))


def outside_window_listing(adae: pd.DataFrame, ids, severity: bool = False) -> pd.DataFrame:
    """Every AE that is not treatment-emergent (ADAE TRTEMFL = "N"), so nothing recorded is
    invisible, rows numbered: subject (``ids``), AESEQ, preferred term, start date as collected (AESTDTC),
    study day, window end (TEWENDT), reason (TEMRSN), grade (``severity``: the AESEV severity,
    headed "Severity"), serious, fatal, immune-related in the sensitivity window; sorted by
    subject, start and AESEQ (a data manager's order)."""
    columns = ["Subject", "AESEQ", "Preferred term", "Start (AESTDTC)", "Study day", "Window ends",
               "Reason not treatment-emergent", "Grade", "Serious", "Fatal", "irAE sensitivity window"]
    rows = adae[adae["TRTEMFL"].eq("N")] if len(adae) else adae
    if rows.empty:
        return _numbered(pd.DataFrame(columns=columns))
    rows = rows.sort_values(["USUBJID", "ASTDT", "AESEQ"], kind="stable", na_position="last")
    ir = rows["AEIRFL"].eq("Y") & rows["TRTEIRFL"].eq("Y") if "TRTEIRFL" in rows else pd.Series(False, index=rows.index)
    listing = pd.DataFrame({
        "Subject": ids(rows["USUBJID"]).to_numpy(), "AESEQ": rows["AESEQ"].astype("Int64").to_numpy(),
        "Preferred term": rows["AEDECOD"].to_numpy(), "Start (AESTDTC)": rows["AESTDTC"].fillna("").to_numpy(),
        "Study day": rows["ASTDY"].astype("Int64").to_numpy(),
        "Window ends": rows["TEWENDT"].dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
        "Reason not treatment-emergent": rows["TEMRSN"].to_numpy(),
        "Grade": rows["ATOXGRN"].astype("Int64").to_numpy(),
        "Serious": rows["SERFL"].fillna(NOT_COLLECTED).to_numpy(),
        "Fatal": rows["FATALFL"].fillna(NOT_COLLECTED).to_numpy(),
        "irAE sensitivity window": np.where(ir, "Y", "").astype(object)}, columns=columns)
    if severity:
        listing["Grade"] = listing["Grade"].map(lambda g: SEVERITY_LABELS.get(str(g), "") if pd.notna(g) else "")
        listing = listing.rename(columns={"Grade": "Severity"})
    return _numbered(listing)


def _numbered(listing: pd.DataFrame) -> pd.DataFrame:
    """A listing's rows numbered 1..n ("#"), the subject ID a column of its own (shown whole on
    the page: a data value cell does not wrap)."""
    return listing.set_axis(pd.RangeIndex(1, len(listing) + 1, name="#"), axis=0)


def export_csv(tables: dict[str, pd.DataFrame], folder: str | Path | None) -> list[Path]:
    """Write each table as ``<name>.csv`` (UTF-8, index kept) into ``folder`` (created);
    nothing when ``folder`` is None (a notebook opened on its own). Every file goes through
    :func:`mpmlib.csvsafe.write_csv`: a cell, row or column label that would start a spreadsheet
    formula (an AE term ``=HYPERLINK(...)``) gets a leading apostrophe (OWASP CSV Injection);
    numbers stay numbers. A name that is not a plain file name (letters, digits, ``_ . -``; a
    drug code from the parameter file is part of some names) is refused, so no file is written
    outside ``folder``."""
    from mpmlib.csvsafe import write_csv

    if not folder:
        return []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        if not _FILE_NAME.fullmatch(name):
            raise ValueError(f"CSV table name {name!r}: only letters, digits, '_', '.' and '-' (see table_name)")
        paths.append(write_csv(table, folder / f"{name}.csv", index=True))
    return paths


_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def table_name(prefix: str, code: str) -> str:
    """File name of a table for one study drug: ``prefix`` + the drug code in lower case, every
    character other than a letter or digit replaced by ``_`` (a code comes from the parameter
    file, ``adsl.study_drugs``, and may hold any text).

    >>> table_name("30_safety_related_", "PD1"), table_name("30_safety_related_", "../X y")
    ('30_safety_related_pd1', '30_safety_related____x_y')
    """
    return prefix + re.sub(r"[^a-z0-9]", "_", code.lower())


def immune_absent_text(adae: pd.DataFrame) -> str:
    """Why the immune-related section is empty: the flag was not collected (no
    ``safety.immune_related`` source), or it was and no AE is flagged."""
    if not collected(adae, "AEIRFL"):
        return ("_Immune-related status: not collected in this input (no `safety.immune_related` source in "
                "the parameters), so immune-related AEs cannot be shown._")
    return "_No adverse event is flagged as immune-related in this input._"


def any_flag_present(adae: pd.DataFrame, flag: str) -> bool:
    return flag in adae.columns and adae[flag].eq("Y").any()


def drug_labels(study_drugs: dict) -> dict[str, str]:
    """Study drug code -> label for row names (H101, PD1 -> "PD-1 inhibitor")."""
    nice = {"PD1": "PD-1 inhibitor"}
    return {code: nice.get(code, code) for code in study_drugs}
