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
# # Efficacy: tumour response, progression-free and overall survival
#
# Objective response and disease control by the response criteria and assessor named below,
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

from mpmlib.analysis import efficacy
from mpmlib.plots import efficacy as plots_efficacy
from mpmlib.derive.adrs import excluded_records
from mpmlib.derive.adtr import response_concordance
from mpmlib.notebook import load_run, setup
from mpmlib.pages import efficacy as page

setup()
run = load_run(params_file, sdtm_dir, out_dir, adam_dir)

# %%
adsl, adrs, adtte, adtr = run.adam["adsl"], run.adam["adrs"], run.adam["adtte"], run.adam["adtr"]
eff, origin = run.params["efficacy"], run.time_origin
months_since = efficacy.time_label(origin)  # every time axis: "Months since <origin>"
analysis_set = efficacy.flagged_subjects(adsl, eff["population"])
treated = efficacy.flagged_subjects(adsl, "SAFFL")
has_rs = bool(adrs["PARAMCD"].eq("OVR").any())
notes = page.method_notes(eff, origin)
ids = "masked numbers (`report.mask_subject_ids`)" if run.params["report"]["mask_subject_ids"] else "USUBJID"
display(Markdown(page.header_text(run.params, analysis_set, treated, origin)))
NO_RS, show_km = page.NO_RS, page.show_km
if not has_rs:
    display(Markdown(page.NO_RS_BANNER))

# %%
km_section = page.km_section  # figure, summary and censoring of one endpoint (shown by page.show_km)

# %% [markdown]
# ## Best overall response
#
# *Source: `efficacy.response_table`, `efficacy.response_rates`.*

# %%
if has_rs:
    display(Markdown(notes["response"]),
            efficacy.response_table(adrs, analysis_set, eff["alpha"], eff["orr_null_rate"]))
else:
    display(Markdown(NO_RS))

# %% [markdown]
# ### Subjects counted as not evaluable
#
# Who is in the denominator without an evaluable response, and why, one row per subject for the
# data manager. Assessments not used are those before day 1 (the time origin), after the first
# progression, or with a value that is not a RECIST 1.1 response.

# %%
if has_rs:
    listing = efficacy.not_evaluable_listing(adrs, analysis_set, run.subject_ids)
    if len(listing):
        display(Markdown(f"Subjects are identified by {ids}."), listing)
    else:
        display(Markdown("_Every subject of the response population has an evaluable response._"))
    excluded = excluded_records(adrs)
    if len(excluded):
        display(Markdown(f"**Response records not used for analysis:** {len(excluded)} — by reason:"))
        display(excluded["ANLEXCL"].value_counts().rename("records").to_frame())
else:
    display(Markdown(NO_RS))

# %% [markdown]
# ## Progression-free survival
#
# Kaplan–Meier estimates with the confidence-interval transform named in the table and the
# legend. Population: all treated subjects (by arm when there is more than one).
# *Source: `efficacy.km_section` (`efficacy.tte_summary`, `efficacy.censoring_table`,
# `plots_efficacy.km_plot`).*

# %%
if has_rs:
    display(Markdown(notes["pfs"]))
    show_km(km_section(adtte, treated, "PFS", eff, ylabel="Progression-free survival",
                                xlabel=months_since), "PFS")
else:
    display(Markdown(NO_RS))

# %% [markdown]
# ## Overall survival
#
# Event: death from any cause; subjects alive are censored at the last date known alive (the
# latest contact in any domain). Median follow-up is estimated by the reverse Kaplan–Meier method
# (Schemper & Smith 1996). Population: all treated subjects.

# %%
show_km(km_section(adtte, treated, "OS", eff, ylabel="Overall survival", xlabel=months_since), "OS")
os_data = efficacy.tte_data(adtte, treated, "OS")
display(Markdown(efficacy.followup_text(os_data, eff["km_conf_type"], eff["alpha"])))

# %% [markdown]
# ## Duration of response and time to response
#
# Time to response is observed in every responder, so its median and range describe it. Duration
# of response is censored in responders still in response, so its median is the Kaplan–Meier
# one only (the median of observed times would be biased low); each responder's duration, with
# "+" and the reason when censored, is listed. Duration of response is counted from the first
# response, so its time axis starts there. The Kaplan–Meier plot and summary are shown even when
# no responder has progressed or died yet: the median is then not reached (NE).
# *Source: `efficacy.responder_durations`, `efficacy.responder_listing`, `efficacy.km_section`.*

