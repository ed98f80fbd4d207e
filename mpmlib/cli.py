"""The ``mpm`` command: parses arguments and calls mpmlib; no analysis logic of its own.

Anything a user can get wrong (a path, a parameter, the data) ends with one line on stderr
naming the problem and exit status 2; never a traceback:

* :class:`~mpmlib.errors.MpmError` (``DataError``, ``ParamsError``): the library's own message;
* the output root (``--out`` or ``output.dir``) is checked before anything runs: it, or the
  first of its parents that exists, must be a folder (an existing *file* there is refused,
  naming the path);
* :class:`OSError` (permission denied on the output folder, disk full while writing, a file
  removed under our feet): one line with the operating system's reason and the path. This is
  the one last-resort handler, and it is deliberately narrow: an ``OSError`` comes from the
  operating system acting on a path the user chose, so its reason and path are the whole story.
  Programming errors (``TypeError``, ``KeyError``, ``ValueError``...) are not caught and keep
  their traceback, so a bug is never disguised as bad input. ``MPM_TRACEBACK=1`` re-raises the
  ``OSError`` with its traceback for debugging.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mpmlib.errors import MpmError
from mpmlib.text import visible


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except MpmError as exc:
        print(f"mpm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if os.environ.get("MPM_TRACEBACK"):
            raise
        print(f"mpm {args.command}: error: {os_error_text(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mpm {args.command}: interrupted", file=sys.stderr)
        return 130


def os_error_text(exc: OSError) -> str:
    """One line: the operating system's reason and the path(s) it concerns."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    paths = [visible(str(p)) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{reason}: {' -> '.join(paths)}" if paths else reason


def check_output_root(out: str | Path) -> None:
    """The output root must be a folder, or not exist yet below a folder (it is created)."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise MpmError(f"output folder is an existing file, not a folder: {visible(str(path))} "
                       "(give --out or output.dir a folder)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise MpmError(f"output folder {visible(str(path))} cannot be made: {visible(str(parent))} "
                               "is a file, not a folder")
            break


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mpm", description="H101 + PD-1 MPM trial analysis pipeline")
    sub = parser.add_subparsers(dest="command", required=True)

    synth = sub.add_parser("synth", help="write a synthetic SDTM trial (CSV) for the demo")
    synth.add_argument("--n", type=int, default=40, help="number of enrolled subjects (default 40)")
    synth.add_argument("--seed", type=int, default=20261124, help="random seed (default 20261124)")
    synth.add_argument("--out", default="data/demo", help="output folder (default data/demo)")
    synth.set_defaults(func=cmd_synth)

    for name, helptext, func in (
        ("validate", "data QC: exit 0 when no critical rule fails, 1 otherwise", cmd_validate),
        ("derive", "derive ADaM datasets into OUT/adam/", cmd_derive),
        ("report", "run the whole pipeline into OUT/report/", cmd_report),
        ("lock", "freeze inputs, parameters and packages: write <params>.lock.json beside the file", cmd_lock),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--params", required=True, help="parameter file, e.g. params/demo.yaml")
        p.add_argument("--sdtm", help="SDTM folder replacing the parameter file's input (one file per domain)")
        p.add_argument("--out", help="output root (default outputs/<parameter file stem>)")
        p.set_defaults(func=func)
    return parser


def cmd_synth(args) -> int:
    from mpmlib.synth.trial import generate_trial, write_sdtm_csv

    if args.n < 1:
        raise MpmError("--n must be at least 1")
    paths = write_sdtm_csv(generate_trial(n=args.n, seed=args.seed), Path(args.out))
    print(f"wrote {len(paths)} SDTM domains for {args.n} enrolled subjects (seed {args.seed}) to {args.out}")
    return 0


def _load(args) -> dict:
    from mpmlib.settings.load import load_params, override_paths

    params = override_paths(load_params(args.params), args.sdtm, args.out)
    check_output_root(params["output"]["dir"])
    return params


def cmd_validate(args) -> int:
    from mpmlib.qc.gate import summary_text, validate_run

    params = _load(args)
    result = validate_run(params)      # the same gate as mpm report, derivation dry run included
    result.save(Path(params["output"]["dir"]) / "qc")
    print(summary_text(result))
    return 0 if result.passed else 1


def cmd_derive(args) -> int:
    from mpmlib.sdtm import read as io
    from mpmlib.derive.pipeline import derive_all
    from mpmlib.report.pipeline import write_adam

    params = _load(args)
    sdtm = io.read_sdtm(params["sdtm"]["dir"], params["sdtm"]["files"], params["sdtm"]["max_file_mb"])
    adam = derive_all(sdtm, params)
    adam_dir = Path(params["output"]["dir"]) / "adam"
    write_adam(adam, adam_dir)
    adsl = adam["adsl"]
    counts = ", ".join(f"{flag} {int(adsl[flag].eq('Y').sum())}" for flag in ("ENRLFL", "SAFFL", "EFFFL"))
    print(f"ADaM written to {adam_dir}: " + ", ".join(f"{k} ({len(v)} rows)" for k, v in adam.items()))
    print(f"ADSL: {len(adsl)} subjects in DM; {counts}")
    print_response_warnings(adam["adrs"])
    return 0


def print_response_warnings(adrs) -> None:
    """One warning line per reason an overall response was not analysed (e.g. pharmaversesdtm's
    "CHECK" value, which admiral also leaves out), naming the subjects."""
    from mpmlib.derive.adrs import excluded_records

    excluded = excluded_records(adrs)
    for reason, rows in excluded.groupby("ANLEXCL", sort=True):
        subjects = sorted(rows["USUBJID"].unique())
        shown = ", ".join(subjects[:5]) + (f" (+{len(subjects) - 5} more)" if len(subjects) > 5 else "")
        print(f"warning: RS.RSSTRESC: {len(rows)} overall response record(s) not analysed - {reason} "
              f"[USUBJID: {shown}]", file=sys.stderr)


def cmd_lock(args) -> int:
    from mpmlib.lock import write_lock

    params = _load(args)
    path = write_lock(params)
    print(f"lock written: {path} (reports from {params['_path']} are now locked runs; "
          f"delete the lock to explore again)")
    return 0


def cmd_report(args) -> int:
    from mpmlib.report.pipeline import build_report

    index = build_report(_load(args))
    print(f"report written: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
