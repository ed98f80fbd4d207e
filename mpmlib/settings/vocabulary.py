"""Fixed vocabularies of the settings, shared by the model and its checks (no imports of either)."""

from __future__ import annotations

#: Kaplan-Meier confidence-interval transforms (mpmlib.analysis.stats.km_confidence): log-log
#: (SAS PROC LIFETEST default), log (R survival default), plain. Defined here, the lower layer;
#: the analysis imports it.
KM_CONF_TYPES = ("log-log", "log", "plain")

#: Mappings whose keys are the user's own names: a parameter file's mapping replaces the default
#: (never merged key by key, never checked for unknown keys).
FREE_FORM = ("adsl.study_drugs", "adsl.covariates", "sdtm.files", "safety.relationship",
             "safety.planned_dosing", "adsl.lab_baseline.tests", "adsl.lab_baseline.ratios")
