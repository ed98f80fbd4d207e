"""The ADaM datasets of a run, derived in dependency order from SDTM and the settings.

One entry point for every caller (``mpm derive``, ``mpm report`` through the QC dry run, a
notebook opened on its own): the same functions, the same order, so every route gives the same
ADaM.
"""

from __future__ import annotations

import pandas as pd

from mpmlib.derive import derive_adae, derive_adex, derive_adqs, derive_adrs, derive_adsl, derive_adtr, derive_adtte

#: The ADaM datasets of a run, in the order they are derived.
ADAM_DATASETS = ("adsl", "adex", "adae", "adrs", "adtte", "adtr", "adqs")


def derive_all(sdtm: dict[str, pd.DataFrame], params: dict) -> dict[str, pd.DataFrame]:
    """Every ADaM dataset of the run, in dependency order (ADSL first)."""
    adsl = derive_adsl(sdtm, params["adsl"], params["data_cutoff"])
    adex = derive_adex(adsl, sdtm.get("ex"), params["adsl"]["study_drugs"], params["adsl"]["ex_missing_end"],
                       params["safety"]["planned_dosing"])
    adae = derive_adae(adsl, sdtm.get("ae"), sdtm.get("suppae"), params["safety"])
    adrs = derive_adrs(adsl, sdtm.get("rs"), params["efficacy"], sdtm.get("cm"))
    adtte = derive_adtte(adsl, adrs, sdtm.get("cm"), params["efficacy"])
    adtr = derive_adtr(adsl, sdtm.get("tu"), sdtm.get("tr"), params["efficacy"]["evaluator"],
                       params["efficacy"]["reference_date"] or "TTEREFDT", sdtm.get("rs"))
    adqs = derive_adqs(adsl, sdtm.get("qs"), params["qol"])
    return {"adsl": adsl, "adex": adex, "adae": adae, "adrs": adrs, "adtte": adtte, "adtr": adtr, "adqs": adqs}
