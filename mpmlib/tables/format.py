"""Numbers and text as a report shows them: rounding, estimates with CIs, n (%), and escaping.

* numbers are rounded half away from zero (as SAS ``ROUND``), not half to even;
* every text from the parameter file or the data is escaped for the page it goes to
  (:func:`md_text` for Markdown cells, :func:`html_text` for HTML, :func:`md_code` for code
  spans), with invisible characters shown as escapes (:mod:`mpmlib.text`);
* listings show USUBJID, or a masked number (:func:`subject_ids`).
"""

from __future__ import annotations

import html
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from mpmlib.text import has_invisible, visible

MISSING = "Missing"


def round_half_up(value: float | Fraction, decimals: int) -> str:
    """Format ``value`` with ``decimals`` places, halves rounded away from zero.

    Exact for fractions (percentages are computed as ``Fraction(100 * n, N)``); floats are
    taken at their shortest repr, e.g. 2.675 -> "2.68" (Python's ``round`` gives 2.67).
    """
    if isinstance(value, Fraction):
        dec = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        dec = Decimal(repr(float(value)))
    quantum = Decimal(1).scaleb(-decimals)
    text = str(dec.quantize(quantum, rounding=ROUND_HALF_UP))
    return "0" + text[2:] if text.startswith("-0") and Decimal(text) == 0 else text


def ci_level(alpha: float) -> str:
    """The two-sided confidence level of ``alpha`` as printed on every page: 100 (1 - alpha) % to
    at most two decimals, trailing zeros dropped, computed in decimal so 0.1 never prints as
    89.99...% (0.05 -> "95%", 0.1 -> "90%", 0.025 -> "97.5%"). The one label rule of the
    efficacy, QoL and factors pages (no hard-coded "95%" where alpha is a parameter).

    >>> [ci_level(a) for a in (0.05, 0.1, 0.025)]
    ['95%', '90%', '97.5%']
    """
    if not 0 < float(alpha) < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    level = ((Decimal(1) - Decimal(str(alpha))) * 100).quantize(Decimal("0.01")).normalize()
    return f"{level:f}%"


def fmt_estimate(value, decimals: int = 1, missing: str = "NE") -> str:
    """An estimate rounded half up, or ``missing`` ("NE", not estimable) when it is None, NaN or
    infinite (a median not reached, a CI limit that does not exist)."""
    if value is None or not np.isfinite(value):
        return missing
    return round_half_up(value, decimals)


def n_pct(n: int, denominator: int, decimals: int = 1) -> str:
    """``"n (p%)"`` with p = 100 n / N rounded half up; ``"0"`` when n is 0."""
    if n == 0 or denominator == 0:
        return "0"
    return f"{n} ({round_half_up(Fraction(100 * n, denominator), decimals)})"


_TEXT_LISTING_STYLE = ("<style>.jp-RenderedHTMLCommon table.mpm-text tbody td "
                       "{ text-align: left !important; white-space: normal; }</style>")


def html_table(df: pd.DataFrame, text: bool = False) -> str:
    """A listing without the row numbers pandas would show (deterministic HTML); ``text``: a
    listing of text (rules, records), left-aligned and wrapped. Every cell is HTML-escaped and
    shows invisible characters as escapes (:func:`visible_frame`: a USUBJID with a zero-width
    space reads ``...0003\\u200b``)."""
    classes = "mpm-text" if text else "dataframe"          # pandas adds "dataframe" itself
    table = visible_frame(df).to_html(index=False, border=0, classes=classes, na_rep="", escape=True)
    return _TEXT_LISTING_STYLE + table if text else table


