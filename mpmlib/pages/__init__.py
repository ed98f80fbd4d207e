"""Page sections: what one notebook shows, assembled from analysis results.

One module per report page (:mod:`mpmlib.pages.efficacy` for ``notebooks/20_efficacy`` and so
on). A page module builds the Markdown, figures and tables of its page from
:mod:`mpmlib.analysis`, :mod:`mpmlib.plots`, :mod:`mpmlib.tables` and :mod:`mpmlib.lock`, so the
notebook keeps its narrative, its parameters cell and short calls (every code cell at most 15
lines, no function defined in a notebook). Statistics never live here: a number a page shows is
computed by :mod:`mpmlib.analysis`; text that depends on the settings (a window, an interval,
a confidence level) is written here from the settings the run used, never typed into a notebook.
"""
