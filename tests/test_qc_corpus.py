"""Corpus of corrupted SDTM deliveries: every defect must be caught by data QC with a message a
data manager can act on.

Each case copies the clean synthetic trial in ``data/demo`` into a temporary folder, plants ONE
defect in ONE record of a named subject (or damages one file), runs
:func:`mpmlib.qc.gate.validate_run` with the demo parameters (every rule, the study-aware ones
included, then the ADaM derivation when no critical rule fails) and checks the findings table. The reference for every
assertion is "a data manager must be able to act on the message": the defect is reported (not
swallowed, not a crash), as a FAIL of the rule that owns it, with the right severity, naming the
domain, the variable, the subject (USUBJID), where there is one the offending value and, for a
record-level defect, the record itself: its identifying variables in its domain (SDTM v1.7
identifiers: --SEQ "to ensure uniqueness of subject records within a domain", --TESTCD, VISIT;
SDTMIG 3.3 §8.4 for a SUPP-- record's parent IDVAR / IDVARVAL and its QNAM), so that a QS item
out of range is one of ~300 records of the subject, named. A
critical defect must stop a locked run (``result.passed is False``); a warning-only defect must
not (``result.passed is True``, so the case also proves that the defect set off nothing
critical elsewhere), and every subject whose ADaM rows differ from the clean demo's must be
named by a failed rule: no number changes without a finding (issue 14).

Sources for what counts as a defect: SDTMIG 3.3 (ISO 8601 ``--DTC``, natural keys, SUPP--
structure), RECIST 1.1 (overall response, new lesions, baseline target lesions), CTCAE v5.0
(grades 1-5, grade 5 = death, grades defined per term), EORTC QLQ-C30 v3.0 scoring manual
(items 1-28 scored 1-4, items 29-30 scored 1-7), the project's ``docs/data-spec.md`` and the
controlled terms in ``expectations/*.json``.

Besides the parametrised corpus: the clean demo passes with no failed rule, benign encodings
(UTF-8 with BOM, cp1252) read correctly, two files for one domain give one clear message, and a
few runs of ``mpm validate`` check exit codes and that no Python traceback reaches the user. The
command-line runs start in the background when the module starts (GX takes ~2.5 s to import in
each process) and are collected by the CLI tests at the end.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from mpmlib.errors import DataError
from mpmlib.settings.load import PROJECT_ROOT, load_params, override_paths
from mpmlib.qc.rules import normalised_id
from mpmlib.text import visible
from mpmlib.qc.gate import summary_text, validate_run, validate_sdtm

DEMO = PROJECT_ROOT / "data" / "demo"
#: The demo parameter file: the study-aware rules (study drugs, cut-off, STUDYID, QNAMs) run
#: with it, as in ``mpm validate`` / ``mpm report`` (:func:`mpmlib.qc.gate.validate_run`).
DEMO_PARAMS = load_params(PROJECT_ROOT / "params" / "demo.yaml")


def subj(suffix: str) -> str:
    """Full USUBJID of a demo subject from its site-subject part, e.g. ``01-0003``."""
    return f"H101-MPM-201-{suffix}"


# ---- building corrupted copies ---------------------------------------------------------------

def copy_demo(folder: Path) -> Path:
    shutil.copytree(DEMO, folder)
    return folder


def read(folder: Path, domain: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{domain}.csv", dtype=str, keep_default_na=False)


def write(folder: Path, domain: str, df: pd.DataFrame, **kwargs) -> None:
    df.to_csv(folder / f"{domain}.csv", index=False, **kwargs)


def _mask(df: pd.DataFrame, where: dict, first: bool) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for col, val in where.items():
        mask &= df[col].eq(val)
    assert mask.any(), f"the demo data changed: no record with {where}"
    return mask & (mask.cumsum() == 1) if first else mask


def set_values(domain: str, where: dict, values: dict, first: bool = True) -> Callable[[Path], None]:
    """Change ``values`` in the first record matching ``where`` (every such record: ``first=False``)."""
    def mutate(folder: Path) -> None:
        df = read(folder, domain)
        mask = _mask(df, where, first=first)
        for col, val in values.items():
            df.loc[mask, col] = val
        write(folder, domain, df)
    return mutate


def set_all(domain: str, where: dict, values: dict) -> Callable[[Path], None]:
    """Change ``values`` in every record matching ``where``."""
    return set_values(domain, where, values, first=False)


def copy_record(domain: str, where: dict, values: dict) -> Callable[[Path], None]:
    """Append a copy of the first record matching ``where`` with ``values`` changed (an entry
    made twice, a twin subject)."""
    def mutate(folder: Path) -> None:
        df = read(folder, domain)
        new = df[_mask(df, where, first=True)].copy()
        for col, val in values.items():
            new[col] = val
        write(folder, domain, pd.concat([df, new], ignore_index=True))
    return mutate


def every_domain(column: str, old: str, new: str) -> Callable[[Path], None]:
    """Replace ``old`` by ``new`` in ``column`` of every domain file (a consistent delivery)."""
    def mutate(folder: Path) -> None:
        for path in sorted(folder.glob("*.csv")):
            df = read(folder, path.stem)
            if column in df.columns:
                df.loc[df[column].eq(old), column] = new
                write(folder, path.stem, df)
    return mutate


def drop_column(domain: str, column: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        write(folder, domain, read(folder, domain).drop(columns=[column]))
    return mutate


def duplicate_record(domain: str, where: dict) -> Callable[[Path], None]:
    """Append a second copy of the first record matching ``where``."""
    def mutate(folder: Path) -> None:
        df = read(folder, domain)
        write(folder, domain, pd.concat([df, df[_mask(df, where, first=True)]], ignore_index=True))
    return mutate


def replace_file(domain: str, name: str, content: bytes) -> Callable[[Path], None]:
    """Remove ``<domain>.csv`` and put ``name`` with raw ``content`` in its place."""
    def mutate(folder: Path) -> None:
        (folder / f"{domain}.csv").unlink()
        (folder / name).write_bytes(content)
    return mutate


def remove_file(domain: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        (folder / f"{domain}.csv").unlink()
    return mutate


def unquoted_comma_in_aeterm(folder: Path) -> None:
    """A verbatim term with a comma written without CSV quoting (a hand-edited export)."""
    path = folder / "ae.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    start = f"H101-MPM-201,AE,{subj('01-0003')},1,Fatigue,"
    idx = next(i for i, line in enumerate(lines) if line.startswith(start))
    lines[idx] = lines[idx].replace(",Fatigue,", ",Fatigue, mild,", 1)
    path.write_text("\n".join(lines), encoding="utf-8")


def duplicate_column(folder: Path) -> None:
    """Two columns named AETERM (a merge gone wrong): which one is the verbatim term?"""
    df = read(folder, "ae")
    df.insert(len(df.columns), "AETERM", df["AETERM"].str.upper(), allow_duplicates=True)
    write(folder, "ae", df)


GARBAGE = bytes(range(256)) * 8


# ---- the corpus ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """A finding that must be there: rule FAILs with this severity in this domain, the VARIABLE
    contains ``variable``, the subject is named (SUBJECTS or details) and the offending value is
    shown (VALUES or details); ``record``: a detail row of the subject names the record with this
    text (e.g. ``QSSEQ=9 QSTESTCD=EOR0109 VISIT=BASELINE``, as the planted record has it)."""
    rule: str
    severity: str               # critical | warning
    domain: str
    variable: str
    subject: str | None
    value: str | None = None
    record: str | None = None


@dataclass(frozen=True)
class Defect:
    id: str                     # the defect kind; also the test id
    mutate: Callable[[Path], None]
    expect: tuple[Expect, ...]
    #: (RULE_ID, DOMAIN) that must NOT fail: misleading consequences of the defect
    not_failing: tuple[tuple[str, str], ...] = ()
    #: critical cases of one group are planted together in one copy (each in its own record and
    #: checked by its own test, as ``variants`` do), so the corpus stays within its time budget
    group: str | None = None


def case(id, mutate, rule, severity, domain, variable, subject, value=None, record=None, group=None) -> Defect:
    assert group is None or severity == "critical", "a warning-only case needs a copy of its own"
    return Defect(id, mutate, (Expect(rule, severity, domain, variable, subject, value, record),), group=group)


def variants(id, *pairs, not_failing=()) -> Defect:
    """One defect kind planted in several domains of one copy (each in its own record), so the
    corpus stays within its time budget; every variant has its own expected finding."""
    def mutate(folder: Path) -> None:
        for m, _ in pairs:
            m(folder)
    return Defect(id, mutate, tuple(e for _, e in pairs), tuple(not_failing))


DEFECTS = [
    # -- wrong type: text in an SDTM numeric variable (the reader refuses the file)
    variants("text_in_numeric_variable",
             (set_values("dm", {"USUBJID": subj("01-0003")}, {"AGE": "seventy"}),
              Expect("READ-001", "critical", "DM", "AGE", subj("01-0003"), "seventy")),
             (set_values("ex", {"USUBJID": subj("01-0005"), "EXTRT": "TORIPALIMAB"}, {"EXDOSE": "240 mg"}),
              Expect("READ-001", "critical", "EX", "EXDOSE", subj("01-0005"), "240 mg")),
             (set_values("qs", {"USUBJID": subj("01-0005"), "QSTESTCD": "EOR0109"}, {"QSSTRESN": "A Little"}),
              Expect("READ-001", "critical", "QS", "QSSTRESN", subj("01-0005"), "A Little")),
             (set_values("tr", {"USUBJID": subj("01-0013"), "TRTESTCD": "LDIAM"}, {"TRSTRESN": "<5"}),
              Expect("READ-001", "critical", "TR", "TRSTRESN", subj("01-0013"), "<5"))),
    # -- required columns absent
    variants("required_column_absent",
             (drop_column("dm", "ARMCD"), Expect("DM-003", "critical", "DM", "ARMCD", None)),
             (drop_column("ex", "EXSTDTC"), Expect("EX-004", "critical", "EX", "EXSTDTC", None)),
             (drop_column("ae", "AEDECOD"), Expect("AE-004", "critical", "AE", "AEDECOD", None)),
             (drop_column("rs", "RSTESTCD"), Expect("RS-003", "critical", "RS", "RSTESTCD", None)),
             # without EXSTDTC / RSTESTCD the natural key is incomplete: every repeated dose or
             # test would look like a duplicate record, which sends the data manager after
             # duplicates that do not exist
             not_failing=[("X-003", "EX"), ("X-003", "RS")]),
    case("DM_USUBJID_column_absent", drop_column("dm", "USUBJID"),
         "DM-002", "critical", "DM", "USUBJID", None),
    # -- files that cannot be read
    case("empty_file", lambda f: (f / "ae.csv").write_bytes(b""),
         "READ-001", "critical", "AE", "", None, "empty"),
    case("garbage_xpt", replace_file("tu", "tu.xpt", GARBAGE),
         "READ-001", "critical", "TU", "", None, "tu.xpt"),
    case("garbage_parquet", replace_file("qs", "qs.parquet", GARBAGE),
         "READ-001", "critical", "QS", "", None, "qs.parquet"),
    case("ragged_csv_row_unquoted_comma", unquoted_comma_in_aeterm,
         "READ-001", "critical", "AE", "", None, "line"),
    case("duplicate_column_name", duplicate_column,
         "READ-001", "critical", "AE", "AETERM", None, "duplicate"),
    case("DM_file_absent", remove_file("dm"),
         "DM-000", "critical", "DM", "", None, "absent"),
    # -- keys and subjects
    case("duplicate_subject_in_DM", duplicate_record("dm", {"USUBJID": subj("01-0004")}),
         "DM-006", "critical", "DM", "USUBJID", subj("01-0004"), subj("01-0004")),
    variants("subject_not_in_DM",
             (set_values("ae", {"USUBJID": subj("01-0003"), "AESEQ": "7"}, {"USUBJID": subj("99-0001")}),
              Expect("X-001", "critical", "AE", "USUBJID", subj("99-0001"), record="AESEQ=7")),
             (set_values("ex", {"USUBJID": subj("01-0005")}, {"USUBJID": subj("99-0002")}),
              Expect("X-001", "critical", "EX", "USUBJID", subj("99-0002"))),
             (set_values("rs", {"USUBJID": subj("01-0002"), "RSTESTCD": "OVRLRESP"}, {"USUBJID": subj("99-0003")}),
              Expect("X-001", "critical", "RS", "USUBJID", subj("99-0003"))),
             (set_values("qs", {"USUBJID": subj("01-0005"), "QSTESTCD": "EOR0109"}, {"USUBJID": subj("99-0004")}),
              Expect("X-001", "critical", "QS", "USUBJID", subj("99-0004"))),
             (set_values("ds", {"USUBJID": subj("01-0003")}, {"USUBJID": subj("99-0005")}),
              Expect("X-001", "critical", "DS", "USUBJID", subj("99-0005")))),
    case("duplicate_AESEQ", set_values("ae", {"USUBJID": subj("01-0003"), "AESEQ": "2"}, {"AESEQ": "1"}),
         "X-003", "critical", "AE", "AESEQ", subj("01-0003"), record="AESEQ=1"),
    case("duplicate_RS_assessment", duplicate_record("rs", {"USUBJID": subj("01-0002"), "RSTESTCD": "OVRLRESP"}),
         "X-003", "critical", "RS", "RSTESTCD", subj("01-0002"), "OVRLRESP"),
    # -- dates
    case("impossible_day_2025-02-30",
         set_values("ae", {"USUBJID": subj("01-0003"), "AESEQ": "2"}, {"AESTDTC": "2025-02-30"}),
         "X-002", "critical", "AE", "AESTDTC", subj("01-0003"), "2025-02-30"),
    case("impossible_month_13",
         set_values("ex", {"USUBJID": subj("01-0011"), "EXSEQ": "3"}, {"EXSTDTC": "2024-13-18"}),
         "X-002", "critical", "EX", "EXSTDTC", subj("01-0011"), "2024-13-18"),
    variants("non_ISO_date_format",
             (set_values("rs", {"USUBJID": subj("01-0010"), "RSSEQ": "6"}, {"RSDTC": "06/16/2024"}),
              Expect("RS-006", "critical", "RS", "RSDTC", subj("01-0010"), "06/16/2024")),
             (set_values("ds", {"USUBJID": subj("01-0003"), "DSSEQ": "1"}, {"DSSTDTC": "30JAN2025"}),
              Expect("DS-006", "critical", "DS", "DSSTDTC", subj("01-0003"), "30JAN2025"))),
    case("AE_end_before_start",
         set_values("ae", {"USUBJID": subj("01-0003"), "AESEQ": "3"}, {"AEENDTC": "2025-03-01"}),
         "X-006", "critical", "AE", "AEENDTC", subj("01-0003"), "2025-03-01"),
    case("dose_before_consent",
         set_values("ex", {"USUBJID": subj("01-0011"), "EXSEQ": "1"}, {"EXSTDTC": "2024-06-01", "EXENDTC": "2024-06-01"}),
         "X-004", "critical", "EX", "EXSTDTC", subj("01-0011"), "2024-06-01", record="EXSEQ=1 VISIT=CYCLE 1 DAY 1"),
    case("response_before_first_dose",
         set_values("rs", {"USUBJID": subj("01-0010"), "RSTESTCD": "OVRLRESP", "RSSEQ": "3"}, {"RSDTC": "2024-03-10"}),
         "X-005", "critical", "RS", "RSDTC", subj("01-0010"), "2024-03-10",
         record="RSSEQ=3 RSTESTCD=OVRLRESP VISIT=WEEK 6"),
    case("record_after_death",
         set_values("ae", {"USUBJID": subj("01-0001"), "AESEQ": "1"}, {"AESTDTC": "2024-07-01", "AEENDTC": "2024-07-01"}),
         "X-007", "critical", "AE", "AESTDTC", subj("01-0001"), "2024-07-01", record="AESEQ=1"),
    # -- adverse events (CTCAE v5.0)
    case("grade_7", set_values("ae", {"USUBJID": subj("01-0004"), "AESEQ": "8"}, {"AETOXGR": "7"}),
         "AE-010", "critical", "AE", "AETOXGR", subj("01-0004"), "7"),
    case("grade_5_not_fatal", set_values("ae", {"USUBJID": subj("01-0003"), "AESEQ": "2"}, {"AETOXGR": "5"}),
         "X-008", "critical", "AE", "AETOXGR", subj("01-0003"), "grade 5", record="AESEQ=2"),
    case("fatal_with_grade_2", set_values("ae", {"USUBJID": subj("06-0003"), "AESEQ": "14"}, {"AETOXGR": "2"}),
         "X-008", "critical", "AE", "AETOXGR", subj("06-0003"), "FATAL"),
    case("grade_not_defined_for_term",
         set_values("ae", {"USUBJID": subj("01-0003"), "AESEQ": "1", "AEDECOD": "Fatigue"}, {"AETOXGR": "4"}),
         "X-009", "warning", "AE", "AETOXGR", subj("01-0003"), "Fatigue grade 4"),
    case("AEDECOD_not_CTCAE_term",
         set_values("ae", {"USUBJID": subj("01-0003"), "AESEQ": "3"}, {"AEDECOD": "Fatige"}),
         "X-010", "warning", "AE", "AEDECOD", subj("01-0003"), "Fatige"),
    # -- tumour response (RECIST 1.1)
    case("overall_response_XX",
         set_values("rs", {"USUBJID": subj("01-0010"), "RSTESTCD": "OVRLRESP", "RSSEQ": "6"},
                    {"RSORRES": "XX", "RSSTRESC": "XX"}),
         "RS-007", "critical", "RS", "RSSTRESC", subj("01-0010"), "XX", record="RSSEQ=6 RSTESTCD=OVRLRESP VISIT=WEEK 12"),
    case("SD_without_baseline_target_lesion",
         set_values("rs", {"USUBJID": subj("04-0002"), "RSTESTCD": "OVRLRESP"}, {"RSORRES": "SD", "RSSTRESC": "SD"}),
         "X-011", "critical", "RS", "RSSTRESC", subj("04-0002"), "SD"),
    case("new_lesion_with_overall_SD",
         set_values("rs", {"USUBJID": subj("01-0002"), "RSTESTCD": "NEWLPROG", "RSDTC": "2024-10-09"},
                    {"RSORRES": "Y", "RSSTRESC": "Y"}),
         "X-012", "critical", "RS", "RSSTRESC", subj("01-0002"), "SD", record="RSSEQ=4 RSTESTCD=OVRLRESP VISIT=WEEK 6"),
    case("negative_lesion_diameter",
         set_values("tr", {"USUBJID": subj("01-0013"), "TRSEQ": "1"},
                    {"TRORRES": "-20", "TRSTRESC": "-20", "TRSTRESN": "-20"}),
         "TR-005", "critical", "TR", "TRSTRESN", subj("01-0013"), "-20", record="TRSEQ=1 TRTESTCD=LDIAM VISIT=BASELINE"),
    # -- questionnaire (EORTC QLQ-C30)
    case("QLQ_C30_item9_value9",
         set_values("qs", {"USUBJID": subj("01-0005"), "QSSEQ": "9", "QSTESTCD": "EOR0109"},
                    {"QSORRES": "9", "QSSTRESC": "9", "QSSTRESN": "9"}),
         "QS-006", "critical", "QS", "QSSTRESN", subj("01-0005"), "9", record="QSSEQ=9 QSTESTCD=EOR0109 VISIT=BASELINE"),
    case("QLQ_C30_item30_value8",
         set_values("qs", {"USUBJID": subj("01-0005"), "QSSEQ": "30", "QSTESTCD": "EOR0130"},
                    {"QSORRES": "8", "QSSTRESC": "8", "QSSTRESN": "8"}),
         "QS-007", "critical", "QS", "QSSTRESN", subj("01-0005"), "8", record="QSSEQ=30 QSTESTCD=EOR0130 VISIT=BASELINE"),
    # -- exposure
    case("negative_dose",
         set_values("ex", {"USUBJID": subj("01-0005"), "EXTRT": "TORIPALIMAB"}, {"EXDOSE": "-240"}),
         "EX-009", "critical", "EX", "EXDOSE", subj("01-0005"), "-240"),
    # -- supplemental qualifiers
    case("SUPPAE_relationship_POSSIBLY",
         set_values("suppae", {"USUBJID": subj("01-0004"), "QNAM": "AERELH1"}, {"QVAL": "POSSIBLY"}),
         "SUPPAE-008", "critical", "SUPPAE", "QVAL", subj("01-0004"), "POSSIBLY", record="AESEQ=1 QNAM=AERELH1"),
    case("SUPPDM_histology_EPITHELOID",
         set_values("suppdm", {"USUBJID": subj("01-0004"), "QNAM": "HISTOL"}, {"QVAL": "EPITHELOID"}),
         "SUPPDM-008", "critical", "SUPPDM", "QVAL", subj("01-0004"), "EPITHELOID"),
    # -- laboratory (LB: baseline values and the NLR in ADSL)
    variants("laboratory_result_defects",
             (set_values("lb", {"USUBJID": subj("01-0003"), "LBTESTCD": "NEUT"},
                         {"LBORRES": "-4.2", "LBSTRESC": "-4.2", "LBSTRESN": "-4.2"}),
              Expect("LB-009", "critical", "LB", "LBSTRESN", subj("01-0003"), "-4.2")),
             (set_values("lb", {"USUBJID": subj("01-0004"), "LBTESTCD": "LYM"}, {"LBSTRESU": ""}),
              Expect("LB-010", "critical", "LB", "LBSTRESU", subj("01-0004"))),
             (set_values("lb", {"USUBJID": subj("01-0005"), "LBTESTCD": "LYM"}, {"LBSTRESU": "%"}),
              Expect("LB-011", "warning", "LB", "LBSTRESU", subj("01-0005"), "%")),
             (set_values("lb", {"USUBJID": subj("01-0001"), "LBTESTCD": "ALB", "VISIT": "CYCLE 2 DAY 1"},
                         {"LBDTC": "2024-07-01"}),
              Expect("X-007", "critical", "LB", "LBDTC", subj("01-0001"), "2024-07-01",
                     record="LBSEQ=11 LBTESTCD=ALB VISIT=CYCLE 2 DAY 1"))),
    # -- exposure: a 11-day record "as needed" says nothing about how many doses it holds, so the
    # cumulative dose would be wrong (SDTMIG 3.3 EX: one record per constant-dosing interval)
    case("EX_interval_with_uncountable_frequency",
         set_values("ex", {"USUBJID": subj("01-0001"), "EXSEQ": "2"}, {"EXDOSFRQ": "PRN", "EXENDTC": "2024-04-30"}),
         "X-016", "critical", "EX", "EXDOSFRQ", subj("01-0001"), "PRN over 11 days", record="EXSEQ=2"),
    # -- death
    # a primary cause of death (DD) for a subject alive in DM: wrong USUBJID or a death missing in DM
    case("cause_of_death_for_living_subject",
         set_values("dd", {"USUBJID": subj("01-0001"), "DDTESTCD": "PRCDTH"}, {"USUBJID": subj("01-0003")}),
         "X-015", "warning", "DD", "USUBJID", subj("01-0003"), "no death in DM", record="DDSEQ=1 DDTESTCD=PRCDTH"),
    # critical: a death without a date cannot enter overall survival
    case("DTHFL_without_DTHDTC", set_values("dm", {"USUBJID": subj("01-0003")}, {"DTHFL": "Y"}),
         "X-013", "critical", "DM", "DTHDTC", subj("01-0003"), "DTHFL=Y"),
    # ---- issue 14: numbers that changed with no finding --------------------------------------
    # -- subject ids that look the same but are not (SDTMIG 3.3 §2.2.4: USUBJID identifies a subject)
    case("USUBJID_case_variant_in_AE",
         set_values("ae", {"USUBJID": subj("01-0003"), "AESEQ": "2"}, {"USUBJID": subj("01-0003").lower()}),
         "X-017", "critical", "AE", "USUBJID", subj("01-0003").lower(), f"vs {subj('01-0003')}", record="AESEQ=2", group="ids"),
    # (outer white space, a no-break space included, is stripped when the file is read: no defect)
    case("USUBJID_zero_width_joiner_in_QS",
         set_values("qs", {"USUBJID": subj("01-0005"), "QSSEQ": "9"}, {"USUBJID": subj("01-0005") + "\u200d"}),
         "X-017", "critical", "QS", "USUBJID", subj("01-0005") + "\\u200d", "\\u200d", record="QSSEQ=9", group="ids"),
    # a second DM record for 01-0004 whose id ends in a zero-width space: 41 subjects instead of 40
    case("USUBJID_zero_width_twin_in_DM",
         copy_record("dm", {"USUBJID": subj("01-0004")}, {"USUBJID": subj("01-0004") + "\u200b"}),
         "X-017", "critical", "DM", "USUBJID", subj("01-0004") + "\\u200b", "\\u200b", group="ids"),
    # the same invisible character in every record of the subject: no number changes, but the id
    # cannot be typed or searched (warning)
    case("USUBJID_zero_width_everywhere", every_domain("USUBJID", subj("01-0006"), subj("01-0006") + "\u200b"),
         "X-018", "warning", "DM", "USUBJID", subj("01-0006") + "\\u200b", "\\u200b"),
    # -- lower-case controlled codes that the derivations match exactly (CDISC CT is upper case)
    # RSTESTCD "ovrlresp": the confirmed PR of 01-0002 is no longer an overall response
    # (confirmed ORR 9 -> 8: test_lower_case_RSTESTCD_changes_the_ORR)
    case("RSTESTCD_lower_case", set_all("rs", {"USUBJID": subj("01-0002"), "RSTESTCD": "OVRLRESP"},
                                        {"RSTESTCD": "ovrlresp"}),
         "X-019", "critical", "RS", "RSTESTCD", subj("01-0002"), "ovrlresp", record="RSTESTCD=ovrlresp", group="codes"),
    case("QSTESTCD_lower_case", set_values("qs", {"USUBJID": subj("01-0005"), "QSSEQ": "9"}, {"QSTESTCD": "eor0109"}),
         "X-019", "critical", "QS", "QSTESTCD", subj("01-0005"), "eor0109", record="QSSEQ=9 QSTESTCD=eor0109", group="codes"),
    case("TRTESTCD_lower_case", set_values("tr", {"USUBJID": subj("01-0013"), "TRSEQ": "1"}, {"TRTESTCD": "ldiam"}),
         "X-019", "critical", "TR", "TRTESTCD", subj("01-0013"), "ldiam", record="TRSEQ=1 TRTESTCD=ldiam", group="codes"),
    case("DSDECOD_lower_case", set_values("ds", {"USUBJID": subj("01-0001"), "DSDECOD": "DEATH"}, {"DSDECOD": "death"}),
         "X-019", "critical", "DS", "DSDECOD", subj("01-0001"), "death", record="DSSEQ=", group="codes"),
    # -- QNAMs that differ from the parameter file only by case or an invisible character:
    # relatedness / covariates silently lost
    case("SUPPAE_QNAM_lower_case", set_values("suppae", {"USUBJID": subj("01-0004"), "QNAM": "AERELH1"},
                                              {"QNAM": "aerelh1"}),
         "X-023", "critical", "SUPPAE", "QNAM", subj("01-0004"), "aerelh1", record="AESEQ=1 QNAM=aerelh1", group="qnams"),
    case("SUPPAE_QNAM_zero_width", set_values("suppae", {"USUBJID": subj("01-0004"), "QNAM": "AERELPD"},
                                              {"QNAM": "AERELPD\u200b"}),
         "X-023", "critical", "SUPPAE", "QNAM", subj("01-0004"), "AERELPD\\u200b", group="qnams"),
    case("SUPPDM_QNAM_mixed_case", set_values("suppdm", {"USUBJID": subj("01-0004"), "QNAM": "PDL1TPS"},
                                              {"QNAM": "Pdl1tps"}),
         "X-023", "critical", "SUPPDM", "QNAM", subj("01-0004"), "Pdl1tps", group="qnams"),
    # -- SUPPAE pointing at nothing
    case("SUPPAE_orphan_AESEQ", set_values("suppae", {"USUBJID": subj("01-0004"), "QNAM": "AERELH1"},
                                           {"IDVARVAL": "99"}),
         "X-021", "critical", "SUPPAE", "IDVARVAL", subj("01-0004"), "AESEQ=99 not in AE", record="AESEQ=99", group="supp"),
    case("SUPPAE_IDVARVAL_not_integer", set_values("suppae", {"USUBJID": subj("01-0003"), "QNAM": "AERELH1"},
                                                   {"IDVARVAL": "1.5"}),
         "X-022", "critical", "SUPPAE", "IDVARVAL", subj("01-0003"), "1.5", record="AESEQ=1.5 QNAM=AERELH1", group="supp"),
    # -- an AE entered twice under a new AESEQ (warning: incidence unchanged, events +1)
    case("AE_entered_twice_new_AESEQ", copy_record("ae", {"USUBJID": subj("01-0003"), "AESEQ": "2"}, {"AESEQ": "99"}),
         "X-020", "warning", "AE", "AESEQ", subj("01-0003"), "AESEQ 2 / 99", record="AESEQ=99"),
    # -- exposure
    case("EXTRT_not_a_study_drug", set_values("ex", {"USUBJID": subj("01-0005"), "EXTRT": "TORIPALIMAB"},
                                              {"EXTRT": "TORIPALIMAB INJ"}),
         "X-024", "critical", "EX", "EXTRT", subj("01-0005"), "TORIPALIMAB INJ", record="EXSEQ=2", group="exposure"),
    case("all_doses_of_subject_zero", set_all("ex", {"USUBJID": subj("01-0005")}, {"EXDOSE": "0"}),
         "X-025", "warning", "EX", "EXDOSE", subj("01-0005"), "EXDOSE=0", record="EXSEQ=1"),
    case("absurd_dose_100_fold", set_values("ex", {"USUBJID": subj("01-0011"), "EXTRT": "TORIPALIMAB"},
                                            {"EXDOSE": "24000"}),
         "X-026", "critical", "EX", "EXDOSE", subj("01-0011"), "24000 >= 2400", record="EXSEQ=2", group="exposure"),
    # an extra zero (exactly 10 x the planned 240 mg) is the typical keying error
    case("dose_extra_zero_vs_planned", set_values("ex", {"USUBJID": subj("01-0013"), "EXTRT": "TORIPALIMAB"},
                                                  {"EXDOSE": "2400"}),
         "X-026", "critical", "EX", "EXDOSE", subj("01-0013"), "2400 >= 2400", record="EXSEQ=2", group="exposure"),
    # an extra zero in a dose of a drug without a planned dose (H101 in viral particles)
    case("H101_dose_extra_zero", set_values("ex", {"USUBJID": subj("01-0007"), "EXSEQ": "3"},
                                            {"EXDOSE": "10000000000000"}),
         "X-029", "warning", "EX", "EXDOSE", subj("01-0007"), "H101 10000000000000 vs median 1000000000000",
         record="EXSEQ=3"),
    # -- dates outside the study
    case("death_date_2099", set_values("dm", {"USUBJID": subj("01-0001")}, {"DTHDTC": "2099-06-17"}),
         "X-027", "critical", "DM", "DTHDTC", subj("01-0001"), "2099-06-17 > cut-off 2026-03-31", group="dates"),
    case("AE_after_data_cutoff", set_values("ae", {"USUBJID": subj("01-0003"), "AESEQ": "2"},
                                            {"AESTDTC": "2026-05-01", "AEENDTC": "2026-05-02"}),
         "X-027", "critical", "AE", "AESTDTC", subj("01-0003"), "2026-05-01", record="AESEQ=2", group="dates"),
    case("response_after_data_cutoff",
         set_values("rs", {"USUBJID": subj("01-0013"), "RSTESTCD": "OVRLRESP", "VISIT": "WEEK 6"}, {"RSDTC": "2026-06-01"}),
         "X-027", "critical", "RS", "RSDTC", subj("01-0013"), "2026-06-01", record="RSTESTCD=OVRLRESP VISIT=WEEK 6", group="dates"),
    case("consent_date_1900", set_values("dm", {"USUBJID": subj("01-0003")}, {"RFICDTC": "1900-01-01"}),
         "X-028", "warning", "DM", "RFICDTC", subj("01-0003"), "1900-01-01"),
    # -- screen failures that ADSL would count as enrolled
    case("screen_failure_ARMCD_SCRNFL", set_values("dm", {"USUBJID": subj("01-0009")},
                                                   {"ARMCD": "SCRNFL", "ACTARMCD": "SCRNFL"}),
         "X-030", "critical", "DM", "ARMCD", subj("01-0009"), "ARMCD=SCRNFL", group="dm"),
    case("screen_failure_with_arm_code", set_values("dm", {"USUBJID": subj("02-0001")}, {"ARMCD": "H101TORI"}),
         "X-030", "critical", "DM", "ARMCD", subj("02-0001"), "ARM=Screen Failure", group="dm"),
    # -- another study's data
    case("STUDYID_differs_from_parameters", every_domain("STUDYID", "H101-MPM-201", "H101-MPM-202"),
         "X-031", "critical", "DM", "STUDYID", None, "H101-MPM-202 (parameters: H101-MPM-201)"),
    case("STUDYID_of_another_study_in_AE",
         set_values("ae", {"USUBJID": subj("01-0003"), "AESEQ": "2"}, {"STUDYID": "H101-MPM-202"}),
         "X-032", "critical", "AE", "STUDYID", subj("01-0003"), "H101-MPM-202 (DM: H101-MPM-201)", record="AESEQ=2"),
    # -- covariates
    case("PDL1_above_100", set_values("suppdm", {"USUBJID": subj("01-0003"), "QNAM": "PDL1TPS"}, {"QVAL": "150"}),
         "X-033", "critical", "SUPPDM", "QVAL", subj("01-0003"), "150", record="QNAM=PDL1TPS", group="dm"),
    # -- what stopped `mpm derive` after QC said OK (validate and report agree)
    case("SUPPDM_decimal_comma_number", set_values("suppdm", {"USUBJID": subj("01-0005"), "QNAM": "PDL1TPS"},
                                                   {"QVAL": "2,5"}),
         "X-034", "critical", "SUPPDM", "QVAL", subj("01-0005"), "2,5", record="QNAM=PDL1TPS", group="dm"),
    case("QLQ_C30_fractional_score",
         set_values("qs", {"USUBJID": subj("01-0005"), "QSSEQ": "9", "QSTESTCD": "EOR0109"},
                    {"QSORRES": "2.5", "QSSTRESC": "2.5", "QSSTRESN": "2.5"}),
         "X-035", "critical", "QS", "QSSTRESN", subj("01-0005"), "2.5", record="QSSEQ=9 QSTESTCD=EOR0109 VISIT=BASELINE", group="dm"),
]
#: Ids of the cases added for issue 14 (numbers that changed with no finding).
ISSUE14_CASES = {d.id for d in DEFECTS[DEFECTS.index(next(d for d in DEFECTS if d.id == "USUBJID_case_variant_in_AE")):]}
#: Tested outside the parametrised corpus (test_two_files_for_one_domain).
OTHER_KINDS = {"two_files_for_one_domain"}


def test_corpus_has_at_least_32_distinct_defect_kinds():
    ids = [d.id for d in DEFECTS]
    assert len(set(ids)) == len(ids)
    assert len(set(ids) | OTHER_KINDS) >= 32
    assert len(ISSUE14_CASES) >= 26


def _check(result, exp: Expect) -> str | None:
    """None when the expected finding is there, else what is wrong."""
    failed = result.failed
    hit = failed[failed["RULE_ID"].eq(exp.rule) & failed["DOMAIN"].eq(exp.domain)]
    if hit.empty:
        return f"{exp.rule} did not FAIL for {exp.domain}"
    if not hit["SEVERITY"].eq(exp.severity).all():
        return f"{exp.rule} {exp.domain} has severity {sorted(set(hit['SEVERITY']))}, expected {exp.severity}"
    hit = hit[hit["VARIABLE"].str.contains(exp.variable, regex=False)]
    if hit.empty:
        return f"{exp.rule} {exp.domain} FAILs but no finding names variable {exp.variable!r}"
    if not (pd.to_numeric(hit["N_FAIL"]) >= 1).all():
        return f"{exp.rule} {exp.domain} FAILs with N_FAIL {hit['N_FAIL'].tolist()}"
    details = result.details[result.details["RULE_ID"].eq(exp.rule) & result.details["DOMAIN"].eq(exp.domain)]
    if exp.subject and not (hit["SUBJECTS"].str.contains(exp.subject, regex=False).any()
                            or details["USUBJID"].eq(exp.subject).any()):
        return f"{exp.rule} {exp.domain}.{exp.variable} does not name subject {exp.subject}"
    if exp.value and not (hit["VALUES"].str.contains(exp.value, regex=False).any()
                          or details["VALUE"].astype(str).str.contains(exp.value, regex=False).any()):
        return f"{exp.rule} {exp.domain}.{exp.variable} does not show the offending value {exp.value!r}"
    if exp.record:
        own = details[details["USUBJID"].eq(exp.subject) & details["VARIABLE"].str.contains(exp.variable, regex=False)]
        if not own["RECORD"].str.contains(exp.record, regex=False).any():
            return (f"{exp.rule} {exp.domain}.{exp.variable} does not name the record {exp.record!r} of {exp.subject} "
                    f"(details: {own['RECORD'].tolist()})")
        prefix = exp.domain if not exp.domain.startswith("SUPP") else None
        seq = own.loc[own["RECORD"].str.contains(exp.record, regex=False), "SEQ"]
        if prefix and f"{prefix}SEQ=" in exp.record and not seq.ne("").all():
            return f"{exp.rule} {exp.domain}: the SEQ column of the record is blank"
    return None


def _cell(value) -> str:
    """A cell as text, the same whatever the column's dtype (1 and 1.0, NaN and None and NaT)."""
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value.isoformat() if isinstance(value, pd.Timestamp) else str(value)


