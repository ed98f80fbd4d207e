"""Safety tables: the CDISC pilot's published TEAE tables, and every count of the table builders
against an independent plain computation.

Reference: CDISC pilot CSR Table 14-5.01 "Incidence of Treatment Emergent Adverse Events by
Treatment Group" and 14-5.02 (serious), safety population Placebo N=86, Xanomeline Low N=84,
Xanomeline High N=84, as re-created by Atorus Research from the pilot ADaM
(atorus-research/CDISC_pilot_replication @69b4fb6e, outputs/14-5.01.rtf and 14-5.02.rtf).
Rows: "ANY BODY SYSTEM 65 (75.6%) [281] | 77 (91.7%) [412] | 76 (90.5%) [433]", serious
0 | 1 (1.2%) [1] | 2 (2.4%) [2], and the SOC / preferred-term rows below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mpmlib.analysis import safety
from mpmlib.pages import safety as safety_page
from mpmlib.derive.adae import derive_adae
from mpmlib.settings.load import PROJECT_ROOT, load_params

PLACEBO, LOW, HIGH = "Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"
PUBLISHED = {  # row: {arm: (subjects, events)}
    ("SOC", "GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS"): {PLACEBO: (21, 46), LOW: (47, 118), HIGH: (40, 124)},
    ("SOC", "SKIN AND SUBCUTANEOUS TISSUE DISORDERS"): {PLACEBO: (20, 45), LOW: (39, 111), HIGH: (40, 104)},
    ("SOC", "NERVOUS SYSTEM DISORDERS"): {PLACEBO: (8, 11), LOW: (20, 40), HIGH: (25, 41)},
    ("SOC", "CARDIAC DISORDERS"): {PLACEBO: (12, 26), LOW: (13, 30), HIGH: (15, 30)},
    ("PT", "APPLICATION SITE PRURITUS"): {PLACEBO: (6, 10), LOW: (22, 32), HIGH: (22, 35)},
    ("PT", "APPLICATION SITE ERYTHEMA"): {PLACEBO: (3, 3), LOW: (12, 20), HIGH: (15, 23)},
    ("PT", "PRURITUS"): {PLACEBO: (8, 11), LOW: (21, 31), HIGH: (26, 38)},
    ("PT", "ERYTHEMA"): {PLACEBO: (8, 12), LOW: (14, 22), HIGH: (14, 22)},
    ("PT", "DIZZINESS"): {PLACEBO: (2, 3), LOW: (8, 13), HIGH: (11, 15)},
}


def build(name: str, sdtm):
    from mpmlib.derive import derive_adsl

    params = load_params(PROJECT_ROOT / "params" / f"{name}.yaml")
    adsl = derive_adsl(sdtm, params["adsl"], params["data_cutoff"])
    adae = derive_adae(adsl, sdtm.get("ae"), sdtm.get("suppae"), params["safety"])
    pop = safety.subject_groups(adsl, "SAFFL", params["safety"]["by"])
    return params, adsl, adae, pop, safety.teae(adae, pop)


@pytest.fixture(scope="module")
def pilot(pilot_sdtm):
    return build("cdiscpilot01", pilot_sdtm)


@pytest.fixture(scope="module")
def demo():
    from mpmlib.sdtm.read import read_sdtm

    return build("demo", read_sdtm(PROJECT_ROOT / "data" / "demo"))


def test_pilot_teae_overview_equals_published_table(pilot):
    params, adsl, adae, pop, teaes = pilot
    counts = safety.overview_counts(teaes, pop, safety.drug_labels(params["adsl"]["study_drugs"]))
    got = counts.set_index(["row", "column"])
    assert {c: got.loc[(safety.ANY, c), "N"] for c in (PLACEBO, LOW, HIGH)} == {PLACEBO: 86, LOW: 84, HIGH: 84}
    any_teae = {c: tuple(got.loc[(safety.ANY, c), ["subjects", "events"]]) for c in (PLACEBO, LOW, HIGH)}
    assert any_teae == {PLACEBO: (65, 281), LOW: (77, 412), HIGH: (76, 433)}
    serious = {c: tuple(got.loc[("Serious", c), ["subjects", "events"]]) for c in (PLACEBO, LOW, HIGH)}
    assert serious == {PLACEBO: (0, 0), LOW: (1, 1), HIGH: (2, 2)}
    table = safety.overview_table(counts)
    assert table.loc[safety.ANY, (f"{LOW} (N=84)", "Subjects, n (%)")] == "77 (91.7)"
    assert table.loc[safety.ANY, (f"{PLACEBO} (N=86)", "Subjects, n (%)")] == "65 (75.6)"


def test_pilot_soc_and_term_rows_equal_published_table(pilot):
    params, adsl, adae, pop, teaes = pilot
    counts = safety.soc_pt_counts(teaes, pop)
    for (level, name), expected in PUBLISHED.items():
        rows = counts[(counts["SOC"].eq(name) & counts["PT"].eq("")) if level == "SOC" else counts["PT"].eq(name)]
        got = {r.column: (r.subjects, r.events) for r in rows.itertuples() if r.column != "Total"}
        assert got == expected, name


def plain_subjects(teaes: pd.DataFrame, by: list[str]) -> pd.Series:
    """Independent count: distinct subjects per key and group, Total added by a second groupby."""
    per_group = teaes.groupby(by + ["GROUP"])["USUBJID"].nunique()
    total = teaes.groupby(by)["USUBJID"].nunique()
    total.index = pd.MultiIndex.from_tuples([(*(k if isinstance(k, tuple) else (k,)), "Total") for k in total.index])
    per_group.index = pd.MultiIndex.from_tuples(list(per_group.index))
    return pd.concat([per_group, total])


def plain_events(teaes: pd.DataFrame, by: list[str]) -> dict:
    """Independent count of records per key and group, and per key for Total."""
    out = {(*k, g): int(n) for (*k, g), n in teaes.groupby(by + ["GROUP"]).size().items()}
    for k, n in teaes.groupby(by).size().items():
        out[(*(k if isinstance(k, tuple) else (k,)), "Total")] = int(n)
    return out


@pytest.mark.parametrize("dataset", ["pilot", "demo"])
def test_soc_pt_counts_equal_plain_groupby(dataset, request):
    params, adsl, adae, pop, teaes = request.getfixturevalue(dataset)
    counts = safety.soc_pt_counts(teaes, pop)
    expected = plain_subjects(teaes, ["AEBODSYS", "AEDECOD"])
    terms = counts[counts["PT"].ne("") & counts["subjects"].gt(0)]
    got = terms.set_index(["SOC", "PT", "column"])["subjects"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    assert counts["SOC"].iloc[0] == safety.ANY
    # SOCs in descending Total frequency
    socs = counts[counts["PT"].eq("") & counts["column"].eq("Total") & counts["SOC"].ne(safety.ANY)]["subjects"]
    assert socs.is_monotonic_decreasing
    # SOC rows (PT "") and event counts (records) against plain groupbys as well
    soc_rows = counts[counts["PT"].eq("") & counts["SOC"].ne(safety.ANY) & counts["subjects"].gt(0)]
    assert (soc_rows.set_index(["SOC", "column"])["subjects"].sort_index().to_dict()
            == plain_subjects(teaes, ["AEBODSYS"]).sort_index().to_dict())
    assert (terms.set_index(["SOC", "PT", "column"])["events"].sort_index().to_dict()
            == plain_events(teaes, ["AEBODSYS", "AEDECOD"]))
    assert soc_rows.set_index(["SOC", "column"])["events"].sort_index().to_dict() == plain_events(teaes, ["AEBODSYS"])
    any_row = counts[counts["SOC"].eq(safety.ANY)].set_index("column")
    assert any_row.loc["Total", "events"] == len(teaes) and any_row.loc["Total", "subjects"] == teaes["USUBJID"].nunique()


def test_overview_flag_rows_equal_plain_groupby_on_demo(demo):
    """Every overview row (grade >= 3, serious, related to each drug and to any, immune-related,
    leading to discontinuation, fatal): subjects and events per column equal a plain filter and
    groupby of the demo ADAE TEAEs (independent computation)."""
    params, adsl, adae, pop, teaes = demo
    drugs = safety.drug_labels(params["adsl"]["study_drugs"])
    counts = safety.overview_counts(teaes, pop, drugs).set_index(["row", "column"])
    flags = {"CTCAE grade >= 3": "GR3FL", "Serious": "SERFL", "Related to any study drug": "RELANYFL",
             "Immune-related": "AEIRFL", "Leading to treatment discontinuation": "DISCFL",
             "Fatal (outcome death)": "FATALFL",
             **{f"Related to {label}": f"REL{code}FL" for code, label in drugs.items()}}
    assert set(flags) == set(counts.index.get_level_values("row")) - {safety.ANY}
    assert {"RELH101FL", "RELPD1FL"} <= set(flags.values())
    sizes = safety.group_sizes(pop)
    for row, flag in flags.items():
        rows = teaes[teaes[flag].eq("Y")]
        for column in sizes:
            sub = rows if column == "Total" else rows[rows["GROUP"].eq(column)]
            assert tuple(counts.loc[(row, column), ["subjects", "events"]]) == (sub["USUBJID"].nunique(), len(sub)), row
    assert counts.loc[("Immune-related", "Total"), "subjects"] > 0       # the demo exercises the rows
    assert counts.loc[("Related to H101", "Total"), "subjects"] > 0


def test_max_grade_counts_each_subject_once_at_worst_grade(demo):
    params, adsl, adae, pop, teaes = demo
    counts = safety.max_grade_counts(teaes, pop)
    total = counts[counts["column"].eq("Total")]
    worst = teaes.groupby(["AEDECOD", "USUBJID"])["ATOXGRN"].max().astype(int)
    for term, subjects in worst.groupby(level=0):
        rows = total[total["PT"].eq(term)].set_index("grade")["subjects"]
        assert rows["Any"] == len(subjects) == sum(rows[str(g)] for g in range(1, 6))
        for grade, n in subjects.value_counts().items():
            assert rows[str(grade)] == n


def test_missing_grade_is_counted_once_under_grade_missing(demo):
    """Demo TEAEs with the grade removed from some records: every subject with a TEAE of a term
    is in exactly one grade category, the worst recorded grade or "Missing" when no record of
    the term has a grade; checked against a plain groupby (max skips missing, then fill)."""
    params, adsl, adae, pop, teaes = demo
    teaes = teaes.copy()
    first_of_term = ~teaes.duplicated("AEDECOD")
    teaes.loc[first_of_term | (teaes.index % 7 == 0), "ATOXGRN"] = float("nan")
    assert teaes["ATOXGRN"].isna().sum() > 0
    counts = safety.max_grade_counts(teaes, pop)
    total = counts[counts["column"].eq("Total")]
    plain = teaes.groupby(["AEDECOD", "USUBJID"])["ATOXGRN"].max()
    plain = plain.map(lambda g: "Missing" if pd.isna(g) else str(int(g)))
    assert (plain == "Missing").any()
    for term, grades in plain.groupby(level=0):
        rows = total[total["PT"].eq(term)].set_index("grade")["subjects"]
        assert rows["Any"] == grades.index.get_level_values(1).nunique()
        assert rows["Any"] == sum(rows[g] for g in safety.GRADE_CATEGORIES)
        assert {g: int(rows[g]) for g in safety.GRADE_CATEGORIES if rows[g]} == grades.value_counts().to_dict()
    any_rows = total[total["SOC"].eq(safety.ANY)].set_index("grade")["subjects"]
    per_subject = teaes.groupby("USUBJID")["ATOXGRN"].max()
    assert any_rows["Missing"] == per_subject.isna().sum()
    assert any_rows["Any"] == teaes["USUBJID"].nunique() == sum(any_rows[g] for g in safety.GRADE_CATEGORIES)
    table = safety.max_grade_table(counts)
    assert ("Total (N=%d)" % len(pop), "Grade missing") in table.columns
    assert not demo[4]["ATOXGRN"].isna().any()           # the shipped demo has every grade: no such column
    assert ("Total (N=%d)" % len(pop), "Grade missing") not in safety.max_grade_table(
        safety.max_grade_counts(demo[4], pop)).columns
    full = safety.top_terms_by_grade(teaes, 5)
    assert list(full.columns) == [1, 2, 3, 4, 5, "Missing"] and full["Missing"].sum() > 0
    plain_n = teaes.groupby("AEDECOD")["USUBJID"].nunique()
    assert full.sum(axis=1).to_dict() == plain_n[full.index].to_dict()
    irae_all = safety.irae_onsets(teaes)
    irae = teaes[teaes["AEIRFL"].eq("Y") & teaes["ASTDY"].notna()]
    assert len(irae_all) == irae.groupby(["USUBJID", "AEDECOD"]).ngroups


def test_plots_draw_subjects_without_a_grade_without_warning(demo):
    """Demo TEAEs with grades blanked as above: the bars draw every subject of
    each top term (segment widths x N / 100 = a plain count of subjects per term, the grey
    "Grade missing" segment = subjects with no grade for the term), the onset plot draws every
    dated immune-related subject-term, and no warning is raised (none can reach the report)."""
    import warnings

    import matplotlib.pyplot as plt

    from mpmlib.plots import safety as plots_safety

    params, adsl, adae, pop, teaes = demo
    teaes = teaes.copy()
    teaes.loc[~teaes.duplicated("AEDECOD") | (teaes.index % 7 == 0), "ATOXGRN"] = float("nan")
    plain = teaes.groupby("AEDECOD")["USUBJID"].nunique()
    ungraded = teaes.groupby(["AEDECOD", "USUBJID"])["ATOXGRN"].max().isna().groupby(level=0).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        top = safety.top_terms_by_grade(teaes, 5)
        bars = plots_safety.teae_grade_bars(top, len(pop))
        onsets = safety.irae_onsets(teaes)
        onset_fig = plots_safety.irae_onset_plot(onsets)
    ax = bars.axes[0]
    drawn = sum(np.array([p.get_width() for p in c]) for c in ax.containers) * len(pop) / 100
    np.testing.assert_allclose(drawn, plain[top.index].to_numpy())
    grey = next(c for c in ax.containers if c.get_label() == "Grade missing")
    np.testing.assert_allclose([p.get_width() * len(pop) / 100 for p in grey], ungraded[top.index].to_numpy())
    irae = teaes[teaes["AEIRFL"].eq("Y") & teaes["ASTDY"].notna()]
    markers = [ln for ln in onset_fig.axes[0].lines if ln.get_gid() != "median" and ln.get_marker() in ("o", "D")]
    assert sum(len(ln.get_xdata()) for ln in markers) == irae.groupby(["USUBJID", "AEDECOD"]).ngroups
    assert onsets["GRADE"].isna().any() and "Grade missing" in [ln.get_label() for ln in markers]
    plt.close("all")


def test_top_terms_and_irae_onsets(demo):
    params, adsl, adae, pop, teaes = demo
    top = safety.top_terms_by_grade(teaes, 5)
    plain = teaes.groupby("AEDECOD")["USUBJID"].nunique().sort_values(ascending=False)
    assert top.sum(axis=1).tolist() == plain.head(5).tolist()
    onsets = safety.irae_onsets(teaes)
    irae = teaes[teaes["AEIRFL"].eq("Y")]
    assert len(onsets) == irae.groupby(["USUBJID", "AEDECOD"]).ngroups
    assert (onsets["ONSET_DAY"] >= 1).all()


def test_events_on_continued_pd1_treatment_are_in_the_tables(demo):
    """The reviewer's cases (issue 13), demo ADAE: a grade 5 serious PD-1-related immune
    pneumonitis 4 days after the last PD-1 dose, a grade 3 serious lung infection and a serious
    pleural effusion on PD-1, an immune-related hypothyroidism are treatment-emergent, so the
    overview's fatal row counts the death the deaths table lists (plain filter as reference)."""
    params, adsl, adae, pop, teaes = demo
    cases = {("H101-MPM-201-06-0003", "Pneumonitis"), ("H101-MPM-201-01-0013", "Lung infection"),
             ("H101-MPM-201-02-0004", "Pleural effusion"), ("H101-MPM-201-01-0011", "Hypothyroidism")}
    found = {(u, t) for u, t in zip(teaes["USUBJID"], teaes["AEDECOD"])}
    assert cases <= found
    counts = safety.overview_counts(teaes, pop, safety.drug_labels(params["adsl"]["study_drugs"]))
    fatal = counts.set_index(["row", "column"]).loc[("Fatal (outcome death)", "Total"), "subjects"]
    assert fatal == teaes.loc[teaes["FATALFL"].eq("Y"), "USUBJID"].nunique() == 1
    summary = safety.deaths_summary(adsl, pop, adae, safety.drug_labels(params["adsl"]["study_drugs"]))
    assert summary.loc["Subjects with a fatal treatment-emergent AE"].iloc[-1].startswith("1 ")


