"""CSV files a spreadsheet can open safely: no cell can start a formula.

OWASP "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection): a cell whose text
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Google Sheets. Text from the data (an AE verbatim term, a subject ID) or from a
parameter file could be such a cell, so every CSV the project writes for people (report tables,
``qc/*.csv``) goes through :func:`neutralise`: such text cells get a leading apostrophe (``'``),
the mitigation OWASP names, which spreadsheets show as text. Text that already starts with an
apostrophe gets one more, so :func:`restore` gives back exactly what was written.

Numbers stay numbers: numeric columns are written as they are, and a text cell that is just a
number (``-3.5``, ``+2``, ``-1e-3``: a spreadsheet reads it as a number, never a formula) is
left alone, so a change from baseline of ``-12.5`` is still ``-12.5`` in the file.

ADaM datasets (Parquet) are data, not documents, and are not changed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

#: First characters that make a spreadsheet cell a formula (OWASP CSV Injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise_text(value):
    """One cell: text starting a formula gets a leading ``'``; anything else is returned as is.

    >>> neutralise_text("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise_text("-12.5"), neutralise_text(-12.5), neutralise_text("@SUM(A1)")
    ('-12.5', -12.5, "'@SUM(A1)")
    """
    if isinstance(value, str) and ((value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value))
                                   or value.startswith("'")):    # "'x" as delivered: kept by restore()
        return "'" + value
    return value


def restore(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise` on a table read back from such a CSV (as text): a cell ``'=x``
    becomes ``=x`` again, so a page shows the value as delivered (and escaped as HTML).

    >>> restore(pd.DataFrame({"V": ["'=1+1", "''x", "-2"]}))["V"].tolist()
    ['=1+1', "'x", '-2']
    """
    out = df.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object:
            out.isetitem(i, col.map(_restore_text, na_action="ignore"))
    return out


def _restore_text(value):
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START + ("'",)):
        return value[1:]
    return value


def _neutralise_series(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    as_text = series.astype("object")
    if not any(isinstance(v, str) and v.startswith(FORMULA_START + ("'",)) for v in as_text.to_numpy()):
        return series
    return as_text.map(neutralise_text, na_action="ignore")


def _neutralise_index(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return pd.MultiIndex.from_arrays(
            [_neutralise_index(index.get_level_values(i)) for i in range(index.nlevels)], names=index.names)
    names = [neutralise_text(n) for n in index.names]
    if pd.api.types.is_numeric_dtype(index.dtype):
        return index.rename(names[0]) if index.nlevels == 1 else index
    return pd.Index([neutralise_text(v) for v in index], name=names[0], dtype=object)


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells, column names and index labels cannot start a formula
    (:func:`neutralise_text`); numeric and date columns unchanged."""
    out = df.copy()
    out.columns = _neutralise_index(out.columns)
    out.index = _neutralise_index(out.index)
    for i in range(out.shape[1]):
        out.isetitem(i, _neutralise_series(out.iloc[:, i]))
    return out


def write_csv(df: pd.DataFrame, path: str | Path, index: bool = False) -> Path:
    """Write ``df`` as UTF-8 CSV with ``\\n`` line ends (byte-identical on every rerun), every cell
    neutralised (:func:`neutralise`)."""
    path = Path(path)
    neutralise(df).to_csv(path, index=index, encoding="utf-8", lineterminator="\n")
    return path
