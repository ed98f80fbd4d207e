"""Extract the CTCAE v5.0 term list (codes, SOC, term, which grades exist) from the NCI workbook.

Source: NCI CTEP, *Common Terminology Criteria for Adverse Events (CTCAE) v5.0*, published
27 Nov 2017, file ``CTCAE_v5.0.xlsx`` (sha256
``dc11095f39227ef48402eb166cefaf0933bb7a0b0cc61c187649c0b19c6f601f``), sheet
``"CTCAE v5.0 Clean Copy"`` (837 terms, 26 MedDRA SOCs).

Output: ``mpmlib/resources/ctcae_v5_terms.csv`` with columns
``MEDDRA_CODE,SOC,TERM,G1,G2,G3,G4,G5``; ``Gk`` is ``Y`` when grade k is defined for the term and
``N`` when the workbook shows the placeholder ``' -'`` (an undefined grade). Only the codes, SOC,
term and the grade flags are written, not the grade definition texts. Rows are sorted by SOC then
TERM (plain Python string order), UTF-8, ``\\n`` line endings, so the file is byte-reproducible.

Workbook gotchas handled here:

* the grade headers end in two non-breaking spaces (``'Grade 1 \\xa0\\xa0'``): header names are
  normalised by replacing NBSP with a space and stripping;
* an undefined grade is the string ``' -'`` (space + hyphen).

Usage::

    .venv/bin/python tools/extract_ctcae.py [XLSX] [OUT_CSV]

Defaults: ``/work/shared/external/ctcae-v5/CTCAE_v5.0.xlsx`` and
``mpmlib/resources/ctcae_v5_terms.csv`` (relative to the repository root).
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

import openpyxl

SHEET = "CTCAE v5.0 Clean Copy"
EXPECTED_SHA256 = "dc11095f39227ef48402eb166cefaf0933bb7a0b0cc61c187649c0b19c6f601f"
EXPECTED_ROWS = 837
DEFAULT_XLSX = Path("/work/shared/external/ctcae-v5/CTCAE_v5.0.xlsx")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "mpmlib" / "resources" / "ctcae_v5_terms.csv"
COLUMNS = ["MEDDRA_CODE", "SOC", "TERM", "G1", "G2", "G3", "G4", "G5"]


def normalise_header(value) -> str:
    """Header text with non-breaking spaces turned into spaces and outer blanks stripped."""
    return str(value).replace("\xa0", " ").strip()


def grade_defined(cell) -> str:
    """``'Y'`` if the grade cell holds a definition; ``'N'`` for the placeholder ``' -'`` or a
    blank cell."""
    if cell is None:
        return "N"
    return "N" if str(cell).strip() in ("", "-") else "Y"


def read_terms(xlsx: Path) -> list[dict[str, str]]:
    """One dict per CTCAE term (keys = ``COLUMNS``), in workbook order."""
    wb = openpyxl.load_workbook(xlsx, read_only=True, data_only=True)
    try:
        rows = wb[SHEET].iter_rows(values_only=True)
        header = [normalise_header(h) for h in next(rows)]
        idx = {name: header.index(name) for name in
               ["MedDRA Code", "MedDRA SOC", "CTCAE Term"] + [f"Grade {k}" for k in range(1, 6)]}
        out = []
        for row in rows:
            if row[idx["MedDRA Code"]] is None:
                continue
            rec = {"MEDDRA_CODE": str(int(row[idx["MedDRA Code"]])),
                   "SOC": str(row[idx["MedDRA SOC"]]).strip(),
                   "TERM": str(row[idx["CTCAE Term"]]).strip()}
            for k in range(1, 6):
                rec[f"G{k}"] = grade_defined(row[idx[f"Grade {k}"]])
            out.append(rec)
    finally:
        wb.close()
    return out


def write_terms(terms: list[dict[str, str]], out: Path) -> None:
    """Write the term list sorted by SOC then TERM, UTF-8 with ``\\n`` line endings."""
    out.parent.mkdir(parents=True, exist_ok=True)
    terms = sorted(terms, key=lambda r: (r["SOC"], r["TERM"]))
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(terms)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    xlsx = Path(argv[0]) if argv else DEFAULT_XLSX
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    digest = hashlib.sha256(xlsx.read_bytes()).hexdigest()
    if digest != EXPECTED_SHA256:
        print(f"warning: {xlsx} sha256 {digest} differs from the NCI file {EXPECTED_SHA256}",
              file=sys.stderr)
    terms = read_terms(xlsx)
    if len(terms) != EXPECTED_ROWS:
        print(f"error: expected {EXPECTED_ROWS} terms, found {len(terms)}", file=sys.stderr)
        return 1
    write_terms(terms, out)
    print(f"wrote {len(terms)} terms to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
