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
from mpmlib.derive.adtr import response_concordance
from mpmlib.notebook import load_run, setup
from mpmlib.tables import fmt_estimate

setup()
run = load_run(params_file, sdtm_dir, out_dir, adam_dir)
adsl, adrs, adtte = run.adam["adsl"], run.adam["adrs"], run.adam["adtte"]
eff = run.params["efficacy"]
analysis_set = efficacy.population(adsl, eff["population"])
treated = efficacy.population(adsl, "SAFFL")
has_rs = bool(adrs["PARAMCD"].eq("OVR").any())
display(Markdown(
    f"**Study:** {run.params['study']['title']}  \n"
    f"**Data cut-off:** {run.params['data_cutoff'] or 'not set (latest date in the data is used)'}  \n"
    f"**Response population ({eff['population']}):** N = {len(analysis_set)} of {len(treated)} treated subjects  \n"
    f"**Assessor:** {eff['evaluator'].title()}; time origin: "
    f"{eff['reference_date'] or run.params['adsl']['reference_date']} (day 1)"
))
NO_RS = "_Not available: this input has no tumour response data (RS)._"
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
else:
    display(Markdown(NO_RS))

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
else:
    display(Markdown(NO_RS))

# %% [markdown]
# ## Progression-free survival
#
# Event: first progression by RECIST 1.1 or death from any cause. Censoring follows the FDA
# guidance on cancer trial endpoints (2018): no adequate assessment → day 1; new anticancer
# therapy before progression → last adequate assessment before it; progression or death after two
# or more missed assessments → last adequate assessment; otherwise the last adequate assessment.
# Kaplan–Meier estimates with the confidence-interval transform named in the table. Population:
# all treated subjects (by arm when there is more than one).
# *Source: `efficacy.tte_summary`, `efficacy.censoring_table`, `plots_efficacy.km_plot`.*

# %%
def km_section(paramcd: str, ylabel: str, xlabel: str = "Months since first dose") -> None:
    """KM plot with numbers at risk, summary and censoring table; by arm when there are several."""
    data = efficacy.tte_data(adtte, treated, paramcd).merge(treated[["USUBJID", "TRT01A"]], on="USUBJID")
    if data.empty:
        display(Markdown(f"_No {paramcd} data._"))
        return
    by = "TRT01A" if data["TRT01A"].nunique() > 1 else None
    km = efficacy.km_analysis(data, by, eff["km_conf_type"], eff["alpha"], eff["landmark_months"])
    figure = plots_efficacy.km_plot(km["curves"], km["at_risk"], xlabel=xlabel, ylabel=ylabel,
                                    median_lines=km["medians"])
    display(figure)
    plt.close(figure)
    display(efficacy.tte_display(km["summaries"], eff["alpha"], eff["km_conf_type"]))
    display(Markdown("**Events and censoring** (all subjects)"))
    display(efficacy.censoring_table(data))

if has_rs:
    km_section("PFS", "Progression-free survival")
else:
    display(Markdown(NO_RS))

# %% [markdown]
# ## Overall survival
#
# Event: death from any cause; subjects alive are censored at the last date known alive (the
# latest contact in any domain). Median follow-up is estimated by the reverse Kaplan–Meier method
# (Schemper & Smith 1996). Population: all treated subjects.

# %%
km_section("OS", "Overall survival")
follow = efficacy.median_followup(efficacy.tte_data(adtte, treated, "OS"), eff["km_conf_type"], eff["alpha"])
display(Markdown(f"**Median follow-up (reverse Kaplan–Meier):** {fmt_estimate(follow[0])} months "
                 f"(95% CI {fmt_estimate(follow[1])} to {fmt_estimate(follow[2])})"))

# %% [markdown]
# ## Duration of response and time to response
#
# In subjects with a confirmed response (`dor_response` in the parameters). Duration of response
# runs from the first assessment showing the response to progression or death, censored as PFS;
# a "+" marks a censored maximum. Time to response runs from day 1 to that first assessment.
# Responses after the data cut-off or after the start of new anticancer therapy do not count.
# The Kaplan–Meier plot and summary of duration of response are shown even when no responder
# has progressed or died yet: the median is then not reached (NE).
# *Source: `efficacy.responder_durations`, `efficacy.km_analysis`, `plots_efficacy.km_plot`.*

