"""The synthetic demo trial H101-MPM-201 (``mpm synth``; model and sources in docs/synthetic-trial.md).

``from mpmlib.synth import generate_trial, write_sdtm_csv``. The orchestration and the random
streams are in :mod:`mpmlib.synth.trial`; what is simulated is in one module per subject matter
(listed in the docstring of :mod:`mpmlib.synth.trial`).
"""

from mpmlib.synth.study import DATA_CUTOFF, STUDYID
from mpmlib.synth.trial import generate_trial, write_sdtm_csv

__all__ = ["DATA_CUTOFF", "STUDYID", "generate_trial", "write_sdtm_csv"]
