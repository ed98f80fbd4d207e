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
# # Influencing factors: baseline characteristics and the reversal of PD-1 resistance
#
# **An exploratory analysis.** The protocol asks which factors go with reversing resistance to PD-1
# inhibitors when H101 is added. With a few dozen patients, this can only *generate hypotheses*:
# confidence intervals are wide, many tests are made (their number is given below, and no p-value is
# adjusted for it), and a factor that looks important here may not be. No factor was chosen after
# looking at the data: the list, the cut-points and the multivariable model are fixed in the
# parameter file. *Source: `mpmlib.factors` (subgroups and models), `mpmlib.models` (logistic,
# Firth, Cox, log-rank).*
#
# Baseline laboratory factors come from SDTM LB through ADSL when the input has them: the
# neutrophil-to-lymphocyte ratio (`NLRBL`, neutrophils / lymphocytes of the last sample on or
# before the first dose, `mpmlib.derive.adsl.merge_lab_baseline`) is analysed per unit and at the
# pre-specified cut-point NLR < 5 vs >= 5 (Kao et al., *Clin Cancer Res* 2010;16:5805-13).

# %% tags=["parameters"]
params_file = "../params/demo.yaml"  # analysis parameters (input folder, settings)
sdtm_dir = None  # optional: another SDTM folder (replaces the parameter file's input)
out_dir = None  # optional: output root
adam_dir = None  # ADaM folder written by mpm report (None: derive in memory)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from mpmlib import efficacy, factors, plots_factors
from mpmlib.notebook import load_run, setup
from mpmlib.tables import fmt_estimate

setup()
run = load_run(params_file, sdtm_dir, out_dir, adam_dir)
adsl, adrs, adtte = run.adam["adsl"], run.adam["adrs"], run.adam["adtte"]
cfg, eff = run.params["factors"], run.params["efficacy"]
specs = [s for s in cfg["variables"] if s["var"] in adsl.columns and adsl[s["var"]].notna().any()]
absent = [s["label"] for s in cfg["variables"] if s not in specs]
labels = {s["var"]: s["label"] for s in specs}
chosen = [v for v in cfg["multivariable"] if v in labels]
responders = efficacy.population(adsl, eff["population"])
treated = efficacy.population(adsl, "SAFFL")
has_rs = bool(adrs["PARAMCD"].eq("OVR").any())
tests = []  # (family, result table): every p-value shown, counted at the end
display(Markdown(
    f"**Factors analysed:** {', '.join(labels.values()) or 'none'}  \n"
    + (f"**Not in this input (not analysed):** {', '.join(absent)}  \n" if absent else "")
    + f"**Pre-specified multivariable model:** {', '.join(labels[v] for v in chosen) or 'none'}  \n"
    f"**Response population:** N = {len(responders)}; **survival population (treated):** N = {len(treated)}"
))


# %% [markdown]
# ## Confirmed objective response and disease control by factor
#
# Rate with an exact (Clopper–Pearson) 95% CI in each subgroup, for confirmed objective response
# (CR or PR) and disease control (CR, PR or SD). All subjects of the response population are
# counted; a "Missing" row holds those without the factor. The dashed line is the overall rate.

# %%
if has_rs and specs:
    frame = factors.factor_frame(responders, specs).reset_index(drop=True)
    best = efficacy.best_response_by_subject(adrs, responders, "CBOR")
    outcomes = {"Objective response (confirmed)": best.isin(efficacy.ORR_CODES).astype(int).reset_index(drop=True),
                "Disease control": best.isin(efficacy.DCR_CODES).astype(int).reset_index(drop=True)}
    for name, outcome in outcomes.items():
        rates = factors.subgroup_rates(frame, outcome, specs)
        display(Markdown(f"**{name}**"))
        figure = plots_factors.forest_plot(factors.rate_forest_rows(rates), xlabel=f"{name}: rate (%)",
                                           reference=outcome.mean(), log_scale=False, percent=True, label_right="Events/n")
        display(figure)
        plt.close(figure)
        display(factors.rates_display(rates))
else:
    display(Markdown("_Not available: no tumour response data (RS) or no factors in this input._"))

# %% [markdown]
# ### Odds ratios for response
#
# Univariable logistic regression for each factor (continuous factors both per unit and at their
# pre-specified categories). When a factor separates the outcome (for example, no responder in one
# level) ordinary maximum likelihood has no finite estimate; Firth's penalized likelihood is used
# instead (marked "Firth" in the tables and "F" in the forest plot, with profile-likelihood CIs), as
# is usual with small samples. The Note column gives every reason that applies (why Firth was used,
# a term that could not be estimated). The multivariable model uses complete cases: the number of
# subjects left out is given with its events per variable.

