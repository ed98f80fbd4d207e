"""Benchmark of the report pipeline (not a test: the numbers depend on the machine).

    .venv/bin/python bench/benchmark.py                    # everything below, n = 40 / 1000 / 10000
    .venv/bin/python bench/benchmark.py --sizes 40 1000    # skip the 10,000-subject run

Reports, in one run:

1. the full demo report (``mpm report``, fresh output folder: QC, ADaM, every notebook, HTML);
2. the floor: the same analyses as plain Python in one process - validation, derivation and
   the code cells of every notebook executed in one interpreter, with no kernel, papermill or
   nbconvert - and the ratio of 1 to 2 (target <= 1.5);
3. a no-change rerun of ``make report`` (target <= 0.5 s);
4. ``mpm report --sdtm BIG --out DIR`` for synthetic trials of 40, 1,000 and 10,000 subjects
   (targets: 10,000 end to end <= 60 s on 2 cores and <= 4x the 40-subject run).

Wall-clock seconds from ``time.perf_counter``; the synthetic SDTM is generated before timing.
Results go to stdout as a Markdown table (paste into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import contextlib
import io as stdio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PY = sys.executable
MPM = [PY, "-m", "mpmlib.cli"]


def env() -> dict:
    local = PROJECT / ".jupyter"
    out = dict(os.environ, MPLBACKEND="Agg", JUPYTER_PLATFORM_DIRS="1")
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "matplotlib")):
        out.setdefault(var, str(local / sub))
        Path(out[var]).mkdir(parents=True, exist_ok=True)
    return out


def timed(cmd: list[str], **kwargs) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=PROJECT, env=env(), capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return elapsed


def full_report(sdtm: Path | None, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [*MPM, "report", "--params", "params/demo.yaml", "--out", str(out)]
    if sdtm is not None:
        cmd += ["--sdtm", str(sdtm)]
    return timed(cmd)


FLOOR_SCRIPT = r'''
import os, sys, time
os.environ["MPLBACKEND"] = "Agg"
start = time.perf_counter()
import jupytext, matplotlib
matplotlib.use("Agg")
import IPython.display
IPython.display.display = lambda *a, **k: None          # outputs are not rendered in the floor
from pathlib import Path
from mpmlib.settings.load import load_params, override_paths
from mpmlib.qc.gate import validate_run
from mpmlib.report.pipeline import write_adam
project, out = Path(sys.argv[1]), Path(sys.argv[2])
params = override_paths(load_params(project / "params" / "demo.yaml"), None, str(out))
qc = validate_run(params)                  # QC with the derivation dry run, as mpm report
qc.save(out / "qc")
write_adam(qc.adam, out / "adam")
for name in params["report"]["notebooks"]:
    nb = jupytext.read(project / "notebooks" / f"{name}.py")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", []))
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
    namespace = {"params_file": str(project / "params" / "demo.yaml"), "sdtm_dir": params["sdtm"]["dir"],
                 "out_dir": str(out), "adam_dir": str(out / "adam"), "qc_dir": str(out / "qc"), "tables_dir": None,
                 "__name__": "__floor__"}
    os.chdir(project / "notebooks")
    exec(compile(code, name, "exec"), namespace)
    matplotlib.pyplot.close("all")
print(f"{time.perf_counter() - start:.3f}")
'''


def floor(out: Path) -> float:
    """Plain Python in one process (includes its own imports, as the report does)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    start = time.perf_counter()
    done = subprocess.run([PY, "-c", FLOOR_SCRIPT, str(PROJECT), str(out)], cwd=PROJECT, env=env(),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"floor failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def no_change_rerun() -> float:
    timed(["make", "report"])                         # make sure it is up to date
    return timed(["make", "report"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[40, 1000, 10000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mpm-bench-") as tmp:
        tmp = Path(tmp)
        report = full_report(None, tmp / "demo")
        base = floor(tmp / "floor")
        rows += [("Full demo report (mpm report, 40 subjects, fresh output)", report),
                 ("Floor: same analyses as plain Python in one process", base),
                 ("Ratio report / floor (target <= 1.5)", report / base),
                 ("No-change rerun of make report (target <= 0.5 s)", no_change_rerun())]
        sizes = {}
        for n in args.sizes:
            data = tmp / f"sdtm{n}"
            subprocess.run([*MPM, "synth", "--n", str(n), "--seed", "20261124", "--out", str(data)], cwd=PROJECT,
                           env=env(), check=True, capture_output=True)
            sizes[n] = full_report(data, tmp / f"out{n}")
            rows.append((f"mpm report --sdtm (synthetic, {n:,} subjects)", sizes[n]))
        if 40 in sizes and 10000 in sizes:
            rows.append(("Ratio 10,000 / 40 subjects (target <= 4)", sizes[10000] / sizes[40]))
    print("| measure | value |\n|---|---|")
    for label, value in rows:
        unit = "" if label.startswith("Ratio") else " s"
        print(f"| {label} | {value:.2f}{unit} |")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
