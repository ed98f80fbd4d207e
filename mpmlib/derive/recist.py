"""RECIST 1.1 thresholds, held once and shared by the derivations, the figures and the generator.

Source: Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid
tumours: revised RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-47. Each constant names
the section it comes from. Users: :mod:`mpmlib.derive.adtr` (target response re-derived from TR),
:mod:`mpmlib.derive.adrs` (confirmation interval), :mod:`mpmlib.plots.efficacy` (the dashed
threshold lines of the waterfall and spider plots) and :mod:`mpmlib.synth.tumours` (baseline
lesion sizes and the RS responses the synthetic trial computes from its TR).

The values are integers on purpose: the generator compares integer millimetre sums exactly
(``100 * (sum - nadir) >= PD_MIN_INCREASE_PCT * nadir``), and integer constants keep every
derived number (and so every report) unchanged from the literals they replace.
"""

from __future__ import annotations

#: Partial response: at least a 30 % decrease in the sum of diameters of target lesions, taking
#: the baseline sum as reference (§4.3.1).
PR_MIN_DECREASE_PCT = 30

#: Progressive disease: at least a 20 % increase in the sum of diameters of target lesions,
#: taking the smallest sum on study (the nadir, baseline included) as reference (§4.3.1) ...
PD_MIN_INCREASE_PCT = 20

#: ... and the sum must also show an absolute increase of at least 5 mm (§4.3.1).
PD_MIN_INCREASE_MM = 5

#: Measurable lesion: longest diameter at least 10 mm on CT (slice thickness <= 5 mm) (§3.1.1).
MEASURABLE_MIN_MM = 10

#: Pathological lymph node, measurable as a target lesion: short axis at least 15 mm on CT
#: (§3.1.1); nodes are measured and summed by their short axis (§4.3.1).
NODE_MEASURABLE_MIN_MM = 15

#: Normal lymph node: short axis below 10 mm (§3.1.1). Complete response of target lesions needs
#: every target node to have fallen below it (§4.3.1).
NODE_NORMAL_BELOW_MM = 10

#: A target lesion reported as present but "too small to measure" counts 5 mm in the sum (special
#: notes on the assessment of target lesions, §4.3).
TOO_SMALL_TO_MEASURE_MM = 5

#: Confirmation of CR or PR: a repeat assessment no less than 4 weeks (28 days) after the
#: criteria were first met (§4.4, Table 3).
CONFIRMATION_MIN_DAYS = 28
