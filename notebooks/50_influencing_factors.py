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
# # Influencing factors: baseline characteristics, response and survival
#
# **An exploratory analysis.** Which baseline characteristics go with the response and survival
# endpoints of the study, each factor taken from ADSL as the parameter file defines it (levels,
# reference level, pre-specified cut-points, multivariable model). Looking at many factors in one
# study can only *generate hypotheses*: confidence intervals are wide, many tests are made (their
# number is given at the end, and no p-value is adjusted for it), and a factor that looks
# important here may not be. The question, the endpoints, how the factors were chosen and any
# laboratory factor are stated first. *Source: `mpmlib.analysis.factors` (subgroups, models, this page's
# text), `mpmlib.analysis.models` (logistic, Firth, Cox, log-rank).*

# %% tags=["parameters"]
params_file = "../params/demo.yaml"  # analysis parameters (input folder, settings)
sdtm_dir = None  # optional: another SDTM folder (replaces the parameter file's input)
out_dir = None  # optional: output root
adam_dir = None  # ADaM folder written by mpm report (None: derive in memory)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from mpmlib.analysis import efficacy
from mpmlib.analysis import factors
from mpmlib.plots import factors as plots_factors
from mpmlib.notebook import load_run, setup
from mpmlib.pages import factors as page
from mpmlib.tables.format import md_text

setup()
run = load_run(params_file, sdtm_dir, out_dir, adam_dir)
adsl, adrs, adtte = run.adam["adsl"], run.adam["adrs"], run.adam["adtte"]
cfg, eff, alpha = run.params["factors"], run.params["efficacy"], run.params["efficacy"]["alpha"]
tests = []  # (family, result table): every p-value shown, counted at the end

# %%
specs = [s for s in cfg["variables"] if s["var"] in adsl.columns and adsl[s["var"]].notna().any()]
absent = [s["label"] for s in cfg["variables"] if s not in specs]
labels = {s["var"]: s["label"] for s in specs}
chosen = [v for v in cfg["multivariable"] if v in labels]
model_text = md_text(", ".join(labels[v] for v in chosen))
responders, treated = efficacy.flagged_subjects(adsl, eff["population"]), efficacy.flagged_subjects(adsl, "SAFFL")
has_rs = bool(adrs["PARAMCD"].eq("OVR").any())
survival = ([("PFS", "Progression-free survival")] if has_rs else []) + [("OS", "Overall survival")]
ttes = {}  # PARAMCD -> (title, AVAL/EVENT of every treated subject) for the endpoints with data
for paramcd, title in survival:
    tte = efficacy.tte_data(adtte, treated, paramcd).set_index("USUBJID").reindex(treated["USUBJID"]).reset_index()
    if specs and tte["AVAL"].notna().any():
        ttes[paramcd] = (title, tte)

# %%
endpoints = factors.endpoint_definitions(eff, has_rs and bool(specs), list(ttes), run.time_origin)
display(Markdown("\n\n".join([
    factors.question_text(run.params["study"]["factors_question"], endpoints),
    factors.attribution_caveat(factors.n_arms(treated)),
    page.factor_list_text(page.locked_factor_list(run.params)),
    *factors.lab_factor_notes(specs, run.params["adsl"]["lab_baseline"])])))
display(Markdown(
    f"**Factors analysed:** {md_text(', '.join(labels.values())) or 'none'}  \n"
    + (f"**Not in this input (not analysed):** {md_text(', '.join(absent))}  \n" if absent else "")
    + f"**Pre-specified multivariable model:** {model_text or 'none'}  \n"
    f"**Response population:** N = {len(responders)}; **survival population (treated):** N = {len(treated)}  \n"
    f"**Confidence intervals:** {factors.ci_label(alpha)} (efficacy.alpha = {alpha:g})"
))

# %% [markdown]
# ## Response endpoints by factor
#
# Rate of confirmed objective response and of disease control (as defined above) in each
# subgroup, with an exact (Clopper–Pearson) confidence interval at the level given above. All
# subjects of the response population are counted; a "Missing" row holds those without the
# factor. The dashed line is the rate of all subjects.

# %%
if has_rs and specs:
    frame = factors.factor_frame(responders, specs).reset_index(drop=True)
    outcomes = factors.response_outcomes(adrs, responders)
    for name, outcome in outcomes.items():
        rates = factors.subgroup_rates(frame, outcome, specs, alpha)
        display(Markdown(f"**{name}**"))
        figure = plots_factors.rate_forest(rates, name)
        display(figure)
        plt.close(figure)
        display(factors.rates_display(rates))
else:
    display(Markdown("_Not available: no tumour response data (RS) or no factors in this input._"))

