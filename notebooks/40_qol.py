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
# # Quality of life: EORTC QLQ-C30
#
# Health-related quality of life measured with the EORTC QLQ-C30 version 3.0, scored as the EORTC
# Scoring Manual (3rd edition) prescribes: 15 scales from 0 to 100 (higher = better for global health
# status and the functional scales, worse for the symptom scales) and the QLQ-C30 Summary Score
# (Giesinger et al. 2016). A scale is scored when at least half of its items were answered.
# *Source: `mpmlib.qol` (scoring), `mpmlib.derive.adqs` (visits, baseline, change),
# `mpmlib.qol_analysis` (tables and model).*

# %% tags=["parameters"]
params_file = "../params/demo.yaml"  # analysis parameters (input folder, settings)
sdtm_dir = None  # optional: another SDTM folder (replaces the parameter file's input)
out_dir = None  # optional: output root
adam_dir = None  # ADaM folder written by mpm report (None: derive in memory)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from mpmlib import efficacy, plots_efficacy, plots_qol, qol_analysis
from mpmlib.notebook import load_run, setup

setup()
run = load_run(params_file, sdtm_dir, out_dir, adam_dir)
adsl, adqs = run.adam["adsl"], run.adam["adqs"]
cfg = run.params["qol"]
has_qs = len(adqs) > 0
labels = adqs.drop_duplicates("PARAMCD").set_index("PARAMCD")["PARAM"].to_dict() if has_qs else {}
key = [p for p in cfg["key_scales"] if p in labels]
display(Markdown(
    f"**Study:** {run.params['study']['title']}  \n"
    f"**Population:** treated subjects, {cfg['population']} = Y (N = {len(qol_analysis.analysis_population(adsl, cfg['population']))})  \n"
    f"**Analysis visits:** baseline (last questionnaire on or before the first dose), then every "
    f"{cfg['interval_weeks']} weeks ± {cfg['window_days']} days  \n"
    f"**Clinically meaningful change:** {cfg['meaningful_change']} points (Osoba et al. 1998)"
))
if not has_qs:
    display(Markdown("> **No EORTC QLQ-C30 questionnaires (QS domain with EOR0101–EOR0130) in this input.** "
                     "Quality-of-life analyses cannot be made."))

# %% [markdown]
# ## Questionnaire compliance
#
# Questionnaires received out of those expected at each scheduled visit (every visit of the
# schedule is listed, also one where nobody returned a questionnaire). Expected: treated subjects
# still on study when the visit window opened (not dead, not past their last contact or the data
# cut-off) and, as the protocol collects questionnaires at each tumour assessment up to the first
# progression, not yet progressed (`qol.expected_until`). Received counts only expected subjects,
# so compliance cannot exceed 100%; a questionnaire from a subject no longer expected (e.g. after
# progression) is counted apart as *off-schedule*.
# Low compliance late in follow-up means the later means describe a selected, healthier group.
#
# Treated subjects without a baseline questionnaire have no change from baseline: they are absent
# from every change analysis below (mean change, mixed model, responders, time to deterioration).
# A questionnaire with a partial or missing date (QSDTC) is kept in ADQS, flagged `ADTINCFL`, but
# cannot be placed in a visit window, so it is in no by-visit analysis.

# %%
if has_qs:
    stop = qol_analysis.progression_dates(run.adam["adrs"]) if cfg["expected_until"] == "progression" else None
    display(qol_analysis.compliance(adsl, adqs, cfg["interval_weeks"], cfg["window_days"], cfg["population"], stop))
    from mpmlib.derive.adqs import missed_questionnaires

    no_base = qol_analysis.without_baseline(adsl, adqs, cfg["population"])
    undated = qol_analysis.incomplete_dates(adqs)
    display(Markdown(f"**Treated subjects without a baseline questionnaire** (absent from the change analyses): "
                     f"{len(no_base)} of {len(qol_analysis.analysis_population(adsl, cfg['population']))}  \n"
                     f"**Questionnaires with a partial or missing date** (no analysis visit): {len(undated)}"))
    missed = missed_questionnaires(run.sdtm.get("qs"))
    if len(missed):
        display(Markdown(f"**Questionnaires recorded as not done:** {len(missed)}, by reason"))
        display(missed["REASON"].value_counts().rename("questionnaires").to_frame())