# %%
if has_rs:
    display(Markdown(notes["dor"]))
    dor, ttr = efficacy.tte_data(adtte, treated, "DOR"), efficacy.tte_data(adtte, treated, "TTR")
    display(efficacy.responder_durations(dor, ttr))
    if len(dor) and dor["EVENT"].sum() == 0:
        display(Markdown(f"**No progression or death among the {len(dor)} responder(s) yet:** every duration "
                         "of response is censored, so the median is not reached (NE)."))
    show_km(km_section(adtte, treated, "DOR", eff, ylabel="Probability of remaining in response",
                                xlabel="Months since first response (start of the duration of response)"), "DOR")
    display(Markdown(f"**Responders** (identified by {ids}; \"+\" = censored):"),
            efficacy.responder_listing(dor, ttr, run.subject_ids))
else:
    display(Markdown(NO_RS))

# %% [markdown]
# ## Tumour size: waterfall and spider plots
#
# Best (largest) decrease from baseline in the sum of target-lesion diameters per subject of the
# response population, from assessments where every target lesion was measured, coloured by
# confirmed best overall response and labelled with the subject; dashed lines at −30 % (partial
# response) and +20 % (progression, judged against the smallest sum so far). The spider plot
# follows each subject over time. *Source: `derive.adtr.derive_adtr`, `efficacy.waterfall_data`,
# `efficacy.spider_data`.*

# %%
if has_rs and len(adtr):
    waterfall = efficacy.waterfall_data(adtr, adrs, analysis_set)
    labels = dict(zip(waterfall["USUBJID"], run.subject_ids(waterfall["USUBJID"])))
    spider = efficacy.spider_data(adtr, adrs, analysis_set)
    spider, note = efficacy.limit_subjects(spider, spider.groupby("USUBJID")["MONTH"].max(), 200)
    for figure in (plots_efficacy.waterfall_plot(waterfall, labels=labels),
                   plots_efficacy.spider_plot(spider, xlabel=months_since)):
        display(figure)
        plt.close(figure)
    if note:
        display(Markdown(f"_Spider plot: {note.lower()} (the 200 followed longest); the waterfall shows everyone._"))
else:
    display(Markdown("_Not available: this input has no tumour measurements (TU/TR) or responses (RS)._"))

# %% [markdown]
# ## Response re-derived from the tumour measurements vs the assessor's response
#
# A data check: the RECIST 1.1 time-point response recomputed from the lesion measurements
# (target sum vs baseline and nadir, 30 % / 20 % + 5 mm, non-target status, new lesions; RECIST
# 1.1 Tables 1–2) against the assessor's overall response on the same date. Disagreements are
# listed for the data manager by subject and study day (day 1 = the time origin); they do not
# change the analysis, which uses the assessor's response. *Source: `derive.adtr.response_concordance`.*

# %%
if has_rs and len(adtr):
    concordance, discordant = response_concordance(adtr, adrs)
    display(concordance.rename_axis(index="Re-derived", columns=f"Assessor: {eff['evaluator'].title()}"))
    matched = discordant[~discordant[["derived", "investigator"]].isin(["NOT ASSESSED"]).any(axis=1)]
    display(Markdown(f"**Disagreements on matched dates:** {len(matched)}; assessments on one side only "
                     f"(NOT ASSESSED on the other): {len(discordant) - len(matched)}. Both are listed, subjects "
                     f"identified by {ids} (at most 50 rows)."))
    if len(discordant):
        display(efficacy.discordance_listing(discordant, adtr, ids=run.subject_ids))
else:
    display(Markdown("_Not available: this input has no tumour measurements (TU/TR) or responses (RS)._"))

# %% [markdown]
# ## Treatment and response over time (swimmer plot)
#
# One bar per treated subject, labelled with the subject: time on treatment (from the first dose,
# placed on the time axis of the origin), coloured by confirmed best overall response, with the
# first confirmed response, first progression and death marked.

# %%
if has_rs:
    bars, events = efficacy.swimmer_data(adsl, adrs, treated, eff["reference_date"] or "TTEREFDT")
    bars, note = efficacy.limit_subjects(bars, bars.set_index("USUBJID")["DURATION"], 100)
    labels = dict(zip(bars["USUBJID"], run.subject_ids(bars["USUBJID"])))
    figure = plots_efficacy.swimmer_plot(bars, events[events["USUBJID"].isin(bars["USUBJID"])],
                                         xlabel=months_since, labels=labels)
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
# `mpmlib/settings/load.py`) and the rule each one controls. The derivations are described in
# `mpmlib/derive/adrs.py` and `mpmlib/derive/adtte.py`; deliberate differences from the
# pharmaverse admiral templates are in `docs/efficacy-methods.md`.

# %%
display(page.settings_table(eff))