# %% [markdown]
# ### Odds ratios for response
#
# Univariable logistic regression for each factor (continuous factors both per unit and at their
# pre-specified categories). Every row names its comparison: a level against the factor's
# reference level ("B vs A"), a category against the lowest one, or one step of a continuous
# factor ("per 10 years"). When a factor separates the outcome (for example, no responder in one
# level) ordinary maximum likelihood has no finite estimate; Firth's penalized likelihood is used
# instead (marked "Firth" in the tables and "F" in the forest plot, with profile-likelihood CIs),
# as is usual with small samples. The Note column gives every reason that applies (why Firth was
# used, a term that could not be estimated). The multivariable model uses complete cases: the
# number of subjects left out is given with its events per variable.

# %%
if has_rs and specs:
    for name, outcome in outcomes.items():
        uni = factors.univariable_logistic(frame, outcome, specs, alpha)
        tests.append(("Logistic regression, univariable", uni))
        display(Markdown(f"**{name}: univariable**"))
        display(factors.ratios_display(uni, "Odds ratio"))
        figure = plots_factors.ratio_forest(uni, "OR", f"Odds ratio, {name.lower()}")
        display(figure)
        plt.close(figure)
else:
    display(Markdown("_Not available: no tumour response data (RS) or no factors in this input._"))

# %%
if has_rs and specs and chosen:
    for name, outcome in outcomes.items():
        table, info = factors.multivariable(frame, specs, chosen, outcome=outcome, alpha=alpha)
        multi = factors.multivariable_rows(frame, specs, table, info, "odds_ratio", alpha)
        tests.append(("Logistic regression, multivariable", multi))
        display(Markdown(f"**{name}: multivariable** ({model_text}): "
                         f"{factors.epv_note(info, cfg['min_events_per_variable'])}"))
        display(factors.ratios_display(multi, "Odds ratio"))

# %% [markdown]
# ## Progression-free and overall survival by factor
#
# Kaplan–Meier curves by factor level (continuous factors at their pre-specified cut-points; the
# legend gives the number of subjects per level, "Missing" included so every treated subject is
# shown), then the log-rank test across the non-missing levels of each factor, and hazard ratios
# from univariable Cox models and the pre-specified multivariable model, each row naming its
# comparison as for the odds ratios. Every Cox model is checked for proportional hazards (the
# test is named under each table; "PH test p"); where the check fails the hazard ratio is an
# average over a changing effect and is marked in the Note. Population: all treated subjects.

# %%
for paramcd, title in survival:
    if paramcd not in ttes:
        display(Markdown(f"_{title}: not available in this input._"))
tframe = factors.factor_frame(treated, specs).reset_index(drop=True) if specs else None
for paramcd, (title, tte) in ttes.items():
    curves = factors.km_by_factor(tframe, tte, specs, eff["km_conf_type"], alpha)
    figure = plots_factors.km_grid(curves, ylabel=f"{paramcd} probability", title=f"{title} by factor level",
                                   xlabel=f"Months since {run.time_origin}")
    display(figure)
    plt.close(figure)

# %%
for paramcd, (title, tte) in ttes.items():
    display(Markdown(f"### {title}\n\n**Log-rank tests**"))
    lr = factors.logrank_by_factor(tframe, tte, specs)
    tests.append(("Log-rank test", lr))
    display(factors.logrank_display(lr))
    uni = factors.univariable_cox(tframe, tte, specs, alpha)
    tests.append(("Cox regression, univariable", uni))
    display(Markdown("**Hazard ratios, univariable**"))
    display(factors.ratios_display(uni, "Hazard ratio"))
    display(Markdown(factors.ph_method_text(uni)))
    figure = plots_factors.ratio_forest(uni, "HR", f"Hazard ratio for {paramcd}")
    display(figure)
    plt.close(figure)

# %%
for paramcd, (title, tte) in ttes.items() if chosen else ():
    table, info = factors.multivariable(tframe, specs, chosen, tte=tte, alpha=alpha)
    multi = factors.multivariable_rows(tframe, specs, table, info, "hazard_ratio", alpha)
    tests.append(("Cox regression, multivariable", multi))
    display(Markdown(f"**{title}: hazard ratios, multivariable** ({model_text}): "
                     f"{factors.epv_note(info, cfg['min_events_per_variable'])}"
                     + ("" if not info.get("ph_violated") else
                        f"; proportional hazards doubtful for {md_text(', '.join(info['ph_violated']))}")))
    display(factors.ratios_display(multi, "Hazard ratio"))
    display(Markdown(factors.ph_method_text(multi)))

# %% [markdown]
# ## How many tests were made
#
# Every p-value above is unadjusted. Counted here: every p-value shown in this report (univariable
# and multivariable models, log-rank tests and proportional-hazards checks), by family; a p-value
# that could not be computed ("-") is not a test. With this many tests, some "significant" results
# are expected by chance alone even if no factor matters. *Source: `factors.count_tests`.*

# %%
counts = factors.count_tests(tests)
display(Markdown(factors.chance_text(int(counts.loc["Total", "Tests"]), alpha)))
display(counts)
