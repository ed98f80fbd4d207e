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
# # Safety: treatment-emergent adverse events (CTCAE v5.0) and exposure
#
# Adverse events that started on or after the first dose of any study drug and within the
# treatment-emergent window set in the parameters (for this trial: through 30 (+7) days after the
# last H101 dose), in the safety population (every subject who received any study drug). Each
# subject is counted once per row; percentages are of the column's N. Tables are also written as
# CSV files next to this report. *Source: `mpmlib.derive.adae` (flags), `mpmlib.safety` (tables).*

# %% tags=["parameters"]
params_file = "../params/demo.yaml"  # analysis parameters (input folder, settings)
sdtm_dir = None  # optional: another SDTM folder (replaces the parameter file's input)
out_dir = None  # optional: output root
adam_dir = None  # ADaM folder written by mpm report (None: derive in memory)
tables_dir = None  # folder for the CSV tables (None: not written)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from mpmlib import plots_safety, safety, tables
from mpmlib.notebook import load_run, setup

setup()
run = load_run(params_file, sdtm_dir, out_dir, adam_dir)
adsl, adae, adex = run.adam["adsl"], run.adam["adae"], run.adam["adex"]
cfg = run.params["safety"]
pop = safety.population(adsl, cfg["population"], cfg["by"])
teaes = safety.teae(adae, pop)
drugs = safety.drug_labels(run.params["adsl"]["study_drugs"])
csv = {}
anchor = f"last {cfg['window_anchor']} dose" if cfg["window_anchor"] else "last dose of any study drug"
window = ("no end (every AE from the first dose on)" if cfg["window_days"] is None else
          f"{anchor} + {cfg['window_days']} days" + (f" + {cfg['grace_days']}-day allowance" if cfg["grace_days"] else ""))
display(Markdown(
    f"**Study:** {run.params['study']['title']}  \n"
    f"**Safety population:** N = {len(pop)}; columns by {'actual' if cfg['by'] == 'TRT01A' else 'planned'} treatment  \n"
    f"**Treatment-emergent window:** first dose to {window}  \n"
    f"**Adverse events:** {len(adae)} recorded, {len(teaes)} treatment-emergent in the safety population"
))
has_ae = len(adae) > 0
if not has_ae:
    display(Markdown("> **No adverse event data (AE) in this input.** Only exposure is shown."))

# %% [markdown]
# ## Overview of treatment-emergent adverse events
#
# Subjects with at least one event of each kind, n (%), and the number of events. Relationship is
# the investigator's assessment for each study drug; "related to any" counts an event related to at
# least one drug.

# %%
if has_ae:
    csv["30_safety_overview"] = safety.overview_table(safety.overview_counts(teaes, pop, drugs))
    display(csv["30_safety_overview"])
    if teaes["GRSRC"].eq("AESEV").any():
        display(Markdown("_This input has no CTCAE grades (AETOXGR); severity (AESEV: mild 1, moderate 2, "
                         "severe 3) is shown in their place._"))

# %% [markdown]
# ## Most frequent treatment-emergent adverse events by worst grade
#
# The most frequent preferred terms (all columns together); each subject is counted once per term,
# at the worst grade ("Grade missing", grey, when no record of the term has a grade).

# %%
if has_ae and len(teaes):
    figure = plots_safety.teae_grade_bars(safety.top_terms_by_grade(teaes, cfg["top_terms"]), len(pop))
    display(figure)
    plt.close(figure)

# %% [markdown]
# ## By system organ class and preferred term
#
# All grades, then grade ≥ 3. Sorted by frequency in the Total column.

# %%
if has_ae:
    for name, title, rows in (("30_safety_soc_pt", "All grades", teaes),
                              ("30_safety_soc_pt_grade3", "Grade ≥ 3", teaes[teaes["GR3FL"].eq("Y")])):
        display(Markdown(f"**{title}**"))
        csv[name] = safety.soc_pt_table(safety.soc_pt_counts(rows, pop))
        display(csv[name])

# %% [markdown]
# ## By maximum grade per subject
#
# Each subject is counted once per preferred term, at the worst grade recorded for it; the grade
# columns add up to "All grades".

# %%
if has_ae:
    csv["30_safety_max_grade"] = safety.max_grade_table(safety.max_grade_counts(teaes, pop))
    display(csv["30_safety_max_grade"])

# %% [markdown]
# ## Treatment-related adverse events, by study drug
#
# Events the investigator assessed as related to each study drug (SOC / preferred term, all grades).

# %%
if has_ae:
    flags = [(code, label) for code, label in drugs.items() if f"REL{code}FL" in teaes.columns]
    for code, label in flags + [("ANY", "any study drug")]:
        rows = teaes[teaes[f"REL{code}FL"].eq("Y")]
        display(Markdown(f"**Related to {label}**"))
        csv[f"30_safety_related_{code.lower()}"] = safety.soc_pt_table(safety.soc_pt_counts(rows, pop))
        display(csv[f"30_safety_related_{code.lower()}"])

# %% [markdown]
# ## Serious adverse events

# %%
if has_ae:
    csv["30_safety_serious"] = safety.soc_pt_table(safety.soc_pt_counts(teaes[teaes["SERFL"].eq("Y")], pop))
    display(csv["30_safety_serious"])

# %% [markdown]
# ## Immune-related adverse events
#
# Events flagged as immune-related by the investigator, by worst grade, and the time from the first
# dose to their onset (each subject's first onset of each term).

# %%
if has_ae and safety.any_flag_present(adae, "AEIRFL"):
    irae = teaes[teaes["AEIRFL"].eq("Y")]
    csv["30_safety_immune_related"] = safety.max_grade_table(safety.max_grade_counts(irae, pop))
    display(csv["30_safety_immune_related"])
    figure = plots_safety.irae_onset_plot(safety.irae_onsets(teaes))
    display(figure)
    plt.close(figure)
else:
    display(Markdown("_No immune-related adverse events are flagged in this input._"))

# %% [markdown]
# ## Deaths
#
# Every death in the safety population, on or off treatment: study day (day 1 = first dose), days
# after the last dose, and the adverse event(s) with a fatal outcome. Subjects are numbered, not
# identified.

# %%
csv["30_safety_deaths"] = safety.deaths_listing(adsl, pop, adae)
display(csv["30_safety_deaths"] if len(csv["30_safety_deaths"]) else Markdown("_No deaths._"))

# %% [markdown]
# ## Exposure
#
# Administrations, duration (last − first dose + 1 day) and cumulative dose of each study drug in
# the safety population. *Source: `mpmlib.derive.adex`.*

# %%
if len(adex):
    csv["30_safety_exposure"] = tables.exposure_table(adex, adsl, drugs, by=cfg["by"])
    display(csv["30_safety_exposure"])
else:
    display(Markdown("_No exposure data (EX) in this input._"))
safety.export_csv(csv, tables_dir)
display(Markdown("**CSV files written with this report:** " + ", ".join(f"`{name}.csv`" for name in csv)
                 if tables_dir else "_CSV files are written when the report is built with `mpm report`._"))