# %% [markdown]
# ## Mean change from baseline in the key scales
#
# Mean change with 95% confidence intervals at each visit (subjects with a baseline score and a
# questionnaire at that visit). For global health status and functional scales a rise is an
# improvement; for symptom scales (fatigue, dyspnoea, pain) a rise is a worsening.

# %%
if has_qs:
    summaries = {f"{labels[p]} ({p})": qol_analysis.by_visit(adqs, p) for p in key}
    figure = plots_qol.mean_change_plot(summaries, threshold=cfg["meaningful_change"], min_n=cfg["min_n_model"])
    display(figure)
    plt.close(figure)

# %% [markdown]
# ## Scores and change from baseline by visit
#
# Every scale: n, mean (SD), median (range) of the score, and the mean change from baseline with its
# 95% confidence interval (t distribution).

# %%
if has_qs:
    for paramcd, label in labels.items():
        display(Markdown(f"**{label} ({paramcd})**"))
        display(qol_analysis.by_visit_display(qol_analysis.by_visit(adqs, paramcd)))

# %% [markdown]
# ## Linear mixed model for change from baseline
#
# For each key scale: change from baseline ~ visit + baseline score, with a random intercept per
# subject (restricted maximum likelihood). Its assumptions: the random intercept implies the same
# correlation between any two visits of a subject however far apart (compound symmetry) and the
# same variance at every visit; random intercepts and residuals are normally distributed. The 95%
# confidence intervals are Wald (normal-approximation) intervals from the fixed-effects covariance,
# without a small-sample degrees-of-freedom correction, so with few subjects they are somewhat too
# narrow. It uses every available
# questionnaire and is unbiased if missing questionnaires are *missing at random* given the scores
# already observed; it does not impute. Questionnaires stop when patients deteriorate or die, so
# missingness is probably informative and the estimates are optimistic: read them together with
# compliance and time to deterioration. Visits with fewer than the minimum number of observations
# set in the parameters are left out.

# %%
if has_qs:
    for paramcd in key:
        estimates, info = qol_analysis.mixed_model(adqs, paramcd, cfg["min_n_model"])
        display(Markdown(
            f"**{labels[paramcd]} ({paramcd})**: {info['n_obs']} changes from {info['n_subjects']} subjects"
            + ("" if info.get("converged") else " — *the model did not converge; estimates not shown*")
            + (f"; visits left out (too few data): {', '.join(info['visits_left_out'])}" if info["visits_left_out"] else "")))
        if info.get("converged") and len(estimates):
            display(qol_analysis.model_display(estimates, info))

# %% [markdown]
# ## Clinically meaningful change
#
# Subjects whose score improved or worsened by at least the meaningful-change threshold compared
# with baseline, at each visit, among those with a change at that visit.

# %%
if has_qs:
    for paramcd in key:
        display(Markdown(f"**{labels[paramcd]} ({paramcd})**"))
        display(qol_analysis.responders(adqs, paramcd))

# %% [markdown]
# ## Time to deterioration
#
# Time from the first dose to the first questionnaire showing a meaningful deterioration from
# baseline; subjects without one are censored at their last questionnaire. Death is not counted as
# deterioration here. Kaplan–Meier estimates with the efficacy settings' confidence-interval
# transform. *Source: `qol_analysis.time_to_deterioration`, `efficacy.tte_summary`.*

# %%
if has_qs:
    eff = run.params["efficacy"]
    ttd = {p: qol_analysis.time_to_deterioration(adqs, p) for p in key}
    curves = {p: efficacy.km_curves(d, None, eff["km_conf_type"], eff["alpha"])["All subjects"]
              for p, d in ttd.items() if len(d)}
    figure = plots_efficacy.km_plot(curves, None, ylabel="Free of deterioration", show_ci=False)
    display(figure)
    plt.close(figure)
    summaries = {p: efficacy.tte_summary(d, eff["km_conf_type"], eff["alpha"], eff["landmark_months"])
                 for p, d in ttd.items() if len(d)}
    display(efficacy.tte_display(summaries, eff["alpha"], eff["km_conf_type"]))
