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
# # Efficacy: tumour response (RECIST 1.1), progression-free and overall survival
#
# Objective response and disease control by RECIST 1.1 as assessed by the investigator,
# progression-free survival (PFS), overall survival (OS), duration of and time to response, and
# the tumour-size figures. Rules and their sources are listed in the last section; every number
# comes from a function of `mpmlib` (named under each table) applied to the ADaM datasets.

# %% tags=["parameters"]
params_file = "../params/demo.yaml"  # analysis parameters (input folder, settings)
sdtm_dir = None  # optional: another SDTM folder (replaces the parameter file's input)
out_dir = None  # optional: output root
adam_dir = None  # ADaM folder written by mpm report (None: derive in memory)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from mpmlib import efficacy, plots_efficacy
from mpmlib.derive.adrs import excluded_records
from mpmlib.notebook import load_run, setup

setup()
run = load_run(params_file, sdtm_dir, out_dir, adam_dir)
adsl, adrs, adtte = run.adam["adsl"], run.adam["adrs"], run.adam["adtte"]
eff = run.params["efficacy"]
analysis_set = efficacy.population(adsl, eff["population"])
treated = efficacy.population(adsl, "SAFFL")
has_rs = "rs" in run.sdtm and len(adrs) > 0
display(Markdown(
    f"**Study:** {run.params['study']['title']}  \n"
    f"**Data cut-off:** {run.params['data_cutoff'] or 'not set (latest date in the data is used)'}  \n"
    f"**Response population ({eff['population']}):** N = {len(analysis_set)} of {len(treated)} treated subjects  \n"
    f"**Assessor:** {eff['evaluator'].title()}; time origin: "
    f"{eff['reference_date'] or run.params['adsl']['reference_date']} (day 1)"
))
if not has_rs:
    display(Markdown("> **No tumour response data (RS) in this input.** Response rates, PFS, duration of "
                     "response and the tumour figures cannot be computed; overall survival is shown below."))

# %% [markdown]
# ## Best overall response
#
# Best overall response per subject, with confirmation (the primary analysis: a CR or PR must be
# confirmed by an assessment at least 4 weeks later) and without confirmation (sensitivity
# analysis). Stable disease counts only when it was seen at least 6 weeks after the first dose.
# Percentages are of **all** subjects of the response population; subjects without a
# post-baseline assessment count as non-responders. ORR and DCR carry exact (Clopper–Pearson)
# 95% confidence intervals, and confirmed ORR is tested one-sided against the null rate given
# in the parameters. *Source: `efficacy.response_table`, `efficacy.response_rates`.*

# %%
if has_rs:
    display(efficacy.response_table(adrs, analysis_set, eff["alpha"], eff["orr_null_rate"]))
    rates = efficacy.response_rates(adrs, analysis_set, eff["alpha"], eff["orr_null_rate"])

# %% [markdown]
# ### Subjects counted as not evaluable
#
# Who is in the denominator without an evaluable response, and why (running numbers, no
# identifiers). Assessments not used are those before the first dose, after the first
# progression, or with a value that is not a RECIST 1.1 response.

# %%
if has_rs:
    listing = efficacy.not_evaluable_listing(adrs, analysis_set)
    display(listing if len(listing) else Markdown("_Every subject of the response population has an evaluable response._"))
    excluded = excluded_records(adrs)
    if len(excluded):
        display(Markdown(f"**Response records not used for analysis:** {len(excluded)} — by reason:"))
        display(excluded["ANLEXCL"].value_counts().rename("records").to_frame())

# %% [markdown]
# ## Progression-free survival
#
# Event: first progression by RECIST 1.1 or death from any cause. Censoring follows the FDA
# guidance on cancer trial endpoints (2018): no adequate assessment → day 1; new anticancer
# therapy before progression → last adequate assessment before it; progression or death after two
# or more missed assessments → last adequate assessment; otherwise the last adequate assessment.
# Kaplan–Meier estimates with the confidence-interval transform named in the table.
# *Source: `efficacy.tte_summary`, `efficacy.censoring_table`, `plots_efficacy.km_plot`.*

# %%
AT_RISK_DAYS = [m * efficacy.DAYS_PER_MONTH for m in range(0, 37, 3)]


def km_section(paramcd: str, ylabel: str) -> None:
    data = efficacy.tte_data(adtte, treated, paramcd)
    if data.empty:
        display(Markdown(f"_No {paramcd} data._"))
        return
    curves = efficacy.km_curves(data, conf_type=eff["km_conf_type"], alpha=eff["alpha"])
    last = data["AVAL"].max()
    at_risk = efficacy.numbers_at_risk(data, [t for t in AT_RISK_DAYS if t <= last + efficacy.DAYS_PER_MONTH])
    summary = efficacy.tte_summary(data, eff["km_conf_type"], eff["alpha"], eff["landmark_months"])
    median = summary.loc[summary["statistic"].eq("Median (months)"), "value"].iloc[0] * efficacy.DAYS_PER_MONTH
    figure = plots_efficacy.km_plot(curves, at_risk, ylabel=ylabel, median_lines={"All subjects": median})
    display(figure)
    plt.close(figure)
    display(efficacy.tte_display({paramcd: summary}, eff["alpha"], eff["km_conf_type"]))
    display(Markdown("**Events and censoring**"))
    display(efficacy.censoring_table(data))


if has_rs:
    km_section("PFS", "Progression-free survival")

# %% [markdown]
# ## Overall survival
#
# Event: death from any cause; subjects alive are censored at the last date known alive (the
# latest contact in any domain). Median follow-up is estimated by the reverse Kaplan–Meier method
# (Schemper & Smith 1996). Population: all treated subjects.

# %%
km_section("OS", "Overall survival")
follow = efficacy.median_followup(efficacy.tte_data(adtte, treated, "OS"), eff["km_conf_type"], eff["alpha"])
display(Markdown(f"**Median follow-up (reverse Kaplan–Meier):** {efficacy._num(follow[0])} months "
                 f"(95% CI {efficacy._num(follow[1])} to {efficacy._num(follow[2])})"))

# %% [markdown]
# ## Duration of response and time to response
#
# In subjects with a confirmed response (`dor_response` in the parameters). Duration of response
# runs from the first assessment showing the response to progression or death, censored as PFS;
# a "+" marks a censored maximum. Time to response runs from day 1 to that first assessment.

# %%
if has_rs:
    dor = efficacy.tte_data(adtte, treated, "DOR")
    ttr = efficacy.tte_data(adtte, treated, "TTR")
    display(efficacy.responder_durations(dor, ttr))
    if dor["EVENT"].sum() > 0:
        dor_summary = efficacy.tte_summary(dor, eff["km_conf_type"], eff["alpha"], eff["landmark_months"])
        display(efficacy.tte_display({"Duration of response": dor_summary}, eff["alpha"], eff["km_conf_type"]))

# %% [markdown]
# ## Treatment and response over time (swimmer plot)
#
# One bar per treated subject: time on treatment, coloured by confirmed best overall response,
# with the first confirmed response, first progression and death marked.

# %%
if has_rs:
    bars, events = efficacy.swimmer_data(adsl, adrs, treated)
    plots_efficacy.swimmer_plot(bars, events)

# %% [markdown]
# ## Methods and parameters
#
# The settings this report ran with (from the parameter file; defaults and reasons in
# `mpmlib/params.py`) and the rule each one controls. The derivations are described in
# `mpmlib/derive/adrs.py` and `mpmlib/derive/adtte.py`; deliberate differences from the
# pharmaverse admiral templates are in `docs/efficacy-methods.md`.

# %%
display(efficacy.settings_table(eff))
