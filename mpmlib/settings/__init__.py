"""Settings of a run: the typed model (:mod:`mpmlib.settings.model`), its checks
(:mod:`mpmlib.settings.checks`) and the parameter-file loader (:mod:`mpmlib.settings.load`)."""

from mpmlib.settings.load import PROJECT_ROOT, load_settings, override_paths, resolve_path
from mpmlib.settings.model import (KM_CONF_TYPES, AdslSettings, EfficacySettings, FactorSpec, FactorsSettings,
                                   LabBaselineSettings, OutputSettings, QcSettings, QolSettings, ReportSettings,
                                   SafetySettings, SdtmSettings, Settings, StudySettings)

__all__ = ["PROJECT_ROOT", "KM_CONF_TYPES", "Settings", "StudySettings", "SdtmSettings", "OutputSettings",
           "AdslSettings", "LabBaselineSettings", "EfficacySettings", "SafetySettings", "QolSettings",
           "FactorsSettings", "FactorSpec", "ReportSettings", "QcSettings", "load_settings", "override_paths",
           "resolve_path"]
