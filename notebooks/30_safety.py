# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Safety: adverse events and exposure
#
# Adverse events that started on or after the first dose of any study drug and within the
# treatment-emergent window set in the parameters (stated below from the settings this report
# ran with), in the safety population (every subject who received any study drug). Each subject
# is counted once per row; percentages are of the column's N. Every AE outside the window is
# listed at the end, so nothing recorded is invisible. Tables are also written as CSV files next
# to this report. *Source: `mpmlib.derive.adae` (flags and windows), `mpmlib.analysis.safety` (tables).*

# %% tags=["parameters"]
params_file = "../params/demo.yaml"  # analysis parameters (input folder, settings)
sdtm_dir = None  # optional: another SDTM folder (replaces the parameter file's input)
out_dir = None  # optional: output root
adam_dir = None  # ADaM folder written by mpm report (None: derive in memory)
tables_dir = None  # folder for the CSV tables (None: not written)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from mpmlib import tables
from mpmlib.analysis import safety
from mpmlib.notebook import load_run, setup
from mpmlib.pages import safety as page
from mpmlib.plots import safety as plots_safety

setup()
run = load_run(params_file, sdtm_dir, out_dir, adam_dir)
adsl, adae, adex = run.adam["adsl"], run.adam["adae"], run.adam["adex"]
cfg, drugs = run.params["safety"], safety.drug_labels(run.params["adsl"]["study_drugs"])
pop = safety.subject_groups(adsl, cfg["population"], cfg["by"])
teaes = safety.teae(adae, pop)
window, severity, csv = page.window_description(cfg, drugs), safety.is_severity(adae), {}

# %%
display(Markdown(page.page_header(run.params, pop, adae, teaes)))
has_ae = len(adae) > 0
if not has_ae:
    display(Markdown("> **No adverse event data (AE) in this input.** Only exposure is shown."))

# %% [markdown]
# ## Overview of treatment-emergent adverse events
#
# Subjects with at least one event of each kind, n (%), and the number of events. Relationship is
# the investigator's assessment for each study drug; "related to any" counts an event related to at
# least one drug. A row whose source variable is blank in every AE record was not collected and
# says so (it is not a count of 0).

# %%
if has_ae:
    csv["30_safety_overview"] = safety.overview_table(safety.overview_counts(teaes, pop, drugs))
    display(csv["30_safety_overview"])

# %% [markdown]
# ## Most frequent treatment-emergent adverse events by worst grade
#
# The most frequent preferred terms (all columns together); each subject is counted once per term,
# at the worst grade or severity ("missing", grey, when no record of the term has one).

# %%
if has_ae and len(teaes):
    top = safety.top_terms_by_grade(teaes, cfg["top_terms"])
    figure = plots_safety.teae_grade_bars(top, len(pop), severity=severity)
    display(figure)
    plt.close(figure)

# %% [markdown]
# ## By system organ class and preferred term
#
# All treatment-emergent AEs, then those of grade ≥ 3 (severe, for severity data). Sorted by
# frequency in the Total column; the first row of each table says what it counts.

# %%
if has_ae:
    for name, what, rows in (("30_safety_soc_pt", "all", teaes),
                             ("30_safety_soc_pt_grade3", "grade3", teaes[teaes["GR3FL"].eq("Y")])):
        label = safety.subset_label(what, teaes)
        display(Markdown(f"**{label}**"))
        csv[name] = safety.soc_pt_table(safety.soc_pt_counts(rows, pop), label)
        display(csv[name])

# %% [markdown]
# ## By maximum grade per subject
#
# Each subject is counted once per preferred term, at the worst grade (or severity) recorded for
# it; the columns add up to the first one.

# %%
if has_ae:
    csv["30_safety_max_grade"] = safety.max_grade_table(safety.max_grade_counts(teaes, pop), severity=severity)
    display(csv["30_safety_max_grade"])

# %% [markdown]
# ## Treatment-related adverse events, by study drug
#
# Events the investigator assessed as related to each study drug (SOC / preferred term, all grades).

# %%
if has_ae:
    flags = [(code, label) for code, label in drugs.items() if f"REL{code}FL" in teaes.columns]
    for code, label in flags + [("ANY", "any study drug")]:
        heading = safety.subset_label(f"related:{label}")
        display(Markdown(f"**{tables.md_text(heading)}**"))
        if not safety.collected(adae, f"REL{code}FL"):
            display(Markdown(f"_Relationship to {tables.md_text(label)}: {safety.NOT_COLLECTED} in this input._"))
            continue
        rows = teaes[teaes[f"REL{code}FL"].eq("Y")]
        name = safety.table_name("30_safety_related_", code)
        csv[name] = safety.soc_pt_table(safety.soc_pt_counts(rows, pop), heading)
        display(csv[name])

