"""Errors a user can cause, reported as one clear message instead of a traceback.

Every data error names the domain, the variable, the rule and (where there is one) the subject,
so an analyst can find the record in the source file without reading code. The message shows
invisible characters as escapes (:func:`mpmlib.text.visible`: a USUBJID ending in a zero-width
space prints as ``...0003\u200b``), so two IDs that look alike on screen can be told apart; the
attributes keep the values as they are in the data.
"""

from __future__ import annotations

from mpmlib.text import visible


class MpmError(Exception):
    """Base class: anything the user can get wrong (data, parameters, paths)."""


class ParamsError(MpmError):
    """A parameter file is missing, unreadable or has a wrong or missing key."""


class DataError(MpmError):
    """Input data break a rule the pipeline relies on.

    Parameters
    ----------
    domain, variable, rule
        Where and what: e.g. ``("EX", "EXSTDTC", "ISO 8601 date")``.
    subjects
        USUBJIDs of the offending records (at most 10 are shown in the message).
    detail
        Free text, e.g. the offending values.
    """

    def __init__(self, domain: str, variable: str | None, rule: str,
                 subjects=None, detail: str = ""):
        self.domain = domain
        self.variable = variable
        self.rule = rule
        self.subjects = sorted({str(s) for s in (subjects if subjects is not None else [])})
        self.detail = detail
        super().__init__(self._message())

    def _message(self) -> str:
        where = visible(self.domain) if not self.variable else f"{visible(self.domain)}.{visible(self.variable)}"
        msg = f"{where}: {visible(self.rule)}"
        if self.subjects:
            shown = ", ".join(visible(s) for s in self.subjects[:10])
            more = f" (+{len(self.subjects) - 10} more)" if len(self.subjects) > 10 else ""
            msg += f" [USUBJID: {shown}{more}]"
        if self.detail:
            msg += f" - {visible(self.detail)}"
        return msg
