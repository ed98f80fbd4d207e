"""mpmlib: analysis library of the H101 + PD-1 inhibitor phase 2 trial in PD-1-resistant MPM.

Data flows one way: SDTM folder -> ``io`` (read) -> validate -> ``derive`` (ADaM) -> analyses ->
``report`` (papermill + nbconvert HTML). Each module holds small functions on DataFrames whose
docstrings state the rule and its source.
"""

__version__ = "0.1.0"