def adam_rows(adam: dict) -> Counter:
    """Every ADaM row as (dataset, USUBJID, its cells as text), counted."""
    rows = Counter()
    for name, df in adam.items():
        if "USUBJID" not in df.columns or df.empty:
            continue
        cells = df[sorted(df.columns)].astype(object).map(_cell)
        rows.update(zip([name] * len(df), df["USUBJID"].astype(str), cells.agg("\x1f".join, axis=1)))
    return rows


def changed_subjects(clean: dict, mutated: dict) -> set[str]:
    """Subjects with an ADaM row (any dataset) that is not the same in both derivations."""
    a, b = adam_rows(clean), adam_rows(mutated)
    return {subject for (_, subject, _) in (a - b) + (b - a)}


def _unescape(text: str) -> str:
    try:
        return text.encode("latin-1").decode("unicode_escape")
    except (UnicodeError, ValueError):
        return text


def named_subjects(result) -> set[str]:
    """Subjects (normalised, :func:`mpmlib.qc.rules.normalised_id`) named by a failed rule."""
    failed = result.failed
    details = result.details[result.details["RULE_ID"].isin(failed["RULE_ID"])]
    names = set(details["USUBJID"].astype(str))
    for text in failed["SUBJECTS"].astype(str):
        names.update(part.split(" (+")[0] for part in text.split(", "))
    return {normalised_id(_unescape(n)) for n in names if n}


