"""The typed settings model: one pydantic v2 model per section of a parameter file.

Choice: pydantic (2.x, already installed through great-expectations) rather than dataclasses,
for ``extra="forbid"`` (an unknown key is refused, never ignored), nested defaults and one
validation step at construction. Each default is held ONCE, here, as the field default, with its
reason and source beside it; ``Settings()`` is every documented default. The checks that give
each key its message naming the file and the key are :mod:`mpmlib.settings.checks`; they run
when a :class:`Settings` is built (:meth:`Settings._merge_and_check`), whether from a parameter
file (:func:`mpmlib.settings.load.load_settings`) or in code (``Settings(efficacy={"alpha": 0.1})``).

Field names are exactly the YAML keys. ``path`` (absolute path of the parameter file) and
``name`` (its stem, the run name) are not YAML keys and are excluded from ``model_dump`` (so the
dump is the parameter values a lock compares).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_serializer, model_validator

from mpmlib.errors import ParamsError
from mpmlib.settings.checks import check_all, merge
from mpmlib.settings.vocabulary import KM_CONF_TYPES  # noqa: F401 (re-exported: settings.model.KM_CONF_TYPES)

#: TRANSITIONAL (issue 15): the old dict's private keys.
_ALIASES = {"_path": "path", "_name": "name"}

Number = int | float           # kept as written (an int stays an int: lock files compare JSON)


class _Section(BaseModel):
    """Base of every section: unknown keys refused; defaults copied, never shared.

    TRANSITIONAL (issue 15): dict-style access (``s["alpha"]``, ``s.get("alpha")``,
    ``s["alpha"] = v``, ``"alpha" in s``, ``keys()``/``items()``, equality with a dict) so code
    written for the old nested dict keeps running; removed once every caller uses attributes.
    """

    model_config = ConfigDict(extra="forbid", validate_default=False)

    # ---- TRANSITIONAL (issue 15): removed once every caller uses attributes -------------------
    def _present(self, key: str) -> bool:
        return key in type(self).model_fields

    def __getitem__(self, key: str):
        key = _ALIASES.get(key, key)
        if not isinstance(key, str) or not self._present(key):
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value) -> None:
        key = _ALIASES.get(key, key)
        if not self._present(key):
            raise KeyError(key)
        current = getattr(self, key)
        if isinstance(current, BaseModel) and isinstance(value, Mapping):
            value = type(current).model_validate(dict(value))
        setattr(self, key, value)

    def get(self, key: str, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key) -> bool:
        key = _ALIASES.get(key, key)
        return isinstance(key, str) and self._present(key)

    def keys(self):
        return [k for k in type(self).model_fields if self._present(k)]

    def items(self):
        return [(k, self[k]) for k in self.keys()]

    def values(self):
        return [self[k] for k in self.keys()]

    def __eq__(self, other):
        if isinstance(other, Mapping) and not isinstance(other, BaseModel):
            return self.model_dump() == dict(other)
        return super().__eq__(other)

    __hash__ = None
    # ---- end TRANSITIONAL --------------------------------------------------------------------


class StudySettings(_Section):
    title: str | None = None
    studyid: str | None = None
    # What the trial tests, in one sentence, for page headers (e.g. "H101 intrapleural injection
    # with a PD-1 inhibitor"); text that describes the study comes from here, never from code,
    # so the same page is right on another trial. null = the title alone.
    description: str | None = None
    # The question the influencing-factors page explores, in the study's words (the demo:
    # reversing resistance to PD-1 inhibitors when H101 is added); null = a generic sentence
    # about baseline factors and the endpoints analysed.
    factors_question: str | None = None


class SdtmSettings(_Section):
    # Folder holding the SDTM files; required in a parameter file (load_settings), resolved
    # against the project root.
    dir: str | None = None
    # Domain -> file name, when a file is not named <domain>.<ext> (e.g. rs: rs_onco.rda).
    files: dict[str, str] = Field(default_factory=dict)
    # Largest domain file read (MB); a larger one is refused before it is read. The largest
    # domain of a 10,000-subject synthetic trial (QS) is 205 MB: 1024 is five times that
    # (mpmlib.sdtm.read, "Bounded resources"). Raise it for a trial that really is larger.
    max_file_mb: Number = 1024


class OutputSettings(_Section):
    dir: str | None = None              # default (load_settings): outputs/<parameter file stem>


class LabBaselineSettings(_Section):
    """Baseline laboratory values and ratios from SDTM LB (mpmlib.derive.adsl.merge_lab_baseline):
    baseline = last non-missing LBSTRESN on or before the first dose (TRTSDT), the ADaM ABLFL rule
    of admiral (derive_var_extreme_flag, mode "last"); SDTM LBBLFL is not used. A file's own
    tests / ratios replace these (give {} for none)."""

    # ADSL variable -> LBTESTCD.
    tests: dict[str, str] = Field(default_factory=lambda: {"NEUTBL": "NEUT", "LYMBL": "LYM", "ALBBL": "ALB",
                                                           "LDHBL": "LDH"})
    # ADSL variable -> [numerator, denominator] LBTESTCD, computed within one sample in one
    # standard unit. NLR = neutrophils / lymphocytes: prognostic in mesothelioma (Kao et al.,
    # Clin Cancer Res 2010;16:5805-13).
    ratios: dict[str, list[str]] = Field(default_factory=lambda: {"NLRBL": ["NEUT", "LYM"]})


class AdslSettings(_Section):
    # Time-to-event origin: first dose of any study drug (single-arm trial; FDA 2018 endpoint
    # guidance uses randomisation in randomised trials -> "RANDDT").
    reference_date: Literal["TRTSDT", "RANDDT"] = "TRTSDT"
    # Study drugs and the EXTRT values that belong to each (ADSL: <CODE>SDT / <CODE>EDT).
    study_drugs: dict[str, list[str]] = Field(default_factory=dict)
    # EX record without EXENDTC: "start" = single-day administration (end = start);
    # "ignore" = not used for the last dose date (admiral ad_adsl.R behaviour).
    ex_missing_end: Literal["start", "ignore"] = "start"
    # ARMCD values of subjects who were not enrolled (SDTMIG 3.3 DM assumptions).
    not_enrolled_armcd: list[str] = Field(default_factory=lambda: ["SCRNFAIL", "NOTASSGN"])
    # ADSL variable -> {source: SUPPDM, qnam: ..., type: text|number}
    covariates: dict[str, Any] = Field(default_factory=dict)
    # Age groups for tables: cut points (years); "<65" / ">=65" by default (ICH E7).
    age_groups: list[Number] = Field(default_factory=lambda: [65])
    lab_baseline: LabBaselineSettings = Field(default_factory=LabBaselineSettings)


class EfficacySettings(_Section):
    """Efficacy (mpmlib.derive.adrs / adtte, mpmlib.analysis.efficacy): RECIST 1.1 and FDA 2018 rules."""

    # RS evaluator whose responses are analysed (RSEVAL); the protocol's primary assessment.
    evaluator: str = "INVESTIGATOR"
    # ADSL date that response windows and time to event count from; null = adsl.reference_date.
    reference_date: Literal["TRTSDT", "RANDDT", "TTEREFDT"] | None = None
    # RECIST 1.1 §4.4: a CR/PR is confirmed by an assessment no less than 4 weeks later.
    confirmation_days: int = 28
    # RECIST 1.1 §4.4: SD must be met at least once no less than 6 weeks after the reference
    # date (the protocol's first scan); admiralonco uses 42 days.
    sd_min_days: int = 42
    # Assessments allowed between a response and its confirmation (admiralonco defaults).
    max_ne_between: int = 1
    max_sd_between: int = 0
    # Partial RSDTC (missing day): last day of the month (admiralonco ad_adrs.R template).
    response_date_imputation: Literal["first", "last"] | None = "last"
    # Denominator of response rates: ADSL flag (efficacy population: treated, measurable disease).
    population: str = "EFFFL"
    # Null response rate for the one-sided exact binomial test of ORR (no worthwhile activity
    # after PD-1 failure; re-challenge with PD-1 alone gives about 5 %).
    orr_null_rate: Number = 0.05
    # Two-sided significance level / 1 - confidence level of every interval (conventional 5 %).
    alpha: Number = 0.05
    # Kaplan-Meier CI transform: log-log (SAS PROC LIFETEST default) or log (R survival) or
    # plain (KM_CONF_TYPES).
    km_conf_type: str = "log-log"
    # Landmark survival estimates reported (months).
    landmark_months: list[Number] = Field(default_factory=lambda: [6, 12])
    # Protocol tumour assessment schedule [from study day, interval in days] and window, for
    # the FDA 2018 "event after two or more missed assessments" censoring rule.
    assessment_schedule: list[list[int]] = Field(default_factory=lambda: [[1, 42], [169, 63]])
    assessment_window_days: int = 7
    missed_assessments: int | None = 2
    # FDA 2018: censor PFS at the last adequate assessment before new anticancer therapy (CM).
    new_therapy_censoring: bool = True
    new_therapy_cmcat: list[str] = Field(default_factory=lambda: ["SUBSEQUENT ANTI-CANCER THERAPY"])
    # Responders for duration of response: CRSP (confirmed) or RSP (unconfirmed).
    dor_response: Literal["CRSP", "RSP"] = "CRSP"


class SafetySettings(_Section):
    """Safety (mpmlib.derive.adae, mpmlib.analysis.safety)."""

    # End of the treatment-emergent window: last dose of this study drug code (protocol:
    # "through 30 (+7) days after the last administration of H101"); null = last dose of any
    # study drug (TRTEDT). window_days null = no end window (the CDISC pilot's rule).
    window_anchor: str | None = None
    window_days: int | None = 30
    # The protocol's "+7": days allowed beyond window_days (the window is window_days + grace_days).
    grace_days: int | None = 7
    # Second end of the window: last dose of ANY study drug + this many days (ICH E9-style
    # "30 days after the last dose of study treatment"). The window ends at the LATER of the
    # two ends, so AEs while a subject still receives another drug (the PD-1 inhibitor after
    # the last H101 dose) stay treatment-emergent. null = not applied.
    window_any_drug_days: int | None = 30
    # Immune-related AEs: sensitivity window, last dose of any study drug + this many days
    # (irAEs of PD-1 inhibitors may start months after the last dose; 90 days is the usual
    # immunotherapy reporting period). null = no sensitivity analysis.
    immune_window_days: int | None = 90
    # Relationship to each study drug: {CODE: {qnam: SUPPAE QNAM}} or {CODE: {variable: AEREL}}.
    relationship: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Immune-related AE flag: {qnam: SUPPAE QNAM} (Y/N), or null when not collected.
    immune_related: dict[str, str] | None = None
    # Relationship values that count as related (the rest, e.g. NOT RELATED, UNLIKELY, REMOTE,
    # NONE, do not).
    related_values: list[str] = Field(default_factory=lambda: [
        "RELATED", "POSSIBLE", "PROBABLE", "DEFINITE", "POSSIBLY RELATED", "PROBABLY RELATED", "DEFINITELY RELATED"])
    # AEACN values that mean the AE led to discontinuation of study treatment.
    discontinuation_acn: list[str] = Field(default_factory=lambda: ["DRUG WITHDRAWN"])
    # Table columns: actual (TRT01A) or planned (TRT01P) treatment; the population flag.
    by: Literal["TRT01A", "TRT01P"] = "TRT01A"
    population: str = "SAFFL"
    # Most frequent TEAEs shown in the bar chart.
    top_terms: int = 15
    # Planned dose per administration and interval, for relative dose intensity in ADEX:
    # {CODE: {dose: 240, interval_days: 21}} (protocol schedule; drugs not listed get no RDI).
    planned_dosing: dict[str, dict[str, Number]] = Field(default_factory=dict)


class QolSettings(_Section):
    """Quality of life (mpmlib.derive.adqs, mpmlib.analysis.qol): EORTC QLQ-C30."""

    # Analysis visits: every interval_weeks weeks (target study day 7w + 1) +- window_days;
    # the protocol's questionnaire schedule follows the q6w tumour assessments.
    interval_weeks: Number = 6
    window_days: Number = 14
    # Clinically meaningful change (points): Osoba et al., J Clin Oncol 1998;16:139-144.
    meaningful_change: Number = 10
    # Visits with fewer observations are left out of the mixed model.
    min_n_model: Number = 5
    # By-visit summaries (tables and figures): no confidence interval for fewer observations.
    min_n_ci: Number = 3
    # Scales shown in figures, the model and time to deterioration (all 15 + SUMSC in tables).
    key_scales: list[str] = Field(default_factory=lambda: ["QL2", "PF2", "RF2", "FA", "DY", "PA", "SUMSC"])
    population: str = "SAFFL"
    # Questionnaires are expected until: "progression" (the protocol: at each tumour
    # assessment up to the first PD; death / last contact / cut-off end it earlier) or "study".
    expected_until: Literal["progression", "study"] = "progression"


class FactorSpec(_Section):
    """One influencing factor: an ADSL variable, its label and kind. Continuous factors are
    analysed per ``unit`` and at the pre-specified ``cuts``; ``map`` pools or relabels levels;
    ``reference`` is the comparison level. Only the keys given are dumped (a lock holds the
    factor as written)."""

    var: str
    label: str
    kind: Literal["categorical", "continuous"]
    reference: Any = None
    map: dict[Any, Any] | None = None
    unit: Number = 1
    cuts: list[Number] = Field(default_factory=list)

    def _present(self, key: str) -> bool:   # TRANSITIONAL (issue 15): a key not given is absent
        return key in type(self).model_fields and key in self.model_fields_set

    def keys(self):                         # TRANSITIONAL (issue 15)
        return [k for k in type(self).model_fields if self._present(k)]

    @model_serializer(mode="wrap")
    def _as_written(self, handler):
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}


def _default_factors() -> list[FactorSpec]:
    return [FactorSpec.model_validate(spec) for spec in [
        {"var": "HISTOL", "label": "Histology", "kind": "categorical", "reference": "Epithelioid",
         "map": {"EPITHELIOID": "Epithelioid", "BIPHASIC": "Non-epithelioid", "SARCOMATOID": "Non-epithelioid"}},
        {"var": "ECOGBL", "label": "ECOG performance status", "kind": "categorical", "reference": "0"},
        {"var": "PDL1TPS", "label": "PD-L1 tumour proportion score (%)", "kind": "continuous", "unit": 10,
         "cuts": [1, 50]},
        {"var": "PD1RES", "label": "PD-1 resistance", "kind": "categorical", "reference": "Primary",
         "map": {"PRIMARY": "Primary", "ACQUIRED": "Acquired"}},
        {"var": "PRIORLN", "label": "Prior systemic lines", "kind": "continuous", "unit": 1, "cuts": [2]},
        {"var": "H101RTE", "label": "H101 route", "kind": "categorical", "reference": "Intrapleural",
         "map": {"INTRAPLEURAL": "Intrapleural", "INTRATUMOR": "Intratumoral"}},
        {"var": "AGE", "label": "Age (years)", "kind": "continuous", "unit": 10, "cuts": [65]},
        {"var": "SEX", "label": "Sex", "kind": "categorical", "reference": "Male",
         "map": {"F": "Female", "M": "Male"}},
        # NLR < 5 vs >= 5: the cut-point of Kao et al., Clin Cancer Res 2010;16:5805-13 (173 MM
        # patients on systemic therapy; HR 2.7 for NLR >= 5), used in later MPM studies.
        {"var": "NLRBL", "label": "Neutrophil-to-lymphocyte ratio", "kind": "continuous", "unit": 1, "cuts": [5]},
    ]]


class FactorsSettings(_Section):
    """Influencing factors (mpmlib.analysis.factors, mpmlib.analysis.models): ADSL variables
    explored against response, PFS and OS. Factors not in ADSL are listed as absent. Baseline
    laboratory ratios (e.g. NLRBL) enter when ADSL has them."""

    variables: list[FactorSpec] = Field(default_factory=_default_factors)
    # Pre-specified multivariable model (few factors: ~40 subjects support very few).
    multivariable: list[str] = Field(default_factory=lambda: ["HISTOL", "ECOGBL", "PD1RES"])
    # Rule of thumb (Peduzzi et al. 1996): at least 10 events per model parameter.
    min_events_per_variable: Number = 10


class ReportSettings(_Section):
    # Notebooks run, in this order (notebooks/<name>.py).
    notebooks: list[str] = Field(default_factory=lambda: [
        "00_data_overview", "10_data_qc", "20_efficacy", "30_safety", "40_qol", "50_influencing_factors"])
    # Listings show USUBJID (a study code, not a direct identifier) so a data manager can
    # find the record; true replaces it by "Subject 001".. (rank in ADSL) for external
    # circulation (mpmlib.tables.format.subject_ids).
    mask_subject_ids: bool = False


class QcSettings(_Section):
    """Data QC (mpmlib.qc.gate): rule ids downgraded from critical to warning, for exploration
    only. THE rule "no QC downgrade in a locked run" is :meth:`locked_refusal`; it is enforced
    here (a locked run, ``locked: true``, with a downgrade is refused when the settings are
    built) and by mpmlib.lock through the same method for a run locked by a lock file."""

    downgrade: list[str] = Field(default_factory=list)
    locked: bool = False

    def locked_refusal(self, locked: bool | None = None) -> str | None:
        """Why these settings cannot be used in a locked run, or None.

        Parameters
        ----------
        locked : bool, optional
            Whether the run is locked; None = ``self.locked`` (``qc: {locked: true}``). mpmlib.lock
            passes True for a run with a lock file.

        Returns
        -------
        str or None
            ``"qc.downgrade (X-007) is not allowed in a locked run"`` when the run is locked and
            downgrades a rule (a locked analysis uses every rule as written), else None.
        """
        locked = self.locked if locked is None else locked
        if locked and self.downgrade:
            return f"qc.downgrade ({', '.join(map(str, self.downgrade))}) is not allowed in a locked run"
        return None

    @model_validator(mode="after")
    def _no_downgrade_in_a_locked_run(self, info: ValidationInfo):
        refusal = self.locked_refusal()
        if refusal:
            where = (info.context or {}).get("where", "settings")
            raise ParamsError(f"{where}: {refusal} (qc.locked: true)")
        return self


SECTIONS: dict[str, type[_Section]] = {
    "study": StudySettings, "sdtm": SdtmSettings, "output": OutputSettings, "adsl": AdslSettings,
    "efficacy": EfficacySettings, "safety": SafetySettings, "qol": QolSettings, "factors": FactorsSettings,
    "report": ReportSettings, "qc": QcSettings}


class Settings(_Section):
    """Every setting of a run, one sub-model per parameter-file section.

    ``Settings()`` holds every documented default. Build changed settings with the YAML shape:
    ``Settings(efficacy={"alpha": 0.1})`` (merged into the defaults and checked like a file), or
    ``settings.updated(safety={"grace_days": 0})`` for a checked copy of existing settings.

    Examples
    --------
    >>> s = Settings(efficacy={"alpha": 0.1})
    >>> s.efficacy.alpha, s.efficacy.confirmation_days, s.safety.grace_days
    (0.1, 28, 7)
    """

    study: StudySettings = Field(default_factory=StudySettings)
    sdtm: SdtmSettings = Field(default_factory=SdtmSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    # ISO date (YYYY-MM-DD); default: latest complete date in the data.
    data_cutoff: str | None = None
    adsl: AdslSettings = Field(default_factory=AdslSettings)
    efficacy: EfficacySettings = Field(default_factory=EfficacySettings)
    safety: SafetySettings = Field(default_factory=SafetySettings)
    qol: QolSettings = Field(default_factory=QolSettings)
    factors: FactorsSettings = Field(default_factory=FactorsSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    qc: QcSettings = Field(default_factory=QcSettings)
    # Not YAML keys (excluded from dumps: the dump is what a lock compares).
    path: str | None = Field(default=None, exclude=True)     # absolute parameter file path
    name: str | None = Field(default=None, exclude=True)     # its stem: the run name

    @model_validator(mode="before")
    @classmethod
    def _merge_and_check(cls, data: Any, info: ValidationInfo):
        """Merge the given values into the defaults (refusing unknown keys, naming them) and
        run every check (mpmlib.settings.checks), before the fields are typed, so each error
        names the file and the key in words."""
        if isinstance(data, BaseModel):
            data = {**data.model_dump(), "path": getattr(data, "path", None), "name": getattr(data, "name", None)}
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        extras = {k: data.pop(k) for k in ("path", "name") if k in data}
        where = (info.context or {}).get("where") or extras.get("path") or "settings"
        values = {k: (v.model_dump() if isinstance(v, BaseModel) else v) for k, v in data.items()}
        unknown = sorted(set(values) - set(SECTIONS) - {"data_cutoff"})
        if unknown:
            raise ParamsError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                              f"allowed: {', '.join(sorted([*SECTIONS, 'data_cutoff']))}")
        merged = merge(default_values(), values, str(where))
        check_all(merged, str(where))
        return {**merged, **extras}

    def to_dict(self) -> dict:
        """The parameter values as plain data (no ``path``/``name``): what a lock compares."""
        return self.model_dump()

    def updated(self, **sections) -> "Settings":
        """A checked copy with some values changed, given in the YAML shape
        (``settings.updated(efficacy={"alpha": 0.1})``); nested sections merge, free-form
        mappings are replaced."""
        values = merge(self.model_dump(), sections, str(self.path or "settings"))
        return Settings.model_validate({**values, "path": self.path, "name": self.name},
                                       context={"where": str(self.path or "settings")})

    # ---- TRANSITIONAL (issue 15): the old dict's keys, _path / _name; removed with the shim ---
    def keys(self):
        return [*(k for k in type(self).model_fields if k not in ("path", "name")), "_path", "_name"]

    def items(self):
        """Plain values (as the old dict held them), so ``json.dumps`` of them still works."""
        dumped = self.model_dump()
        return [(k, dumped[k]) if k in dumped else (k, self[k]) for k in self.keys()]

    def __contains__(self, key) -> bool:
        return key in self.keys()
    # ---- end TRANSITIONAL --------------------------------------------------------------------


def default_values() -> dict:
    """Every default as plain data (the fields' defaults; nothing held twice)."""
    return copy.deepcopy(_DEFAULT_VALUES)


_DEFAULT_VALUES = {name: section().model_dump() for name, section in SECTIONS.items()}
_DEFAULT_VALUES = {**{k: _DEFAULT_VALUES[k] for k in ("study", "sdtm", "output")}, "data_cutoff": None,
                   **{k: _DEFAULT_VALUES[k] for k in SECTIONS if k not in ("study", "sdtm", "output")}}