def subject_ids(usubjid: pd.Series, all_subjects: pd.Series, mask: bool = False) -> pd.Series:
    """Subject identifiers for a listing (parameter ``report.mask_subject_ids``).

    Listings carry USUBJID, the study's own subject code (not a direct identifier: CDISC SDTMIG
    3.3 §2.2.4), so a data manager can find the record. With ``mask`` each USUBJID is replaced by
    ``"Subject 001"``, ``"Subject 002"``, ... numbered by its rank among the sorted unique
    ``all_subjects`` (ADSL USUBJID), so the same subject has the same number on every page of a
    run and the numbers do not depend on which listing is shown. A USUBJID missing from
    ``all_subjects`` is masked as ``"Subject ?"``, never shown. Shown USUBJIDs have invisible
    characters escaped (:func:`mpmlib.text.visible`), so two IDs that differ only by one do not
    look the same.

    >>> ids = pd.Series(["S-2", "S-1"])
    >>> subject_ids(ids, pd.Series(["S-1", "S-2", "S-3"]), mask=True).tolist()
    ['Subject 002', 'Subject 001']
    >>> subject_ids(ids, pd.Series(["S-1", "S-2"])).tolist()
    ['S-2', 'S-1']
    >>> subject_ids(pd.Series(["S-1\\u200b"]), pd.Series(["S-1"])).tolist()
    ['S-1\\\\u200b']
    """
    values = pd.Series(usubjid).astype(object)
    if not mask:
        return visible_series(values.where(values.isna(), values.astype(str)))
    ranks = {sid: i for i, sid in enumerate(sorted(pd.Series(all_subjects).dropna().astype(str).unique()), start=1)}
    width = max(3, len(str(len(ranks))))
    return values.map(lambda v: f"Subject {ranks[str(v)]:0{width}d}" if str(v) in ranks else "Subject ?")


#: Markdown's inline specials (emphasis, links and images, code, headings, tables, strike-through,
#: TeX math ``$``) and ``@``, without which no e-mail autolink forms; each is backslash-escaped
#: (CommonMark 0.31, section 2.4: any ASCII punctuation character may be backslash-escaped and
#: then shows as itself).
_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#|~$@"})
_LINE_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
_AUTOLINK = re.compile(r"(?i)(?<=\bwww)\.|:(?=//)")       # GFM extended autolinks: www. and scheme://
_LIST_START = re.compile(r"^(?:(?=[-+=])|\d+(?=[.)]))")    # bullet or ordered list item, setext rule


def html_text(value) -> str:
    """Text from the parameter file or the data for an HTML page: line breaks as spaces (as HTML
    shows them), other invisible characters shown as escapes (:func:`mpmlib.text.visible`), then
    HTML-escaped, quotes included (OWASP Cross Site Scripting Prevention Cheat Sheet, rule 1:
    HTML-encode before inserting untrusted data into element content or a quoted attribute).

    >>> html_text('<img src=x onerror="alert(1)">\\u200b')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;\\\\u200b'
    """
    return html.escape(visible(_LINE_BREAKS.sub(" ", "" if value is None else str(value))), quote=True)


def md_text(value) -> str:
    """Text from the parameter file or the data, safe inside ``IPython.display.Markdown`` and
    shown as written: one line (line breaks become spaces, so text cannot start a heading, list or
    table row), invisible characters as escapes (:func:`mpmlib.text.visible`), HTML-escaped
    (``<script>`` shows as text; :func:`html_text`), and Markdown's specials backslash-escaped, so
    that it makes no emphasis, link, image, autolink (``http://``, ``www.``, an e-mail address),
    code span, heading, table, math or list (CommonMark 0.31 and GFM 0.29: links and images need
    ``[``, autolinks ``<`` or ``://`` or ``@`` or ``www.``, lists a leading ``-``, ``+`` or ``1.``).
    nbconvert (mistune) and JupyterLab (marked) render the escapes as the characters.

    >>> md_text("<b>H101_*trial*</b>")
    '&lt;b&gt;H101\\\\_\\\\*trial\\\\*&lt;/b&gt;'
    >>> md_text("[x](javascript:alert(1)) www.x.org http://y")
    '\\\\[x\\\\](javascript:alert(1)) www\\\\.x.org http\\\\://y'
    >>> md_text("- a\\n# b"), md_text("1. a")
    ('\\\\- a \\\\# b', '1\\\\. a')
    """
    text = html_text(("" if value is None else str(value)).strip()).strip().translate(_MARKDOWN_SPECIAL)
    return _LIST_START.sub(lambda m: m.group() + "\\", _AUTOLINK.sub(lambda m: "\\" + m.group(), text), count=1)