@pytest.fixture(scope="module")
def clean_run():
    """validate_run on the clean demo: passes, and its ADaM is the reference of every
    "no number changes without a finding" check."""
    return validate_run(DEMO_PARAMS)


def _run(folder: Path):
    # as `mpm validate` / `mpm report` run it: every rule with the demo parameters, then (when
    # no critical rule fails) the ADaM derivation; a data defect must never raise
    return validate_run(override_paths(DEMO_PARAMS, sdtm_dir=str(folder)))


@pytest.fixture(scope="module")
def group_runs(tmp_path_factory):
    """The QC result of each group's shared copy (every defect of the group planted), made once."""
    done = {}

    def get(group: str):
        if group not in done:
            folder = copy_demo(tmp_path_factory.mktemp(f"group_{group}") / "sdtm")
            for member in (d for d in DEFECTS if d.group == group):
                member.mutate(folder)
            done[group] = _run(folder)
        return done[group]
    return get


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.id for d in DEFECTS])
def test_defect_is_caught(defect: Defect, tmp_path, clean_run, group_runs):
    if defect.group:
        result = group_runs(defect.group)
    else:
        folder = copy_demo(tmp_path / "sdtm")
        defect.mutate(folder)
        result = _run(folder)
    report = summary_text(result)
    problems = [p for p in (_check(result, exp) for exp in defect.expect) if p]
    for rule, domain in defect.not_failing:
        wrong = result.failed[result.failed["RULE_ID"].eq(rule) & result.failed["DOMAIN"].eq(domain)]
        if not wrong.empty:
            row = wrong.iloc[0]
            problems.append(f"misleading finding: {rule} {domain}.{row['VARIABLE']} FAILs for {row['N_FAIL']} "
                            f"record(s) ({row['RULE']}) as a consequence of the defect")
    assert not problems, "\n".join(problems) + f"\nQC said:\n{report}"
    if any(exp.severity == "critical" for exp in defect.expect):
        assert result.passed is False, report           # a locked run stops: no number is reported
        assert result.adam is None
    else:
        assert result.passed is True, f"a warning-only defect set off a critical finding:\n{report}"
        # the run goes on: every subject whose ADaM differs from the clean demo's must be named by
        # a failed rule (no number changes without a finding)
        changed = changed_subjects(clean_run.adam, result.adam)
        unnamed = sorted(s for s in changed if normalised_id(s) not in named_subjects(result))
        assert not unnamed, f"ADaM rows of {unnamed} changed with no finding naming them:\n{report}"