def test_deaths_summary_equals_plain_computation(demo):
    """DTHT01 rows against a plain computation from ADSL: deaths, within 30 days of the last dose
    of any drug / of each drug (death - last dose <= 30 days), more than 30 days after; the
    cause categories add up to the deaths; the one fatal AE (pneumonitis) makes 'Adverse event'."""
    params, adsl, adae, pop, teaes = demo
    drugs = safety.drug_labels(params["adsl"]["study_drugs"])
    summary = safety.deaths_summary(adsl, pop, adae, drugs)
    n = len(pop)
    column = f"Total (N={n})"
    dead = adsl[adsl["SAFFL"].eq("Y") & adsl["DTHDT"].notna()]
    count = lambda label: int(summary.loc[label, column].split()[0])  # noqa: E731
    assert count("Total number of deaths") == len(dead) > 0
    gap = (dead["DTHDT"] - dead["TRTEDT"]).dt.days
    assert count("  Within 30 days of the last dose of any study drug") == int((gap <= 30).sum())
    assert count("  More than 30 days after the last dose of any study drug") == int((gap > 30).sum())
    gap_h101 = (dead["DTHDT"] - dead["H101EDT"]).dt.days
    assert count("  Within 30 days of the last dose of H101") == int((gap_h101 <= 30).sum())
    gap_pd1 = (dead["DTHDT"] - dead["PD1EDT"]).dt.days
    assert count("  Within 30 days of the last dose of PD-1 inhibitor") == int((gap_pd1 <= 30).sum())
    categories = ["  Adverse event", "  Disease progression", "  Other", "  Unknown or not recorded"]
    assert sum(count(c) for c in categories) == len(dead) and count("  Adverse event") == 1
    # with DD (Death Details, PRCDTH): the categories equal a plain count of the demo's dd.csv,
    # the fatal-AE subject counted under 'Adverse event' (its DD cause is the same AE term)
    dd = pd.read_csv(PROJECT_ROOT / "data" / "demo" / "dd.csv")
    with_dd = safety.deaths_summary(adsl, pop, adae, drugs, dd=dd)
    plain = dd[dd["USUBJID"].isin(dead["USUBJID"])]["DDSTRESC"].value_counts()
    got = {c: int(with_dd.loc[c, column].split()[0]) for c in categories}
    assert got == {"  Adverse event": 1, "  Disease progression": plain["DISEASE PROGRESSION"],
                   "  Other": plain["CARDIAC ARREST"], "  Unknown or not recorded": plain["UNKNOWN"]}