def md_code(value) -> str:
    """A name from the parameter file or the data (a variable, a QNAM) as Markdown inline code:
    a code span shows its content literally and renderers HTML-escape it (CommonMark 0.31,
    section 6.1), so only a backtick or a line break could end it early; such a name is shown as
    plain escaped text (:func:`md_text`) instead. Invisible characters are shown as escapes.

    >>> md_code("NLRBL"), md_code("<b>"), md_code("a`b")
    ('`NLRBL`', '`<b>`', 'a\\\\`b')
    """
    text = visible("" if value is None else value)
    if not text or "`" in text or _LINE_BREAKS.search(text):
        return md_text(text)
    return f"`{text}`"


def visible_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell, column name and index label passed through
    :func:`mpmlib.text.visible` (a USUBJID ending in a zero-width space shows as
    ``...0003\\u200b``); ``df`` itself when nothing needs it, so a table without such
    characters renders byte for byte as before. Numbers are untouched. Vectorised: one regular
    expression per text column finds the few cells that need a look."""
    columns, index = _visible_index(df.columns), _visible_index(df.index)
    changed = {}
    for i in range(df.shape[1]):
        column = df.iloc[:, i]
        if (new := visible_series(column)) is not column:
            changed[i] = new
    if not changed and columns is df.columns and index is df.index:
        return df
    out = df.copy()
    for i, values in changed.items():
        out.isetitem(i, values)
    out.columns, out.index = columns, index
    return out


def visible_series(values: pd.Series) -> pd.Series:
    """A Series with invisible characters of its text cells escaped (:func:`mpmlib.text.visible`);
    ``values`` itself (the same object) when no cell has any."""
    if not (values.dtype == object or isinstance(values.dtype, (pd.StringDtype, pd.CategoricalDtype))):
        return values
    text = values.astype(object)
    if len(text) < 64:
        suspect = text.map(lambda v: isinstance(v, str) and has_invisible(v))
    else:                                    # one vectorised pass; few cells need a closer look
        suspect = text.str.contains(_NOT_PRINTABLE, na=False, regex=True)
    if not suspect.any():
        return values
    cells = text.to_numpy(copy=True)
    hit = suspect.to_numpy(dtype=bool)
    cells[hit] = [visible(v) for v in cells[hit]]
    return pd.Series(cells, index=values.index, name=values.name, dtype=object)


_NOT_PRINTABLE = r"[^\x20-\x7e]"


def _visible_index(index: pd.Index) -> pd.Index:
    """An index (or the columns) with invisible characters of its text labels escaped; the same
    object when none has any."""
    if isinstance(index, pd.MultiIndex):
        old = list(index.levels)                  # pandas builds new level objects on each access
        levels = [_visible_index(level) for level in old]
        if all(a is b for a, b in zip(levels, old)):
            return index
        return index.set_levels(levels, verify_integrity=False)
    if not (index.dtype == object or isinstance(index.dtype, (pd.StringDtype, pd.CategoricalDtype))):
        return index
    if not any(isinstance(v, str) and has_invisible(v) for v in index):
        return index
    return index.map(lambda v: visible(v) if isinstance(v, str) else v)


def frame_html(df: pd.DataFrame) -> str:
    """How a notebook shows a DataFrame (registered by :func:`mpmlib.notebook.setup` for
    ``text/html``): pandas' own HTML (cells escaped), with invisible characters of identifiers
    and values made visible first (:func:`visible_frame`)."""
    return visible_frame(df)._repr_html_()