# ---- clean and benign inputs -----------------------------------------------------------------

def test_clean_demo_passes_with_no_failed_rule(clean_run):
    """With the demo parameters every rule runs and passes, the derivation dry run included
    (DERIVE-001), and the derived ADaM is kept for the report."""
    result = clean_run
    assert result.passed is True
    assert result.failed.empty, summary_text(result)
    assert result.findings["STATUS"].eq("PASS").all(), result.findings[result.findings["STATUS"].ne("PASS")]
    assert "DERIVE-001" in set(result.findings["RULE_ID"])
    assert result.adam is not None and len(result.adam["adsl"]) == 46


def test_lower_case_RSTESTCD_changes_the_ORR(tmp_path, clean_run):
    """Why X-019 is critical: with the rule downgraded (exploration), the run goes on and the
    confirmed objective response rate of the demo drops from 9 to 8 responders (ADRS CRSP; the
    issue's example), the subject named by the (downgraded) finding."""
    folder = copy_demo(tmp_path / "sdtm")
    set_all("rs", {"USUBJID": subj("01-0002"), "RSTESTCD": "OVRLRESP"}, {"RSTESTCD": "ovrlresp"})(folder)
    params = override_paths(DEMO_PARAMS, sdtm_dir=str(folder))
    params["qc"]["downgrade"] = ["X-019"]
    result = validate_run(params)

    def responders(adam):
        crsp = adam["adrs"][adam["adrs"]["PARAMCD"].eq("CRSP")]
        return set(crsp.loc[crsp["AVALC"].eq("Y"), "USUBJID"])

    assert result.passed is True and result.adam is not None
    assert len(responders(clean_run.adam)) == 9 and responders(clean_run.adam) - responders(result.adam) == {subj("01-0002")}
    hit = result.failed[result.failed["RULE_ID"].eq("X-019")]
    assert hit["DOWNGRADED"].ne("").all() and hit["SUBJECTS"].str.contains(subj("01-0002")).all()


