"""Text shown to people: invisible characters made visible.

Two subject IDs that look the same on screen can differ by a zero-width space (U+200B), a
no-break space (U+00A0), a byte-order mark (U+FEFF) or a control character pasted from another
system. A message or a report that prints them raw hides exactly what the data manager must fix,
so every identifier or value shown in a message or a page goes through :func:`visible`, which
writes such characters as Python-style escapes (``\\u200b``, ``\\x00``). Undecodable bytes read
with ``errors="replace"`` arrive as U+FFFD and are shown as ``\\ufffd``.

Escaped: control characters (Unicode category Cc, tab and newline included: an identifier or a
coded value never needs them), format characters (Cf: zero-width space/joiners, BOM, bidi marks),
separators other than the ASCII space (Zs/Zl/Zp: no-break space, en space, line separator),
private-use and unassigned code points (Co/Cn), and U+FFFD. A backslash is left as it is.
"""

from __future__ import annotations

import re
import unicodedata

_SUSPECT_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cn", "Cs"}


def is_invisible(char: str) -> bool:
    """True for one character that :func:`visible` escapes.

    >>> is_invisible("\u200b"), is_invisible(" "), is_invisible("é")
    (True, False, False)
    """
    return char != " " and (unicodedata.category(char) in _SUSPECT_CATEGORIES or char == "\ufffd")


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


_CANDIDATES = re.compile(r"[^\x21-\x7e ]")     # only non-ASCII-printable characters need a look


def visible(value) -> str:
    """``value`` as text with invisible characters escaped.

    >>> visible("H101-MPM-201-01-0003\\u200b")
    'H101-MPM-201-01-0003\\\\u200b'
    >>> visible("Fatigué après"), visible(12), visible("A\\u00a0B")
    ('Fatigué après', '12', 'A\\\\xa0B')
    """
    text = value if isinstance(value, str) else str(value)
    if not _CANDIDATES.search(text):
        return text
    return "".join(_escape(c) if is_invisible(c) else c for c in text)


def has_invisible(value) -> bool:
    """True when :func:`visible` would change ``value``.

    >>> has_invisible("01-0003"), has_invisible("01-0003\\ufeff")
    (False, True)
    """
    return isinstance(value, str) and bool(_CANDIDATES.search(value)) and any(map(is_invisible, value))
