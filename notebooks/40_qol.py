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
# # Quality of life (patient-reported outcomes)
#
# Questionnaire scale scores from the SDTM QS domain. Each instrument with rows in the instrument
# table (`mpmlib/resources/qol_instruments.csv` and its scale tables) is scored by those rows: every
# scale a linear transformation to 0-100, computed when at least half of its items were answered
# (half rule); what the table below names as not analysed has no such rows. The header names the
# instruments actually scored in this input, their scoring sources and every setting used.
# *Source: `mpmlib.derive.qol_scoring` (scoring), `mpmlib.derive.adqs` (visits, baseline, change),
# `mpmlib.analysis.qol` (tables and model), `mpmlib.plots.qol` (figure).*

# %% tags=["parameters"]
params_file = "../params/demo.yaml"  # analysis parameters (input folder, settings)
sdtm_dir = None  # optional: another SDTM folder (replaces the parameter file's input)
out_dir = None  # optional: output root
adam_dir = None  # ADaM folder written by mpm report (None: derive in memory)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from mpmlib.analysis import efficacy, qol as qa
from mpmlib.derive.adqs import missed_questionnaires
from mpmlib.notebook import load_run, setup
from mpmlib.pages import qol as page
from mpmlib.plots import efficacy as plots_efficacy, qol as plots_qol
from mpmlib.tables.format import md_text

setup()
run = load_run(params_file, sdtm_dir, out_dir, adam_dir)
adsl, cfg, eff, alpha = run.adam["adsl"], run.params["qol"], run.params["efficacy"], run.params["efficacy"]["alpha"]
qs, population, title = run.sdtm.get("qs"), qa.treated_subjects(adsl, cfg["population"]), run.params["study"]["title"]
adqs, stop = page.scheduled_adqs(run)  # schedule flagged; stop = progression dates ending it
display(Markdown(page.page_header(title, qa.instruments_scored(adqs), len(population), cfg, alpha, stop_dates=stop)))

# %% [markdown]
# ## What the questionnaire data hold
#
# Records and subjects of each QS category, and whether it is analysed here (the questionnaire
# records marked as not done are counted further down).

# %%
if qs is not None and len(qs):
    display(qa.qs_inventory(qs))
message = qa.no_data_message(qs, adqs)
has_qs = message is None
if not has_qs:
    display(Markdown(message))
labels = adqs.drop_duplicates("PARAMCD").set_index("PARAMCD")["PARAM"].to_dict() if has_qs else {}
key = [p for p in cfg["key_scales"] if p in labels]

# %% [markdown]
# ## Questionnaire compliance
#
# Questionnaires received out of those expected at each scheduled visit (every visit of the
# schedule is listed, also one where nobody returned a questionnaire). Expected: subjects of the
# population still on the questionnaire schedule when the visit window opened (not dead, not past
# their last contact or the data cut-off and, when the settings end the schedule at progression,
# not yet progressed; see the header).
#
# **One counting rule for compliance and every analysis below.** A questionnaire counts at a visit
# when its subject was expected there: it is then *received* here and enters the by-visit scores,
# the mean change and its figure, the mixed model, the responder tables and time to deterioration.
# A questionnaire from a subject no longer expected at that visit (e.g. after progression) is
# *off-schedule*: counted in its own column and in no analysis. Expectation is decided per visit
# (`qol_analysis.flag_schedule`), so compliance cannot exceed 100%.
# Low compliance late in follow-up means the later means describe a selected, healthier group.
#
# Subjects without a baseline questionnaire have no change from baseline: they are absent from
# every change analysis. A questionnaire with a partial or missing date (QSDTC) is kept in ADQS,
# flagged `ADTINCFL`, but cannot be placed in a visit window, so it is in no by-visit analysis.

# %%
if has_qs:
    display(qa.compliance(adsl, adqs, cfg["interval_weeks"], cfg["window_days"], cfg["population"], stop))
    no_base, undated = qa.without_baseline(adsl, adqs, cfg["population"]), qa.incomplete_dates(adqs)
    display(Markdown(f"**Subjects without a baseline questionnaire** (absent from the change analyses): "
                     f"{len(no_base)} of {len(population)}  \n"
                     f"**Questionnaires with a partial or missing date** (no analysis visit): {len(undated)}"))
    gaps = qa.data_gaps(adsl, adqs, cfg["population"])
    display(gaps.assign(USUBJID=run.subject_ids(gaps["USUBJID"])).set_index("USUBJID") if len(gaps) else Markdown(""))
    missed = missed_questionnaires(qs)
    if len(missed):
        display(Markdown(f"**Questionnaires recorded as not done:** {len(missed)}, by reason"))
        display(missed["REASON"].value_counts().rename("questionnaires").to_frame())