def test_without_parameters_the_study_rules_are_not_run():
    """validate_sdtm without a parameter file: the study-aware rules are NOT RUN (never PASS:
    nothing was checked) and say why; every other rule passes on the clean demo."""
    from mpmlib.qc.rules import STUDY_RULES, rule_catalogue

    result = validate_sdtm(DEMO)
    assert result.passed is True and result.failed.empty, summary_text(result)
    not_run = result.findings[result.findings["STATUS"].eq("NOT RUN")]
    sdtm = {d: df for d, df in result.sdtm.items() if "USUBJID" in df.columns}
    study_ids = {finding["RULE_ID"] for rule in STUDY_RULES for finding, _ in rule(sdtm, None)}
    assert study_ids and study_ids <= set(rule_catalogue())
    assert set(not_run["RULE_ID"]) == study_ids
    assert not_run["VALUES"].eq("no parameter file").all()


def test_bom_and_cp1252_files_are_read_correctly(tmp_path):
    """dm.csv with a UTF-8 byte-order mark (Excel "CSV UTF-8") and ae.csv in cp1252 with an
    accented verbatim term (Excel "CSV" on Windows) are ordinary deliveries: both must be read
    exactly, with no finding at all."""
    folder = copy_demo(tmp_path / "sdtm")
    write(folder, "dm", read(folder, "dm"), encoding="utf-8-sig")
    assert (folder / "dm.csv").read_bytes().startswith(b"\xef\xbb\xbfSTUDYID,")
    ae = read(folder, "ae")
    term = "Fatigué après l'injection"
    ae.loc[_mask(ae, {"USUBJID": subj("01-0003"), "AESEQ": "1"}, first=True), "AETERM"] = term
    write(folder, "ae", ae, encoding="cp1252")
    assert term.encode("cp1252") in (folder / "ae.csv").read_bytes()

    result = validate_sdtm(folder)
    assert result.failed.empty, summary_text(result)
    assert result.passed is True
    dm, ae_read = result.sdtm["dm"], result.sdtm["ae"]
    assert list(dm.columns[:3]) == ["STUDYID", "DOMAIN", "USUBJID"]      # not "\ufeffSTUDYID"
    assert dm["STUDYID"].eq("H101-MPM-201").all() and len(dm) == 46
    assert term in set(ae_read["AETERM"])
    assert result.received.set_index("DOMAIN").loc[["DM", "AE"], "STATUS"].eq("read").all()


