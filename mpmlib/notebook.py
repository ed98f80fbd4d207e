"""What every report notebook does first: settings for reproducible output, and the run's data.

Notebooks call :func:`setup` and :func:`load_run`; nothing else hides in notebook state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import io
from .derive import derive_adae, derive_adex, derive_adqs, derive_adrs, derive_adsl, derive_adtr, derive_adtte
from .params import load_params, override_paths

ADAM_DATASETS = ("adsl", "adex", "adae", "adrs", "adtte", "adtr", "adqs")


def setup() -> None:
    """Deterministic figures and readable tables (PNG figures are byte-stable; SVG are not), and
    text from the parameter file or the data shown as written:

    * figures do not read ``$...$`` in a label as TeX math (``text.parse_math`` off: a factor
      label or an AE term with two dollar signs is text, and cannot stop the page with a mathtext
      parse error); no figure of the project uses math text;
    * every DataFrame a notebook displays is pandas' escaped HTML with invisible characters in
      identifiers and values shown as escapes (:func:`mpmlib.tables.frame_html`, e.g. a USUBJID
      ending in a zero-width space reads ``...0003\\u200b``).
    """
    import matplotlib
    import seaborn as sns

    from .tables import frame_html

    sns.set_theme(style="whitegrid", context="notebook")
    matplotlib.rcParams.update({"figure.dpi": 96, "savefig.dpi": 96, "svg.hashsalt": "mpm-h101",
                                "font.family": "DejaVu Sans", "text.parse_math": False})
    pd.set_option("display.max_rows", 5000)          # reviewers see whole tables, never "..."
    pd.set_option("display.min_rows", 5000)
    pd.set_option("display.max_columns", 50)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", None)
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.run_line_magic("matplotlib", "inline")
            shell.run_line_magic("config", "InlineBackend.figure_formats = ['png']")
            shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)
    except ImportError:  # plain Python: nothing to configure
        pass


@dataclass
class Run:
    """One analysis run: its parameters, SDTM and ADaM datasets."""

    params: dict
    sdtm: Mapping[str, pd.DataFrame]
    adam: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def adsl(self) -> pd.DataFrame:
        return self.adam["adsl"]

    def subject_ids(self, usubjid: pd.Series) -> pd.Series:
        """USUBJID for listings, or its masked number when ``report.mask_subject_ids`` is true
        (:func:`mpmlib.tables.subject_ids`: one numbering per run, by rank in ADSL)."""
        from .tables import subject_ids

        return subject_ids(usubjid, self.adam["adsl"]["USUBJID"], self.params["report"]["mask_subject_ids"])

    @property
    def time_origin(self) -> str:
        """What day 1 of every time axis is, in words, from the settings used: "first dose" or
        "randomisation" (``efficacy.reference_date``, else ``adsl.reference_date``; TTEREFDT is
        ADSL's time-to-event origin, i.e. ``adsl.reference_date``)."""
        ref = self.params["efficacy"]["reference_date"]
        if ref in (None, "TTEREFDT"):
            ref = self.params["adsl"]["reference_date"]
        return {"RANDDT": "randomisation"}.get(ref, "first dose")


def load_run(params_file: str, sdtm_dir: str | None = None, out_dir: str | None = None,
             adam_dir: str | None = None) -> Run:
    """Load parameters and SDTM; read ADaM from ``adam_dir`` (what ``mpm report`` derived) or,
    when a notebook is opened on its own, derive it in memory from the same functions.

    SDTM domains are read when first used (:class:`mpmlib.io.SdtmFolder`)."""
    params = override_paths(load_params(params_file), sdtm_dir, out_dir)
    sdtm = io.SdtmFolder(params["sdtm"]["dir"], params["sdtm"]["files"], params["sdtm"].get("max_file_mb"))
    if adam_dir and Path(adam_dir).is_dir():
        adam = {name: pd.read_parquet(Path(adam_dir) / f"{name}.parquet") for name in ADAM_DATASETS}
    else:
        adam = derive_all(sdtm, params)
    return Run(params=params, sdtm=sdtm, adam=adam)


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