# %%
if has_rs and specs:
    for name, outcome in outcomes.items():
        uni = factors.univariable_logistic(frame, outcome, specs)
        tests.append(("Logistic regression, univariable", uni))
        display(Markdown(f"**{name}: univariable**"))
        display(factors.ratios_display(uni, "Odds ratio"))
        figure = plots_factors.forest_plot(factors.ratio_forest_rows(uni), xlabel=f"Odds ratio, {name.lower()} (log scale)",
                                           label_right="OR (95% CI)", footnote=factors.firth_footnote(uni))
        display(figure)
        plt.close(figure)

# %%
if has_rs and specs and chosen:
    for name, outcome in outcomes.items():
        table, info = factors.multivariable(frame, specs, chosen, outcome=outcome)
        multi = factors.multivariable_rows(labels, table, info, "odds_ratio")
        tests.append(("Logistic regression, multivariable", multi))
        display(Markdown(f"**{name}: multivariable** ({', '.join(labels[v] for v in chosen)}): "
                         f"{factors.epv_note(info, cfg['min_events_per_variable'])}"))
        display(factors.ratios_display(multi, "Odds ratio"))

# %% [markdown]
# ## Progression-free and overall survival by factor
#
# Kaplan–Meier curves by factor level (continuous factors at their pre-specified cut-points; the
# legend gives the number of subjects per level, "Missing" included so every treated subject is
# shown), then the log-rank test across the non-missing levels of each factor, and hazard ratios
# from univariable Cox models and the pre-specified multivariable model. Every Cox model is checked
# for proportional hazards (Schoenfeld residuals, rank time; "PH test p"); where the check fails the
# hazard ratio is an average over a changing effect and is marked. Population: all treated subjects.

# %%
survival = [("PFS", "Progression-free survival")] if has_rs else []
survival.append(("OS", "Overall survival"))
tframe = factors.factor_frame(treated, specs).reset_index(drop=True) if specs else None
ttes = {}
for paramcd, title in survival:
    tte = efficacy.tte_data(adtte, treated, paramcd).set_index("USUBJID").reindex(treated["USUBJID"]).reset_index()
    if specs and tte["AVAL"].notna().any():
        ttes[paramcd] = (title, tte)
    else:
        display(Markdown(f"_{title}: not available in this input._"))

# %%
for paramcd, (title, tte) in ttes.items():
    curves = factors.km_by_factor(tframe, tte, specs, eff["km_conf_type"], eff["alpha"])
    figure = plots_factors.km_grid(curves, ylabel=f"{paramcd} probability", title=f"{title} by factor level")
    display(figure)
    plt.close(figure)

# %%
for paramcd, (title, tte) in ttes.items():
    display(Markdown(f"### {title}\n\n**Log-rank tests**"))
    lr = factors.logrank_by_factor(tframe, tte, specs)
    tests.append(("Log-rank test", lr))
    display(factors.logrank_display(lr))
    uni = factors.univariable_cox(tframe, tte, specs)
    tests.append(("Cox regression, univariable", uni))
    display(Markdown("**Hazard ratios, univariable**"))
    display(factors.ratios_display(uni, "Hazard ratio"))
    figure = plots_factors.forest_plot(factors.ratio_forest_rows(uni), xlabel=f"Hazard ratio for {paramcd} (log scale)",
                                       label_right="HR (95% CI)")
    display(figure)
    plt.close(figure)

# %%
for paramcd, (title, tte) in ttes.items():
    if not chosen:
        break
    table, info = factors.multivariable(tframe, specs, chosen, tte=tte)
    multi = factors.multivariable_rows(labels, table, info, "hazard_ratio")
    tests.append(("Cox regression, multivariable", multi))
    display(Markdown(f"**{title}: hazard ratios, multivariable** ({', '.join(labels[v] for v in chosen)}): "
                     f"{factors.epv_note(info, cfg['min_events_per_variable'])}"
                     + ("" if not info.get("ph_violated") else
                        f"; proportional hazards doubtful for {', '.join(info['ph_violated'])}")))
    display(factors.ratios_display(multi, "Hazard ratio"))

# %% [markdown]
# ## How many tests were made
#
# Every p-value above is unadjusted. Counted here: every p-value shown in this report (univariable
# and multivariable models, log-rank tests and proportional-hazards checks), by family; a p-value
# that could not be computed ("-") is not a test. With this many tests, some "significant" results
# are expected by chance alone even if no factor matters. *Source: `factors.count_tests`.*

# %%
counts = factors.count_tests(tests)
n_tests = int(counts.loc["Total", "Tests"])
display(Markdown(f"**Hypothesis tests in this report:** {n_tests}. At a 5% level, about "
                 f"{fmt_estimate(0.05 * n_tests)} would be expected to reach p < 0.05 by chance alone."))
display(counts)