def test_deaths_listing_carries_usubjid_or_masks(demo):
    """Every death in the population, by USUBJID (a study code a data manager can look up), or
    masked numbers with report.mask_subject_ids; the fatal AE is named with its AESEQ."""
    from mpmlib.tables.format import subject_ids

    params, adsl, adae, pop, teaes = demo
    drugs = safety.drug_labels(params["adsl"]["study_drugs"])
    shown = safety.deaths_listing(adsl, pop, adae, drugs, lambda u: subject_ids(u, adsl["USUBJID"]))
    dead = adsl[adsl["SAFFL"].eq("Y") & adsl["DTHDT"].notna()]
    assert sorted(shown["Subject"]) == sorted(dead["USUBJID"]) and shown.index.tolist() == list(range(1, len(dead) + 1))
    row = shown.set_index("Subject").loc["H101-MPM-201-06-0003"]
    assert row["Category"] == "Adverse event" and "Pneumonitis (AESEQ" in row["Fatal adverse event(s)"]
    assert row["Days after last dose of PD-1 inhibitor"] == 6
    masked = safety.deaths_listing(adsl, pop, adae, drugs, lambda u: subject_ids(u, adsl["USUBJID"], mask=True))
    assert not any(u in masked.to_string() for u in adsl["USUBJID"])
    assert masked["Subject"].str.match(r"Subject \d{3}$").all()


