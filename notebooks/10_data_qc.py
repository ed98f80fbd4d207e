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
# # Data quality control: what was received and what is wrong with it
#
# Every SDTM file is checked before any number is reported: one Great Expectations suite per domain
# (`expectations/*.json`) and the rules that span domains (`mpmlib.qc_rules`). A **critical** finding
# stops a locked analysis; a **warning** is for review. Each finding names the domain, the variable,
# the rule and the subjects (USUBJID) and values concerned.

# %% tags=["parameters"]
params_file = "../params/demo.yaml"  # analysis parameters (input folder, settings)
sdtm_dir = None  # optional: another SDTM folder (replaces the parameter file's input)
out_dir = None  # optional: output root
qc_dir = None  # QC results written by mpm report (None: validate in memory)

# %%
from pathlib import Path

from IPython.display import HTML, Markdown, display

from mpmlib import tables
from mpmlib.notebook import setup
from mpmlib.params import load_params, override_paths
from mpmlib.validate import QCResult, validate_sdtm

setup()
params = override_paths(load_params(params_file), sdtm_dir, out_dir)
if qc_dir and (Path(qc_dir) / "findings.csv").is_file():
    qc = QCResult.load(Path(qc_dir))
else:
    qc = validate_sdtm(params["sdtm"]["dir"], params["sdtm"]["files"], params["qc"])
display(HTML(tables.qc_verdict_html(qc.findings)))
display(Markdown(f"**Study:** {params['study']['title']}  \n**Downgraded rules (exploration only):** "
                 f"{', '.join(params['qc']['downgrade']) or 'none'}"))

# %% [markdown]
# ## What was received
#
# One row per domain file found in the input folder: records and distinct subjects.

# %%
display(HTML(tables.html_table(qc.received.rename(columns=str.title))))

# %% [markdown]
# ## Failed rules
#
# Critical first. *Records* counts the offending records; up to ten subjects and values are listed
# here, all of them in the next section.

# %%
failed = tables.qc_failed_table(qc.findings)
display(HTML(tables.html_table(failed)) if len(failed) else Markdown("_No rule failed._"))

# %% [markdown]
# ## Offending records
#
# One row per record that breaks a rule (at most 200 per rule), to send back to data management.

# %%
display(HTML(tables.html_table(qc.details)) if len(qc.details) else Markdown("_None._"))

# %% [markdown]
# ## Missing data
#
# Variables with missing values, per domain (a blank counts as missing). Some are expected, e.g. an
# end date of an ongoing adverse event.

# %%
missing = qc.missing.rename(columns={"PCT_MISSING": "% missing"})
display(HTML(tables.html_table(missing)) if len(missing) else Markdown("_No missing values._"))

# %% [markdown]
# ## All rules evaluated
#
# *NOT RUN* means the variable or domain a rule needs is absent from the input.

# %%
display(HTML(tables.html_table(tables.qc_rules_table(qc.findings))))
