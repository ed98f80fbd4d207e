"""Sections of the influencing-factors page (``notebooks/50_influencing_factors``): the opening
block (question, caveat, how the factors were chosen, laboratory factors, what is analysed) and
the lock-based factor-list text. "No factor was chosen after looking at the data" is said only
for a locked run whose lock holds this factor list (:func:`locked_factor_list`, rules of
:mod:`mpmlib.lock`). Models and subgroup results come from :mod:`mpmlib.analysis.factors`.
"""

from __future__ import annotations

from mpmlib import lock as locking
from mpmlib.tables.format import md_text


def locked_factor_list(params: dict) -> dict | None:
    """The lock of a locked run whose locked parameters hold this factor list, else None.

    Rule (:mod:`mpmlib.lock`): the run is locked when the lock file beside the parameter file
    exists (``read_lock``) and nothing differs from it (``differences``: inputs, parameters,
    packages); the factor list is locked when the lock's ``parameters.factors`` equals this run's
    (``comparable_parameters``)."""
    found = locking.read_lock(params)
    if found is None or locking.differences(params, found):
        return None
    current = locking.comparable_parameters(params).get("factors")
    return found if found.get("parameters", {}).get("factors") == current else None


def factor_list_text(lock: dict | None) -> str:
    """What the reader may assume about how the factors were chosen: "no factor was chosen after
    looking at the data" only for a locked factor list (:func:`locked_factor_list`), otherwise
    that the list is exploratory."""
    if lock:
        return (f"**Factor list locked.** No factor was chosen after looking at the data: the factors, their "
                f"reference levels and cut-points and the multivariable model are the parameters locked on "
                f"{md_text(lock.get('locked_on'))}, and this run matches the lock.")
    return ("**Factor list exploratory (not locked).** This run has no matching lock, so nothing shows that the "
            "factors, their reference levels and cut-points or the multivariable model were fixed before the data "
            "were seen; read every result as exploratory.")