def test_pilot_deaths_cause_from_the_fatal_ae(pilot, pilot_sdtm):
    """CDISC pilot: three deaths (DM DTHFL), each with a fatal AE (SUDDEN DEATH, COMPLETED SUICIDE,
    MYOCARDIAL INFARCTION; AE.AEOUT = FATAL): the primary cause is 'Adverse event' with the term."""
    params, adsl, adae, pop, teaes = pilot
    causes = safety.death_causes(adsl, adae, pilot_sdtm["ds"]).set_index("USUBJID")
    assert causes.loc["01-701-1211", "CAUSE"] == "SUDDEN DEATH"
    assert set(causes["CATEGORY"]) == {"Adverse event"} and len(causes) == 3


def test_every_ae_outside_the_window_is_listed(demo):
    """The listing holds exactly the ADAE records with TRTEMFL = N (reference: plain filter), by
    USUBJID and AESEQ, with the reason and the window end."""
    params, adsl, adae, pop, teaes = demo
    listing = safety.outside_window_listing(adae, lambda u: u.astype(str))
    outside = adae[adae["TRTEMFL"].eq("N")]
    assert len(listing) == len(outside) > 0
    assert set(zip(listing["Subject"], listing["AESEQ"])) == set(zip(outside["USUBJID"], outside["AESEQ"]))
    assert listing["Reason not treatment-emergent"].ne("").all() and listing["Window ends"].ne("").all()
    assert listing["Subject"].is_monotonic_increasing


