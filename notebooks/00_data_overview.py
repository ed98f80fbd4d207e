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

from mpmlib.plots import overview as plots
from mpmlib.analysis import safety
from mpmlib import tables
from mpmlib.notebook import load_run, setup

setup()
run = load_run(params_file, sdtm_dir, out_dir, adam_dir)
adsl, adex = run.adam["adsl"], run.adam["adex"]
enrolled = adsl[adsl["ENRLFL"].eq("Y")]
study, cutoff = run.params["study"], run.params["data_cutoff"]

# %%
display(Markdown(  # text from the parameter file and the data, escaped (tables.md_text)
    f"**Study:** {tables.md_text(study['title'] or run.params['_name'])}  \n"
    + (f"**Description:** {tables.md_text(study['description'])}  \n" if study["description"] else "")
    + f"**Data cut-off:** {tables.md_text(cutoff) if cutoff else 'not set (latest date in the data is used)'}  \n"
    f"**Time-to-event origin:** {run.time_origin}  \n"
    f"**SDTM domains read:** {tables.md_text(', '.join(sorted(d.upper() for d in run.sdtm)))}"
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
# All enrolled subjects, by planned treatment: demographics (DM), then every baseline covariate of
# the parameter file (`adsl.covariates`), labelled, typed and ordered as in `factors.variables`
# (the variable name where it is not a factor). Continuous variables: n, mean (SD), median,
# minimum and maximum; categorical: n (%) of the column N, with a *Missing* row where data are
# missing.

# %%
factors = {f["var"]: f for f in run.params["factors"]["variables"]}
BASELINE_ROWS = [
    {"var": "AGE", "label": "Age (years)", "kind": "continuous", "decimals": 0},
    {"var": "AGEGR1", "label": "Age group", "kind": "categorical"},
    {"var": "SEX", "label": "Sex", "kind": "categorical", "labels": {"F": "Female", "M": "Male"}},
    {"var": "RACE", "label": "Race", "kind": "categorical"},
    {"var": "ETHNIC", "label": "Ethnicity", "kind": "categorical"},
] + [{"var": var, "label": factors.get(var, {}).get("label", var), "decimals": 0,
      "kind": factors.get(var, {}).get("kind", "continuous" if spec.get("type") == "number" else "categorical"),
      "levels": list(factors.get(var, {}).get("map", {}))}        # data values in the factor's order
     for var, spec in run.params["adsl"]["covariates"].items()]
display(tables.summary_table(enrolled, by="TRT01P", rows=BASELINE_ROWS))

# %% [markdown]
# ## Exposure to study drugs
#
# Safety population, with the columns of the safety page (`safety.by`), so both pages show the
# same table. A dose counts as received by the rules of `mpmlib.derive.adsl.valid_doses`; the
# footnote says how administrations, duration and dose are counted (`mpmlib.derive.adex`).

# %%
by, drug_labels = run.params["safety"]["by"], safety.drug_labels(run.params["adsl"]["study_drugs"])
if len(adex):
    display(tables.exposure_table(adex, adsl, drug_labels, by=by))
    display(Markdown(tables.exposure_footnote(adex, adsl, run.params["adsl"]["ex_missing_end"], by)))
else:
    display(Markdown("_No exposure data (EX) in this input._"))
