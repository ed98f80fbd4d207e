"""What every report notebook does first: settings for reproducible output, and the run's data.

Notebooks call :func:`setup` and :func:`load_run`; nothing else hides in notebook state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mpmlib.sdtm import read as io
from mpmlib.derive.pipeline import ADAM_DATASETS, derive_all
from mpmlib.settings.load import load_params, override_paths

def setup() -> None:
    """Deterministic figures and readable tables (PNG figures are byte-stable; SVG are not), and
    text from the parameter file or the data shown as written:

    * figures do not read ``$...$`` in a label as TeX math (``text.parse_math`` off: a factor
      label or an AE term with two dollar signs is text, and cannot stop the page with a mathtext
      parse error); no figure of the project uses math text;
    * every DataFrame a notebook displays is pandas' escaped HTML with invisible characters in
      identifiers and values shown as escapes (:func:`mpmlib.tables.format.frame_html`, e.g. a USUBJID
      ending in a zero-width space reads ``...0003\\u200b``).
    """
    import matplotlib
    import seaborn as sns

    from mpmlib.tables.format import frame_html

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
        (:func:`mpmlib.tables.format.subject_ids`: one numbering per run, by rank in ADSL)."""
        from mpmlib.tables.format import subject_ids

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

    SDTM domains are read when first used (:class:`mpmlib.sdtm.read.SdtmFolder`)."""
    params = override_paths(load_params(params_file), sdtm_dir, out_dir)
    sdtm = io.SdtmFolder(params["sdtm"]["dir"], params["sdtm"]["files"], params["sdtm"].get("max_file_mb"))
    if adam_dir and Path(adam_dir).is_dir():
        adam = {name: pd.read_parquet(Path(adam_dir) / f"{name}.parquet") for name in ADAM_DATASETS}
    else:
        adam = derive_all(sdtm, params)
    return Run(params=params, sdtm=sdtm, adam=adam)
