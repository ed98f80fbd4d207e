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
# # Data quality control: what was received and what is wrong with it
#
# Every SDTM file is checked before any number is reported: one Great Expectations suite per domain
# (`expectations/*.json`), the rules that span domains (`mpmlib.qc.rules`), the rules that compare
# the data with the parameter file (study, study drugs, planned doses, data cut-off) and, when no
# critical rule fails, a dry run of the ADaM derivation on the same data (`DERIVE-001`): whatever
# would stop the analyses is a finding here. Every rule id and its severity is listed in
# `docs/data-spec.md`. A failed critical rule stops the run, locked or exploratory: only this page
# is written. For exploration only, the
# parameter file may downgrade named critical rules to warnings (`qc.downgrade`); the analyses then
# run and the rules are shown as downgraded here and on the index page. A locked run refuses any
# downgrade. A **warning** is for review. Each finding names the domain, the variable, the rule, the
# subjects (USUBJID), the records (`--SEQ`, `--TESTCD`, `VISIT`) and the values concerned.

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
from mpmlib.settings.load import load_params, override_paths
from mpmlib.qc.gate import QCResult, validate_run

setup()
params = override_paths(load_params(params_file), sdtm_dir, out_dir)
if qc_dir and (Path(qc_dir) / "findings.csv").is_file():
    qc = QCResult.load(Path(qc_dir))
else:
    qc = validate_run(params)           # opened on its own: the same QC as mpm validate / mpm report

# %%
display(HTML(tables.qc_verdict_html(qc.findings)))
display(Markdown(f"**Study:** {tables.md_text(params['study']['title'] or params['_name'])}  \n"
                 f"**Critical rules downgraded to warnings by the parameter file (exploration only):** "
                 f"{tables.md_text(', '.join(params['qc']['downgrade']) or 'none')}  \n"
                 f"**Subject identifiers:** this page always shows USUBJID, so that data management can find "
                 f"each record" + (" (the analysis pages mask them: `report.mask_subject_ids` is true; keep this "
                                   "page within the study team)" if params["report"]["mask_subject_ids"] else "")
                 + "."))

# %% [markdown]
# ## What was received
#
# One row per domain file found in the input folder: records and distinct subjects.

# %%
display(HTML(tables.html_table(qc.received.rename(columns=str.title))))

# %% [markdown]
# ## Failed rules
#
# Critical first, then critical rules downgraded to warnings by the parameter file, then warnings.
# *Records* counts the offending records; up to ten subjects and values are listed here, the
# records themselves in the next section.

# %%
failed = tables.qc_failed_table(qc.findings)
display(HTML(tables.html_table(failed, text=True)) if len(failed) else Markdown("_No rule failed._"))

# %% [markdown]
# ## Offending records
#
# One row per record that breaks a rule (at most 200 per rule; all columns in `qc/details.csv`), to
# send back to data management: USUBJID, the record by the variables that identify it in its
# domain (`--SEQ`, `--TESTCD`, `VISIT`, or `VISITNUM` where the visit has no name; a supplemental
# qualifier by its parent record and `QNAM`) and the offending value.

# %%
details = tables.qc_details_table(qc.details, qc.findings)
display(HTML(tables.html_table(details, text=True)) if len(details) else Markdown("_None._"))

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
display(HTML(tables.html_table(tables.qc_rules_table(qc.findings), text=True)))