def test_sub_table_headings_say_what_they_count(demo):
    """The first row of each sub-table names what it counts, not 'Any treatment-emergent AE'."""
    params, adsl, adae, pop, teaes = demo
    serious = teaes[teaes["SERFL"].eq("Y")]
    table = safety.soc_pt_table(safety.soc_pt_counts(serious, pop), safety.subset_label("serious"))
    assert table.index[0] == ("Any serious TEAE", "")
    assert table.iloc[0, -1].startswith(f"{serious['USUBJID'].nunique()} ")
    grade = safety.max_grade_table(safety.max_grade_counts(serious, pop), safety.subset_label("related:H101"))
    assert grade.index[0] == "Any TEAE related to H101"
    assert safety.subset_label("grade3", teaes) == "Any TEAE of CTCAE grade >= 3"


def test_pilot_not_collected_and_severity_labels(pilot):
    """CDISC pilot: AEACN blank in every record -> the discontinuation row says 'not collected'
    (never 0); AESEV severity -> columns Mild / Moderate / Severe, no Grade 4/5 columns, and the
    grade >= 3 sub-table is labelled as severe."""
    params, adsl, adae, pop, teaes = pilot
    table = safety.overview_table(safety.overview_counts(teaes, pop, safety.drug_labels(params["adsl"]["study_drugs"])))
    row = table.loc["Leading to treatment discontinuation"]
    assert set(row[[c for c in table.columns if c[1] == "Subjects, n (%)"]]) == {safety.NOT_COLLECTED}
    assert table.loc["Serious", (f"{LOW} (N=84)", "Subjects, n (%)")] == "1 (1.2)"
    assert safety.is_severity(teaes)
    grades = safety.max_grade_table(safety.max_grade_counts(teaes, pop), severity=True)
    labels = {c[1] for c in grades.columns}
    assert labels == {"Any severity", "Mild", "Moderate", "Severe"}
    assert grades.index.name == "Preferred term (worst severity per subject)"
    assert safety.subset_label("grade3", teaes) == "Any severe TEAE"


