# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Data overview: subjects, populations, baseline characteristics and exposure
#
# What the analysis is based on: how many subjects were screened, enrolled and treated, which
# analysis populations they belong to, who they are at baseline, and how much of each study drug
# they received. Every count is over **all enrolled subjects** unless a population is named.

# %% tags=["parameters"]
params_file = "../params/demo.yaml"  # analysis parameters (input folder, settings)
sdtm_dir = None  # optional: another SDTM folder (replaces the parameter file's input)
out_dir = None  # optional: output root
adam_dir = None  # ADaM folder written by mpm report (None: derive in memory)

# %%
from IPython.display import Markdown, display

from mpmlib import plots, tables
from mpmlib.notebook import load_run, setup

setup()
run = load_run(params_file, sdtm_dir, out_dir, adam_dir)
adsl, adex = run.adam["adsl"], run.adam["adex"]
enrolled = adsl[adsl["ENRLFL"].eq("Y")]
display(Markdown(
    f"**Study:** {run.params['study']['title']}  \n"
    f"**Data cut-off:** {run.params['data_cutoff'] or 'not set (latest date in the data is used)'}  \n"
    f"**Time-to-event origin:** {run.params['adsl']['reference_date']}  \n"
    f"**SDTM domains read:** {', '.join(sorted(d.upper() for d in run.sdtm))}"
))

# %% [markdown]
# ## Flow of subjects
#
# CONSORT-style flow (screened → enrolled → treated → efficacy population). *Screened* counts
# every subject in DM; screen failures are not enrolled. The safety population is every enrolled
# subject who received any dose of any study drug; the efficacy population adds measurable disease
# at baseline (at least one RECIST 1.1 target lesion).

# %%
counts = tables.disposition_counts(adsl)
reasons = adsl.loc[adsl["SAFFL"].eq("Y"), "DCTREAS"].value_counts().sort_index().to_dict()
fig = plots.consort_flow(counts, reasons)

# %% [markdown]
# ## Analysis populations

# %%
display(tables.population_table(adsl, by="TRT01P"))

# %% [markdown]
# ## Disposition
#
# Status at the data cut-off among enrolled subjects; percentages of the enrolled subjects in each
# column.

# %%
display(tables.disposition_table(adsl, by="TRT01P"))

# %% [markdown]
# ## Baseline characteristics
#
# All enrolled subjects, by planned treatment. Continuous variables: n, mean (SD), median,
# minimum and maximum; categorical: n (%) of the column N, with a *Missing* row where data are
# missing.

# %%
BASELINE_ROWS = [
    {"var": "AGE", "label": "Age (years)", "kind": "continuous", "decimals": 0},
    {"var": "AGEGR1", "label": "Age group", "kind": "categorical"},
    {"var": "SEX", "label": "Sex", "kind": "categorical", "labels": {"F": "Female", "M": "Male"}},
    {"var": "RACE", "label": "Race", "kind": "categorical"},
    {"var": "ETHNIC", "label": "Ethnicity", "kind": "categorical"},
    {"var": "ECOGBL", "label": "ECOG performance status", "kind": "categorical", "levels": ["0", "1"]},
    {"var": "HISTOL", "label": "Histology", "kind": "categorical",
     "levels": ["EPITHELIOID", "BIPHASIC", "SARCOMATOID"]},
    {"var": "PDL1TPS", "label": "PD-L1 tumour proportion score (%)", "kind": "continuous", "decimals": 0},
    {"var": "PD1RES", "label": "Resistance to prior PD-1 inhibitor", "kind": "categorical",
     "levels": ["PRIMARY", "ACQUIRED"]},
    {"var": "PRIORLN", "label": "Prior systemic lines", "kind": "categorical"},
    {"var": "H101RTE", "label": "H101 route", "kind": "categorical"},
]
display(tables.summary_table(enrolled, by="TRT01P", rows=BASELINE_ROWS))

# %% [markdown]
# ## Exposure to study drugs
#
# Safety population, by actual treatment. Administrations are the dosing records that count as a
# dose received (see `mpmlib.derive.adsl.valid_doses`); duration is last dose − first dose + 1 day.

# %%
drug_labels = {code: code for code in run.params["adsl"]["study_drugs"]}
if len(adex):
    display(tables.exposure_table(adex, adsl, drug_labels, by="TRT01A"))
else:
    display(Markdown("_No exposure data (EX) in this input._"))