# %% [markdown]
# ## Serious adverse events

# %%
if has_ae and safety.collected(adae, "SERFL"):
    rows = teaes[teaes["SERFL"].eq("Y")]
    label = safety.subset_label("serious")
    csv["30_safety_serious"] = safety.soc_pt_table(safety.soc_pt_counts(rows, pop), label)
    display(csv["30_safety_serious"])
elif has_ae:
    display(Markdown(f"_Seriousness (AESER): {safety.NOT_COLLECTED} in this input._"))

# %% [markdown]
# ## Immune-related adverse events
#
# Events flagged as immune-related by the investigator, by worst grade, in the treatment-emergent
# window and, as a sensitivity analysis, in the longer immune-related window of the parameters
# (immune-related AEs may begin months after the last dose); then the time from the first dose to
# their onset (each subject's first onset of each term, treatment-emergent window).

# %%
if has_ae and safety.any_flag_present(adae, "AEIRFL"):
    label = safety.subset_label("immune")
    windows = [("30_safety_immune_related", "TRTEMFL", "treatment-emergent window")]
    if window["immune"]:
        windows.append(("30_safety_immune_related_sensitivity", "TRTEIRFL", "sensitivity window"))
    for name, flag, title in windows:
        rows = safety.teae(adae, pop, flag)
        display(Markdown(f"**{label}, {title}**"))
        csv[name] = safety.max_grade_table(safety.max_grade_counts(rows[rows["AEIRFL"].eq("Y")], pop), label, severity)
        display(csv[name])
    figure = plots_safety.irae_onset_plot(safety.irae_onsets(teaes))
    display(figure)
    plt.close(figure)
elif has_ae:
    display(Markdown(safety.immune_absent_text(adae)))

# %% [markdown]
# ## Deaths
#
# Every death in the safety population, on or off treatment (pharmaverse TLG catalog DTHT01):
# deaths within 30 days of the last dose of any study drug and of each drug, the primary cause
# (a fatal adverse event first, then the collected cause: DD, else DS), and subjects with a fatal
# treatment-emergent AE. The listing gives each death by USUBJID with the study day (day 1 =
# first dose), the days after the last dose of each drug and the fatal AE(s).

# %%
ds, dd = run.sdtm.get("ds"), run.sdtm.get("dd")
csv["30_safety_deaths_summary"] = safety.deaths_summary(adsl, pop, adae, drugs, ds, dd)
display(csv["30_safety_deaths_summary"])
csv["30_safety_deaths"] = safety.deaths_listing(adsl, pop, adae, drugs, run.subject_ids, ds, dd)
shown, note = tables.listing_page(csv["30_safety_deaths"], "30_safety_deaths")
display(shown if len(shown) else Markdown("_No deaths._"), *([Markdown(note)] if note else []))

# %% [markdown]
# ## Adverse events outside the treatment-emergent window
#
# Every recorded AE that is not counted above, with the reason (before the first dose, after the
# window, after the data cut-off, or in a subject never dosed), so a data manager can find each
# record (USUBJID, AESEQ). "irAE sensitivity window" marks immune-related AEs counted in the
# sensitivity table above.

# %%
if has_ae:
    csv["30_safety_outside_window"] = safety.outside_window_listing(adae, run.subject_ids, severity)
    shown, note = tables.listing_page(csv["30_safety_outside_window"], "30_safety_outside_window")
    display(shown if len(shown) else Markdown("_Every recorded AE is treatment-emergent._"), *([Markdown(note)] if note else []))

# %% [markdown]
# ## Exposure
#
# Administrations, duration and cumulative dose of each study drug in the safety population (the
# same table as on the data overview page; the footnote says how each is counted).
# *Source: `mpmlib.derive.adex`, `tables.exposure_table`.*

# %%
if len(adex):
    csv["30_safety_exposure"] = tables.exposure_table(adex, adsl, drugs, by=cfg["by"])
    display(csv["30_safety_exposure"])
    display(Markdown(tables.exposure_footnote(adex, adsl, run.params["adsl"]["ex_missing_end"], cfg["by"])))
else:
    display(Markdown("_No exposure data (EX) in this input._"))
safety.export_csv(csv, tables_dir)
display(Markdown("**CSV files written with this report:** " + ", ".join(f"`{name}.csv`" for name in csv)
                 if tables_dir else "_CSV files are written when the report is built with `mpm report`._"))