def test_csv_export(tmp_path, demo):
    params, adsl, adae, pop, teaes = demo
    table = safety.soc_pt_table(safety.soc_pt_counts(teaes, pop))
    [path] = safety.export_csv({"x": table}, tmp_path)
    back = pd.read_csv(path, index_col=[0, 1], keep_default_na=False)
    assert back.shape == table.shape and back.iloc[0, 0] == table.iloc[0, 0]
    assert list(back.index.names) == ["System organ class", "Preferred term"]


def test_window_text_follows_the_settings():
    """The page states the window from the settings used (rules of mpmlib.derive.adae): the demo's
    two ends; pharmaverse's one end named once (anchor = any drug, 30 days both); the pilot's
    open window; no sensitivity window when the data carry no immune-related flag."""
    demo = load_params(PROJECT_ROOT / "params" / "demo.yaml")
    text = safety_page.window_description(demo["safety"], safety.drug_labels(demo["adsl"]["study_drugs"]))
    assert text["main"] == ("from the first dose of any study drug to the later of the last H101 dose + 30 (+7) days "
                            "and the last dose of any study drug + 30 days")
    assert text["immune"].endswith("last dose of any study drug + 90 days")
    pv = load_params(PROJECT_ROOT / "params" / "pharmaverse-onco.yaml")["safety"]
    assert safety_page.window_description(pv, {}) == {
        "main": "from the first dose of any study drug to the last dose of any study drug + 30 days", "immune": ""}
    pilot = load_params(PROJECT_ROOT / "params" / "cdiscpilot01.yaml")["safety"]
    assert "with no end" in safety_page.window_description(pilot, {})["main"]


def test_pilot_immune_status_not_collected_and_listing_severity(pilot):
    """CDISC pilot: no immune-related source -> the section says 'not collected', not 'none
    flagged'; the outside-window listing of severity data heads the column 'Severity' with
    Mild / Moderate / Severe (reference: AESEV of the same records)."""
    params, adsl, adae, pop, teaes = pilot
    assert "not collected" in safety.immune_absent_text(adae)
    listing = safety.outside_window_listing(adae, lambda u: u.astype(str), severity=True)
    assert "Grade" not in listing.columns
    outside = adae[adae["TRTEMFL"].eq("N")].sort_values(["USUBJID", "ASTDT", "AESEQ"], kind="stable")
    expected = outside["ATOXGRN"].map({1: "Mild", 2: "Moderate", 3: "Severe"}).fillna("")
    assert listing["Severity"].tolist() == expected.tolist() and len(listing) == 65