def test_two_files_for_one_domain(tmp_path):
    """dm.csv and dm.parquet: QC cannot know which one is the delivery. Either validate_sdtm
    refuses with a DataError or it reports a critical finding; both must name the two files."""
    folder = copy_demo(tmp_path / "sdtm")
    read(folder, "dm").to_parquet(folder / "dm.parquet", index=False)
    try:
        result = validate_sdtm(folder)
    except DataError as exc:
        message = str(exc)
    else:
        assert result.passed is False, summary_text(result)
        message = summary_text(result)
    assert "DM" in message and "dm.csv" in message and "dm.parquet" in message, message


# ---- command line ----------------------------------------------------------------------------

CLI_CASES = {
    # name: (mutation or None, exit code (None: any non-zero), texts the output must contain)
    "clean_demo": (None, 0, []),
    "text_in_DM_AGE": (set_values("dm", {"USUBJID": subj("01-0003")}, {"AGE": "seventy"}), 1,
                       ["DM", "AGE", subj("01-0003"), "seventy"]),
    "subject_not_in_DM": (set_values("ae", {"USUBJID": subj("01-0003"), "AESEQ": "7"}, {"USUBJID": subj("99-0001")}),
                          1, ["AE", "USUBJID", subj("99-0001")]),
    "two_files_for_one_domain": (lambda f: read(f, "dm").to_parquet(f / "dm.parquet", index=False), None,
                                 ["DM", "dm.csv", "dm.parquet"]),
    # the message names the record, not only the subject (one of 215 QS records of 01-0005)
    "QS_item_out_of_range": (set_values("qs", {"USUBJID": subj("01-0005"), "QSSEQ": "9", "QSTESTCD": "EOR0109"},
                                        {"QSORRES": "9", "QSSTRESC": "9", "QSSTRESN": "9"}), 1,
                             ["QS-006", f"QS QSSEQ=9 QSTESTCD=EOR0109 VISIT=BASELINE USUBJID={subj('01-0005')}: 9"]),
    "cross_domain_rule_names_SEQ": (set_values("ae", {"USUBJID": subj("01-0001"), "AESEQ": "1"},
                                               {"AESTDTC": "2024-07-01", "AEENDTC": "2024-07-01"}), 1,
                                    ["X-007", f"AE AESEQ=1 USUBJID={subj('01-0001')}: 2024-07-01 > death"]),
}