# %%
if has_rs:
    dor = efficacy.tte_data(adtte, treated, "DOR")
    display(efficacy.responder_durations(dor, efficacy.tte_data(adtte, treated, "TTR")))
    if len(dor) and dor["EVENT"].sum() == 0:
        display(Markdown(f"**No progression or death among the {len(dor)} responder(s) yet:** every duration "
                         "of response is censored, so the median is not reached (NE)."))
    km_section("DOR", "Probability of remaining in response", "Months since first response")
else:
    display(Markdown(NO_RS))

# %% [markdown]
# ## Tumour size: waterfall and spider plots
#
# Best (largest) decrease from baseline in the sum of target-lesion diameters per subject of the
# response population, from assessments where every target lesion was measured, coloured by
# confirmed best overall response; dashed lines at −30 % (partial response) and +20 %
# (progression, judged against the smallest sum so far). The spider plot follows each subject
# over time. *Source: `derive.adtr.derive_adtr`, `efficacy.waterfall_data`, `efficacy.spider_data`.*

# %%
adtr = run.adam["adtr"]
if has_rs and len(adtr):
    spider = efficacy.spider_data(adtr, adrs, analysis_set)
    follow_up = spider.groupby("USUBJID")["WEEK"].max()
    spider, note = efficacy.limit_subjects(spider, follow_up, 200)
    for figure in (plots_efficacy.waterfall_plot(efficacy.waterfall_data(adtr, adrs, analysis_set)),
                   plots_efficacy.spider_plot(spider)):
        display(figure)
        plt.close(figure)
    if note:
        display(Markdown(f"_Spider plot: {note.lower()} (the 200 followed longest); the waterfall shows everyone._"))
else:
    display(Markdown("_Not available: this input has no tumour measurements (TU/TR) or responses (RS)._"))

# %% [markdown]
# ## RECIST 1.1 re-derived from the measurements vs the investigator's response
#
# A data check: the time-point response recomputed from the lesion measurements (target sum vs
# baseline and nadir, 30 % / 20 % + 5 mm, non-target status, new lesions; RECIST 1.1 Tables 1–2)
# against the investigator's overall response on the same date. Disagreements are listed for the
# data manager; they do not change the analysis, which uses the investigator's response.
# *Source: `derive.adtr.response_concordance`.*

# %%
if has_rs and len(adtr):
    concordance, discordant = response_concordance(adtr, adrs)
    display(concordance.rename_axis(index="Re-derived", columns="Investigator"))
    matched = discordant[~discordant[["derived", "investigator"]].isin(["NOT ASSESSED"]).any(axis=1)]
    display(Markdown(f"**Disagreements on matched dates:** {len(matched)}; assessments on one side only: "
                     f"{len(discordant) - len(matched)}."))
    if len(matched):
        display(efficacy.discordance_listing(matched, adtr))
else:
    display(Markdown("_Not available: this input has no tumour measurements (TU/TR) or responses (RS)._"))

# %% [markdown]
# ## Treatment and response over time (swimmer plot)
#
# One bar per treated subject: time on treatment, coloured by confirmed best overall response,
# with the first confirmed response, first progression and death marked.

# %%
if has_rs:
    bars, events = efficacy.swimmer_data(adsl, adrs, treated)
    bars, note = efficacy.limit_subjects(bars, bars.set_index("USUBJID")["DURATION"], 100)
    figure = plots_efficacy.swimmer_plot(bars, events[events["USUBJID"].isin(bars["USUBJID"])])
    display(figure)
    plt.close(figure)
    if note:
        display(Markdown(f"_{note} (the 100 treated longest)._"))
else:
    display(Markdown(NO_RS))

# %% [markdown]
# ## Methods and parameters
#
# The settings this report ran with (from the parameter file; defaults and reasons in
# `mpmlib/params.py`) and the rule each one controls. The derivations are described in
# `mpmlib/derive/adrs.py` and `mpmlib/derive/adtte.py`; deliberate differences from the
# pharmaverse admiral templates are in `docs/efficacy-methods.md`.

# %%
display(efficacy.settings_table(eff))
