"""Compare two report folders file by file: are they the same analysis, byte for byte?

``python tools/compare_reports.py BEFORE/report AFTER/report [--rename old=new ...]``

Every file (HTML pages, CSV tables, provenance.json, index.html) must exist in both folders and
be byte-identical after two normalisations, both printed with the result:

* the git commit (40 hex digits, optionally ``+modified``) is replaced by ``<commit>``: a report
  made from another commit names it, and that is the only place a commit appears;
* module paths renamed by a refactor (``--rename mpmlib.efficacy=mpmlib.analysis.efficacy``,
  and :data:`ISSUE_15_RENAMES` with ``--issue-15``) are rewritten in the BEFORE files, so a page
  that cites ``mpmlib.qol_analysis`` before and ``mpmlib.analysis.qol`` after compares equal.

Exit status 0 when every file matches, 1 otherwise (each difference is printed with its first
differing line).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

COMMIT = re.compile(rb"\b[0-9a-f]{40}(?:\+modified)?")

#: Module paths moved by issue 15 (old dotted name -> new), longest first when applied.
ISSUE_15_RENAMES = {
    "mpmlib.io": "mpmlib.sdtm.read",
    "mpmlib.validate": "mpmlib.qc.gate",
    "mpmlib.qc_rules": "mpmlib.qc.rules",
    "mpmlib.params": "mpmlib.settings",
    "mpmlib.qol": "mpmlib.derive.qol_scoring",
    "mpmlib.efficacy": "mpmlib.analysis.efficacy",
    "mpmlib.safety": "mpmlib.analysis.safety",
    "mpmlib.qol_analysis": "mpmlib.analysis.qol",
    "mpmlib.factors": "mpmlib.analysis.factors",
    "mpmlib.models": "mpmlib.analysis.models",
    "mpmlib.stats": "mpmlib.analysis.stats",
    "mpmlib.plots": "mpmlib.plots.overview",
    "mpmlib.plots_efficacy": "mpmlib.plots.efficacy",
    "mpmlib.plots_safety": "mpmlib.plots.safety",
    "mpmlib.plots_qol": "mpmlib.plots.qol",
    "mpmlib.plots_factors": "mpmlib.plots.factors",
    "mpmlib.report": "mpmlib.report",
    "mpmlib.synth": "mpmlib.synth",
    "mpmlib.tables": "mpmlib.tables",
}


def rename(data: bytes, renames: dict[str, str]) -> bytes:
    """Rewrite whole dotted module names (``mpmlib.qol`` but not ``mpmlib.qol_analysis``)."""
    if not renames:
        return data
    names = sorted(renames, key=len, reverse=True)
    pattern = re.compile(rb"\b(" + b"|".join(re.escape(n.encode()) for n in names) + rb")(?![\w])")
    return pattern.sub(lambda m: renames[m.group(1).decode()].encode(), data)


def normalise(data: bytes, renames: dict[str, str] | None = None) -> bytes:
    return COMMIT.sub(b"<commit>", rename(data, renames or {}))


def first_difference(a: bytes, b: bytes) -> str:
    la, lb = a.split(b"\n"), b.split(b"\n")
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"line {i + 1}:\n  before: {x[:300]!r}\n  after:  {y[:300]!r}"
    return f"one file is longer ({len(la)} vs {len(lb)} lines)"


def compare(before: Path, after: Path, renames: dict[str, str]) -> list[str]:
    """Differences between two report folders, as messages ([] = identical after normalising)."""
    names_a = {p.relative_to(before) for p in before.rglob("*") if p.is_file()}
    names_b = {p.relative_to(after) for p in after.rglob("*") if p.is_file()}
    problems = [f"only in {before}: {n}" for n in sorted(names_a - names_b)]
    problems += [f"only in {after}: {n}" for n in sorted(names_b - names_a)]
    for name in sorted(names_a & names_b):
        a = normalise((before / name).read_bytes(), renames)
        b = normalise((after / name).read_bytes())
        if a != b:
            problems.append(f"{name} differs at {first_difference(a, b)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    parser.add_argument("--issue-15", action="store_true", help="apply the module moves of issue 15")
    args = parser.parse_args(argv)
    renames = dict(ISSUE_15_RENAMES) if args.issue_15 else {}
    renames.update(dict(r.split("=", 1) for r in args.rename))
    problems = compare(args.before, args.after, renames)
    files = sum(1 for p in args.after.rglob("*") if p.is_file())
    for line in problems:
        print(line)
    print(f"{'IDENTICAL' if not problems else 'DIFFERENT'}: {files} files in {args.after} vs {args.before} "
          f"(commit normalised; {len(renames)} module renames applied)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