@pytest.fixture(scope="module", autouse=True)
def cli_runs(tmp_path_factory):
    """Run ``mpm validate`` for every CLI case one after the other in a background thread,
    starting with the module, so that the ~5 s per process overlap the in-process tests."""
    env = dict(os.environ, MPLBACKEND="Agg")
    commands = {}
    for name, (mutate, _, _) in CLI_CASES.items():
        base = tmp_path_factory.mktemp(f"cli_{name}")
        folder = DEMO
        if mutate is not None:
            folder = copy_demo(base / "sdtm")
            mutate(folder)
        commands[name] = [sys.executable, "-m", "mpmlib.cli", "validate", "--params", "params/demo.yaml",
                          "--sdtm", str(folder), "--out", str(base / "out")]

    def run(cmd):
        proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, text=True, capture_output=True, timeout=120)
        return proc.returncode, proc.stdout, proc.stderr

    with ThreadPoolExecutor(max_workers=1) as pool:
        futures = {name: pool.submit(run, cmd) for name, cmd in commands.items()}
        yield lambda name: futures[name].result()


@pytest.mark.parametrize("name", list(CLI_CASES))
def test_cli_validate(name, cli_runs):
    _, expected_code, texts = CLI_CASES[name]
    code, out, err = cli_runs(name)
    both = out + err
    assert "Traceback" not in both, both
    if expected_code is None:
        assert code != 0, both
    else:
        assert code == expected_code, both
    for text in texts:
        assert text in both, f"{text!r} not in the output:\n{both}"
    if name == "two_files_for_one_domain":       # one clear message, not a cascade
        assert both.count("dm.parquet") == 1, both
