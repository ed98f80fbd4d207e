"""Display tables and the text of pages: analysis results in, formatted DataFrames and escaped text out.

* :mod:`mpmlib.tables.format`: rounding, estimates, n (%), escaping text for Markdown and HTML;
* :mod:`mpmlib.tables.summary`: population, disposition, exposure and summary tables, listings;
* :mod:`mpmlib.tables.qc`: the data-QC page's tables.

Every public name is importable from :mod:`mpmlib.tables` (``tables.n_pct``).
"""

from mpmlib.tables.format import (  # noqa: F401
    MISSING, ci_level, fmt_estimate, frame_html, html_table, html_text, md_code, md_text, n_pct, round_half_up, subject_ids, visible_frame, visible_series)
from mpmlib.tables.summary import (  # noqa: F401
    LISTING_MAX_ROWS, column_header, column_populations, continuous_summary, disposition_counts, disposition_table, exposure_footnote, exposure_table, listing_page, population_table, summary_table)
from mpmlib.tables.qc import (  # noqa: F401
    DOWNGRADED_SEVERITY, qc_details_table, qc_failed_table, qc_rules_table, qc_verdict_html)