else:
    display(Markdown(qa.NOT_MADE))

# %% [markdown]
# ## Mean change from baseline in the key scales
#
# Mean change with its confidence interval (level in the header) at each visit, among subjects with
# a baseline score and an on-schedule questionnaire at that visit. What a rise means for each scale
# comes from its scale table (below). A visit is drawn when it has a CI in the tables further down:
# one minimum number of changes (`qol.min_n_ci`) for both.

# %%
if has_qs:
    display(qa.scale_directions(adqs, key))
    visit_tables = qa.by_visit_all(adqs, labels, alpha, cfg["min_n_ci"])       # every scale, one pass
    summaries = {f"{labels[p]} ({p})": visit_tables[p] for p in key}
    figure = plots_qol.mean_change_plot(summaries, threshold=cfg["meaningful_change"], min_n=cfg["min_n_ci"], alpha=alpha)
    display(figure)
    plt.close(figure)
else:
    display(Markdown(qa.NOT_MADE))

# %% [markdown]
# ## Scores and change from baseline by visit
#
# Every scale scored: n, mean (SD), median (range) of the score, and the mean change from baseline
# with its confidence interval (t distribution; level, minimum n and clipping in the note under
# each table).

# %%
if has_qs:
    for paramcd, label in labels.items():
        summary = visit_tables[paramcd]
        display(Markdown(f"**{md_text(label)} ({md_text(paramcd)})**"))
        display(qa.by_visit_display(summary, alpha))
        display(Markdown(f"*{qa.by_visit_notes(alpha, cfg['min_n_ci'], summary['change_ci_clipped'].any())}*"))
else:
    display(Markdown(qa.NOT_MADE))

# %% [markdown]
# ## Linear mixed model for change from baseline
#
# For each key scale: change from baseline ~ visit + baseline score, with a random intercept per
# subject (restricted maximum likelihood). Its assumptions: the random intercept implies the same
# correlation between any two visits of a subject however far apart (compound symmetry) and the
# same variance at every visit; random intercepts and residuals are normally distributed. The
# confidence intervals (level in the header) are Wald (normal-approximation) intervals from the
# fixed-effects covariance, without a small-sample degrees-of-freedom correction, so with few
# subjects they are somewhat too narrow. It uses every on-schedule questionnaire and is unbiased
# if missing questionnaires are *missing at random* given the scores already observed; it does not
# impute. Questionnaires stop when patients deteriorate or die, so missingness is probably
# informative and the estimates are optimistic: read them together with compliance and time to
# deterioration. Visits with fewer observations than `qol.min_n_model` are left out.

# %%
if has_qs:
    for paramcd in key:
        estimates, info = qa.mixed_model(adqs, paramcd, cfg["min_n_model"], alpha)
        display(Markdown(qa.model_caption(f"{labels[paramcd]} ({paramcd})", info, alpha)))
        if info.get("converged") and len(estimates):
            display(qa.model_display(estimates, info, alpha))
else:
    display(Markdown(qa.NOT_MADE))

# %% [markdown]
# ## Clinically meaningful change
#
# Subjects whose score improved or worsened by at least the meaningful-change threshold (header)
# compared with baseline, at each visit, among those with an on-schedule change at that visit.

# %%
if has_qs:
    for paramcd in key:
        display(Markdown(f"**{md_text(labels[paramcd])} ({md_text(paramcd)})**"))
        display(qa.responders(adqs, paramcd))
else:
    display(Markdown(qa.NOT_MADE))

# %% [markdown]
# ## Time to deterioration
#
# Time from the first dose to the first on-schedule questionnaire showing a meaningful
# deterioration from baseline; subjects without one are censored at their last on-schedule
# questionnaire. Death is not counted as deterioration here. Kaplan–Meier estimates with the
# efficacy settings' confidence-interval transform and level. *Source:
# `qol_analysis.time_to_deterioration`, `efficacy.tte_summary`.*

# %%
if has_qs:
    ttd = {p: qa.time_to_deterioration(adqs, p) for p in key}
    ttd = {p: d for p, d in ttd.items() if len(d)}
    curves = {p: efficacy.km_curves(d, None, eff["km_conf_type"], alpha)["All subjects"] for p, d in ttd.items()}
    figure = plots_efficacy.km_plot(curves, None, ylabel="Free of deterioration", show_ci=False)
    display(figure)
    plt.close(figure)
    summaries = {p: efficacy.tte_summary(d, eff["km_conf_type"], alpha, eff["landmark_months"]) for p, d in ttd.items()}
    display(efficacy.tte_display(summaries, alpha, eff["km_conf_type"]))
else:
    display(Markdown(qa.NOT_MADE))
