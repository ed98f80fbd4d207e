"""Time the pipeline's steps (not a test: numbers vary with the machine).

    .venv/bin/python tools/benchmark.py            # n = 40 and n = 10000 synthetic subjects
    .venv/bin/python tools/benchmark.py --n 2000

Prints wall-clock seconds for: generating the synthetic SDTM, writing it as CSV, reading it back,
validating it (data QC; includes reading again; GX imported beforehand), and deriving each ADaM
dataset (ADSL, ADEX, ADAE, ADRS, ADTTE, ADTR) and all of them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mpmlib.sdtm import read as io
from mpmlib.synth import trial as synth
from mpmlib.derive import derive_adae, derive_adex, derive_adrs, derive_adsl, derive_adtr, derive_adtte
from mpmlib.derive.pipeline import derive_all
from mpmlib.settings.load import PROJECT_ROOT, load_params
from mpmlib.qc.gate import validate_sdtm


def bench(n: int) -> dict[str, float]:
    times = {}
    t = time.perf_counter()
    domains = synth.generate_trial(n=n, seed=20261124)
    times["generate"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        synth.write_sdtm_csv(domains, Path(tmp))
        times["write csv"] = time.perf_counter() - t
        t = time.perf_counter()
        sdtm = io.read_sdtm(tmp)
        times["read sdtm"] = time.perf_counter() - t
        t = time.perf_counter()
        validate_sdtm(tmp)
        times["validate (incl. read)"] = time.perf_counter() - t
    params = load_params(PROJECT_ROOT / "params" / "demo.yaml")
    eff, adsl_params = params["efficacy"], params["adsl"]
    steps = [
        ("adsl", lambda a: derive_adsl(sdtm, adsl_params, params["data_cutoff"])),
        ("adex", lambda a: derive_adex(a["adsl"], sdtm.get("ex"), adsl_params["study_drugs"])),
        ("adae", lambda a: derive_adae(a["adsl"], sdtm.get("ae"), sdtm.get("suppae"), params["safety"])),
        ("adrs", lambda a: derive_adrs(a["adsl"], sdtm.get("rs"), eff)),
        ("adtte", lambda a: derive_adtte(a["adsl"], a["adrs"], sdtm.get("cm"), eff)),
        ("adtr", lambda a: derive_adtr(a["adsl"], sdtm.get("tu"), sdtm.get("tr"), rs=sdtm.get("rs"))),
    ]
    adam: dict = {}
    for name, step in steps:
        t = time.perf_counter()
        adam[name] = step(adam)
        times[name] = time.perf_counter() - t
    t = time.perf_counter()
    derive_all(sdtm, params)
    times["derive all adam"] = time.perf_counter() - t
    return times


def main() -> None:
    import great_expectations  # noqa: F401  (import time is not part of the measurement)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="*", default=[40, 10000])
    for n in parser.parse_args().n:
        times = bench(n)
        print(f"n={n:>6}: " + ", ".join(f"{step} {sec:.2f} s" for step, sec in times.items()))


if __name__ == "__main__":
    main()
