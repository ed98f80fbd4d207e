"""The report pipeline: derive ADaM, run every notebook with papermill, convert to HTML, write
an index with provenance.

Reproducibility (toolchain notes §5): notebooks are executed with fixed parameters, then
normalised (cell ids, papermill/nbclient timing metadata and memory addresses removed); HTML
is produced without code, without the parameter cells and without stderr, with a template that
loads nothing from the network. No run timestamp is written anywhere, so the same commit,
parameters and inputs give byte-identical HTML.

Nothing half-written looks finished: notebooks render into ``report.partial/``, which replaces
``report/`` only when every notebook succeeded. A failed notebook is kept, executed up to the
failing cell, in ``<out>/failed/`` and the error names it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import time
from importlib import metadata
from pathlib import Path

import nbformat
import pandas as pd

from mpmlib.sdtm import read as io
from mpmlib.errors import MpmError
from mpmlib.settings.load import PROJECT_ROOT
from mpmlib.tables.format import html_text

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = PACKAGE_DIR / "templates"
KERNEL_NAME = "python3"
QC_NOTEBOOK = "10_data_qc"
PACKAGES = ["mpmlib", "pandas", "numpy", "scipy", "statsmodels", "lifelines", "matplotlib", "seaborn",
            "great-expectations", "papermill", "nbconvert", "nbclient", "ipykernel", "pyreadstat",
            "pyreadr", "pyarrow", "PyYAML"]


def build_report(params: dict, notebooks_dir: Path = NOTEBOOKS_DIR) -> Path:
    """Run the whole pipeline for one parameter set; return the path of ``index.html``.

    Incremental: a notebook whose inputs (its notebook file, the code, the parameters, the lock
    and the ADaM / QC / SDTM files it reads, :data:`NOTEBOOK_INPUTS`) are unchanged since the last
    run is not executed again: its executed copy is converted again with this run's provenance
    footer and its CSV tables are carried over. The notebooks that do run share a few kernels
    (:class:`KernelPool`, one per core: imports paid once per kernel, notebooks in parallel),
    started before data QC so that they import the analysis stack while QC runs.
    """
    from mpmlib.lock import check_locked_run
    from mpmlib.qc.gate import summary_text, validate_run

    lock = check_locked_run(params)            # a locked run stops here when anything differs
    out = Path(params["output"]["dir"])
    report_dir, staging, failed_dir, executed_dir = (out / "report", out / "report.partial",
                                                     out / "failed", out / "notebooks")
    previous = out / "report.previous"
    # the input folder is listed before anything is moved: a folder that cannot be listed (a
    # symbolic link loop, a folder named like a domain) stops the run with the last report intact
    files = io.find_domain_files(params["sdtm"]["dir"], params["sdtm"]["files"])
    for folder in (staging, failed_dir, previous, out / "qc"):
        shutil.rmtree(folder, ignore_errors=True)
    if report_dir.is_dir():
        report_dir.rename(previous)            # kept only to reuse unchanged pages, deleted below
    pool = KernelPool(notebooks_dir, report_kernels(len(params["report"]["notebooks"])))
    try:
        pool.start()                           # kernels import the analysis stack while QC runs
        # 1. the gate: data QC first (with the derivation dry run: validate and report agree);
        # its report is written whatever the verdict
        qc = validate_run(params)
        qc.save(out / "qc")
        print(summary_text(qc))
        notebooks = list(params["report"]["notebooks"])
        if not qc.passed:
            notebooks = [nb for nb in notebooks if nb == QC_NOTEBOOK] or [QC_NOTEBOOK]
        else:  # 2. ADaM, derived once (by the QC dry run); every notebook reads it
            shutil.rmtree(out / "adam", ignore_errors=True)
            write_adam(qc.adam, out / "adam")

        provenance = collect_provenance(params, files, lock)
        footer = provenance_footer(provenance)
        staging.mkdir(parents=True)
        executed_dir.mkdir(parents=True, exist_ok=True)
        cache_file = out / "report-cache.json"
        cache = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
        keys = {name: notebook_key(name, notebooks_dir, params, out, files) for name in notebooks}
        try:
            entries, to_run = {}, []
            for name in notebooks:
                if cache.get(name) == keys[name] and reuse_pages(name, previous, staging, executed_dir):
                    entries[name] = rerender(name, executed_dir, staging, footer)
                    print(f"  {name}: inputs unchanged, page carried over")
                else:
                    to_run.append(name)
            entries.update(pool.render_all(to_run, lambda name, runner: arender_notebook(
                name, notebooks_dir, staging, executed_dir, failed_dir, params, out, footer, runner)))
            entries = [entries[name] for name in notebooks]
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            cache_file.unlink(missing_ok=True)
            raise
        (staging / "provenance.json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n",
                                                 encoding="utf-8")
        (staging / "index.html").write_text(
            index_html(params, entries, provenance, latest_data_date(qc.sdtm), qc_verdict(qc)), encoding="utf-8")
        staging.rename(report_dir)
        cache_file.write_text(json.dumps(keys, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        write_make_dependencies(out, params, files, notebooks, notebooks_dir)
    finally:
        pool.close()
        shutil.rmtree(previous, ignore_errors=True)
    if not qc.passed:
        os.utime(report_dir / "index.html", (0, 0))    # make must not call a stopped run up to date
        raise MpmError(f"data QC failed: {len(qc.critical)} critical rule(s); analyses not run. "
                       f"QC report: {report_dir / (QC_NOTEBOOK + '.html')}")
    return report_dir / "index.html"


# ---- incremental runs ----------------------------------------------------------------------------

#: What each report notebook reads besides its own file, the code and the parameters: ADaM
#: datasets (``adam/<name>.parquet``), data-QC results (``qc/*``) and SDTM domains (``sdtm:<domain>``;
#: ``sdtm:*`` = the list of domains received). A notebook not listed depends on everything.
NOTEBOOK_INPUTS = {
    "00_data_overview": ["adam/adsl", "adam/adex", "sdtm:*"],
    "10_data_qc": ["qc/*", "sdtm:*"],
    "20_efficacy": ["adam/adsl", "adam/adrs", "adam/adtte", "adam/adtr"],
    "30_safety": ["adam/adsl", "adam/adae", "adam/adex", "sdtm:ds", "sdtm:dd"],
    "40_qol": ["adam/adsl", "adam/adqs", "adam/adrs", "sdtm:qs"],
    "50_influencing_factors": ["adam/adsl", "adam/adrs", "adam/adtte"],
}
CODE_DIRS = [PACKAGE_DIR]


def code_files() -> list[Path]:
    """Every file of the mpmlib package that can change a report (code, templates, resources)."""
    return sorted(p for d in CODE_DIRS for p in d.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def notebook_key(name: str, notebooks_dir: Path, params: dict, out: Path, files: dict) -> str:
    """SHA-256 over everything the notebook's output depends on (see :data:`NOTEBOOK_INPUTS`)."""
    import hashlib

    from mpmlib.lock import lock_path

    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    source = notebooks_dir / f"{name}.ipynb"
    add("notebook", source.read_bytes() if source.is_file() else b"")
    for path in code_files():
        add(str(path.relative_to(PACKAGE_DIR)), path.read_bytes())
    add("params", Path(params["_path"]).read_bytes())
    add("params-resolved", json.dumps({"sdtm": params.sdtm.model_dump(), "out": params.output.model_dump()}, sort_keys=True).encode())
    lock = lock_path(params)
    add("lock", lock.read_bytes() if lock.is_file() else b"")
    needs = NOTEBOOK_INPUTS.get(name, ["adam/*", "qc/*", "sdtm:**"])
    for need in needs:
        if need.startswith("sdtm:"):
            domain = need[5:]
            if domain == "*":
                add("domains", " ".join(sorted(files)).encode())
            elif domain == "**":
                for d, path in sorted(files.items()):
                    add(f"sdtm:{d}", path.read_bytes())
            elif domain in files:
                add(f"sdtm:{domain}", files[domain].read_bytes())
        else:
            folder, stem = need.split("/")
            pattern = f"{stem}.parquet" if folder == "adam" and stem != "*" else "*"
            for path in sorted((out / folder).glob(pattern)):
                add(f"{folder}/{path.name}", path.read_bytes())
    return digest.hexdigest()


def reuse_pages(name: str, previous: Path, staging: Path, executed_dir: Path) -> bool:
    """Copy a notebook's CSV tables from the previous report; False when its page or executed
    notebook is missing (then it is executed again)."""
    if not (previous / f"{name}.html").is_file() or not (executed_dir / f"{name}.ipynb").is_file():
        return False
    for path in previous.glob(f"{name}_*.csv"):
        shutil.copy2(path, staging / path.name)
    return True


def rerender(name: str, executed_dir: Path, staging: Path, footer: str) -> dict:
    """HTML of a carried-over notebook from its executed copy, with this run's provenance footer
    (the footer names every input, so it changes when any input does; the analysis does not)."""
    nb = nbformat.read(executed_dir / f"{name}.ipynb", as_version=4)
    title = notebook_title(nb) or name
    (staging / f"{name}.html").write_text(notebook_to_html(nb, title, footer), encoding="utf-8")
    return {"name": name, "title": title, "file": f"{name}.html"}


def write_make_dependencies(out: Path, params: dict, files: dict, notebooks: list[str], notebooks_dir: Path) -> Path:
    """``OUT/report.d`` for the Makefile (as ``gcc -MD`` does): the report index depends on the
    parameter file, its lock, every input file, the notebooks, the code and the lock file of the
    environment, so ``make report`` with nothing changed does nothing."""
    from mpmlib.lock import lock_path

    def rel(path: Path) -> str:
        try:
            return str(path.resolve().relative_to(PROJECT_ROOT)).replace(" ", "\\ ")
        except ValueError:
            return str(path.resolve()).replace(" ", "\\ ")

    deps = [Path(params["_path"]), *files.values(), *(notebooks_dir / f"{n}.ipynb" for n in notebooks),
            *code_files(), PROJECT_ROOT / "requirements.lock"]
    lock = lock_path(params)
    if lock.is_file():
        deps.append(lock)
    target = rel(out / "report" / "index.html")
    names = [rel(d) for d in deps]
    text = f"{target}: \\\n  " + " \\\n  ".join(names) + "\n"
    text += "".join(f"{n}:\n" for n in names)       # as gcc -MP: a deleted input reruns, not errors
    path = out / "report.d"
    path.write_text(text, encoding="utf-8")
    return path


def qc_verdict(qc) -> str:
    """One line for the index page: stopped (critical rules failed: every run stops, locked or
    exploratory), or passed, naming the critical rules the parameter file downgraded to warnings
    (``qc.downgrade``, exploration only) apart from the warning rules that failed."""
    if not qc.passed:
        ids = ", ".join(sorted(set(qc.critical["RULE_ID"])))
        return (f"STOPPED: {len(qc.critical)} critical data-QC rule(s) failed ({ids}); "
                "only the QC report was produced.")
    down = sorted(set(qc.downgraded["RULE_ID"]))
    warnings = len(qc.failed) - len(qc.downgraded)
    parts = ([f"{len(down)} critical rule(s) downgraded to warnings by the parameter file ({', '.join(down)})"]
             if down else []) + ([f"{warnings} warning rule(s) failed"] if warnings or down else [])
    return "Data QC passed" + (f": {', '.join(parts)}; see the QC report." if parts else ".")


def verdict_class(verdict: str) -> str:
    """CSS class of the verdict line: ``stop``, ``warn`` (findings to review) or ``ok``."""
    if verdict.startswith("STOPPED"):
        return "stop"
    return "warn" if verdict.startswith("Data QC passed:") else "ok"


def render_notebook(name: str, notebooks_dir: Path, staging: Path, executed_dir: Path, failed_dir: Path,
                    params: dict, out: Path, footer: str = "", runner=None) -> dict:
    """Execute one notebook and write its HTML into ``staging``; return its index entry."""
    from nbclient.util import run_sync

    if runner is None:
        with NotebookRunner(notebooks_dir) as own:
            return run_sync(arender_notebook)(name, notebooks_dir, staging, executed_dir, failed_dir,
                                              params, out, footer, own)
    return run_sync(arender_notebook)(name, notebooks_dir, staging, executed_dir, failed_dir, params, out,
                                      footer, runner)


async def arender_notebook(name: str, notebooks_dir: Path, staging: Path, executed_dir: Path, failed_dir: Path,
                           params: dict, out: Path, footer: str, runner: "NotebookRunner") -> dict:
    """:func:`render_notebook` on a given kernel, as a coroutine (for :class:`KernelPool`)."""
    source = notebooks_dir / f"{name}.ipynb"
    if not source.is_file():
        raise MpmError(f"report.notebooks: notebook not found: {source}")
    nb = parameterised_notebook(source, params, out)
    await runner.arun(nb, source.stem, executed_dir / f"{name}.ipynb", failed_dir)
    nb = normalise_notebook(nb)
    nbformat.write(nb, executed_dir / f"{name}.ipynb")
    title = notebook_title(nb) or name
    (staging / f"{name}.html").write_text(notebook_to_html(nb, title, footer), encoding="utf-8")
    return {"name": name, "title": title, "file": f"{name}.html"}


def write_adam(adam: dict, adam_dir: Path) -> None:
    """ADaM datasets as Parquet (typed; dates stay dates) into ``adam_dir``."""
    adam_dir.mkdir(parents=True, exist_ok=True)
    for name, df in adam.items():
        io.write_dataset(df, adam_dir / f"{name}.parquet")


def parameterised_notebook(source: Path, params: dict, out: Path):
    """The notebook with the run's parameters injected by papermill (the ADaM, QC and table
    folders; only parameters the notebook declares)."""
    import papermill as pm
    from papermill.parameterize import parameterize_notebook

    available = {"params_file": params["_path"], "sdtm_dir": params["sdtm"]["dir"],
                 "out_dir": params["output"]["dir"], "adam_dir": str(out / "adam"), "qc_dir": str(out / "qc"),
                 "tables_dir": str(out / "report.partial")}     # CSV tables land next to the HTML
    nb = pm.iorw.load_notebook_node(str(source))
    declared = set(pm.inspect_notebook(str(source)))
    return parameterize_notebook(nb, {k: v for k, v in available.items() if k in declared}, report_mode=False)


#: Analysis modules the kernels import while data QC runs in the report process (every
#: notebook imports what it uses itself; this only moves the cost off the critical path).
KERNEL_WARMUP = ("import matplotlib, seaborn, lifelines, statsmodels.api, scipy.stats, pandas\n"
                 "import mpmlib.notebook, mpmlib.analysis.efficacy, mpmlib.analysis.safety, mpmlib.analysis.qol, mpmlib.analysis.factors\n"
                 "import mpmlib.plots.efficacy, mpmlib.plots.safety, mpmlib.plots.qol, mpmlib.plots.factors")

#: Relative cost of each notebook (seconds at 10,000 subjects, docs/benchmarks.md): the fixed
#: plan that spreads notebooks over the kernels. Unknown notebooks count as 1.
NOTEBOOK_COST = {"40_qol": 8.0, "50_influencing_factors": 6.0, "20_efficacy": 6.0, "30_safety": 3.5,
                 "00_data_overview": 3.0, "10_data_qc": 0.5}


def report_kernels(n_notebooks: int) -> int:
    """Kernels for a report: one per core, at most 2 (measured: a third brings nothing on 2
    cores and costs memory), never more than there are notebooks. ``MPM_KERNELS`` overrides."""
    wanted = int(os.environ.get("MPM_KERNELS", min(2, os.cpu_count() or 1)))
    return max(1, min(wanted, n_notebooks))


def kernel_plan(names: list[str], kernels: int) -> list[list[str]]:
    """Which kernel runs which notebooks: longest first to the least-loaded kernel (LPT), ties
    to the lower kernel number, each kernel's list in report order. Fixed by the notebook list
    alone, so every run of the same report runs the same notebooks together."""
    loads, plan = [0.0] * kernels, [[] for _ in range(kernels)]
    for name in sorted(names, key=lambda n: (-NOTEBOOK_COST.get(n, 1.0), names.index(n))):
        k = loads.index(min(loads))
        plan[k].append(name)
        loads[k] += NOTEBOOK_COST.get(name, 1.0)
    return [sorted(p, key=names.index) for p in plan if p]


class NotebookRunner:
    """One Python kernel shared by several notebooks (nbclient), started on first use or by
    :meth:`astart` (which can send :data:`KERNEL_WARMUP` without waiting for it).

    Each notebook starts from an empty namespace (``%reset -f``); modules stay imported, which is
    what makes a report of several notebooks fast. Cells run in order with errors stopping the
    notebook, as papermill does.
    """

    def __init__(self, cwd: Path):
        self.cwd = Path(cwd)
        self.boot = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        from nbclient.util import run_sync

        run_sync(self.aclose)()

    async def aclose(self) -> None:
        """Stop the kernel at once (everything it made is already written; a graceful shutdown
        only waited ~0.7 s per kernel)."""
        if self.boot is not None:
            boot, self.boot = self.boot, None
            await boot._async_cleanup_kernel()

    async def astart(self, warmup: str | None = None) -> None:
        from nbclient import NotebookClient

        self.boot = NotebookClient(nbformat.v4.new_notebook(), kernel_name=KERNEL_NAME,
                                   resources={"metadata": {"path": str(self.cwd)}},
                                   extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no TCP notice on stderr
                                   shutdown_kernel="immediate")
        self.boot.km = self.boot.create_kernel_manager()
        await self.boot.async_start_new_kernel(cwd=str(self.cwd))
        await self.boot.async_start_new_kernel_client()
        if warmup:
            self.boot.kc.execute(warmup, silent=True, store_history=False)   # no output; replies ignored

    async def arun(self, nb, name: str, executed: Path, failed_dir: Path) -> None:
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        if self.boot is None:
            await self.astart()
        # a clean namespace for every notebook: a first cell, taken out again after the run
        nb.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
        client = NotebookClient(nb, km=self.boot.km, timeout=1800, allow_errors=False,
                                resources={"metadata": {"path": str(self.cwd)}})
        client.kc = self.boot.kc
        try:
            await client.async_execute()
        except CellExecutionError as exc:
            nb.cells.pop(0)
            failed_dir.mkdir(parents=True, exist_ok=True)
            nbformat.write(normalise_notebook(nb), failed_dir / executed.name)
            cell = next((i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error"
                                                                  for o in c.get("outputs", []))), "?")
            raise MpmError(f"notebook {name} failed in cell {cell}: {exc.ename}: {exc.evalue} "
                           f"(executed copy: {failed_dir / executed.name})") from None
        nb.cells.pop(0)

    def run(self, nb, name: str, executed: Path, failed_dir: Path) -> None:
        from nbclient.util import run_sync

        run_sync(self.arun)(nb, name, executed, failed_dir)


class KernelPool:
    """The kernels of one report. Notebooks are spread over them by :func:`kernel_plan` and run
    concurrently (one asyncio loop drives every kernel; each kernel runs its notebooks in order);
    a page is converted to HTML as soon as its notebook is done, while the other kernels work.

    Only the scheduling is parallel: each notebook starts from an empty namespace in a kernel
    whose state (imported modules) is the same whichever notebooks ran before, so the HTML does
    not depend on the plan (the byte-identical test runs the report twice; the incremental test
    runs single notebooks).
    """

    def __init__(self, cwd: Path, size: int):
        self.runners = [NotebookRunner(cwd) for _ in range(size)]

    def start(self) -> None:
        import asyncio

        from nbclient.util import run_sync

        async def start_all():
            await asyncio.gather(*(r.astart(KERNEL_WARMUP) for r in self.runners))
        run_sync(start_all)()

    def close(self) -> None:
        import asyncio

        from nbclient.util import run_sync

        async def close_all():
            await asyncio.gather(*(r.aclose() for r in self.runners))
        run_sync(close_all)()

    def render_all(self, names: list[str], render) -> dict:
        """``render(name, runner)`` for every notebook, concurrently across kernels; returns
        ``{name: entry}``. The first failure stops the run (the other kernels finish their
        current notebook and are shut down with the pool)."""
        import asyncio

        from nbclient.util import run_sync

        if not names:
            return {}
        plan = kernel_plan(names, len(self.runners))
        entries: dict = {}

        async def work(runner, queue):
            for name in queue:
                started = time.perf_counter()
                entries[name] = await render(name, runner)
                print(f"  {name}: executed ({time.perf_counter() - started:.1f} s)", flush=True)

        async def run_plan():
            tasks = [asyncio.ensure_future(work(r, q)) for r, q in zip(self.runners, plan)]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        run_sync(run_plan)()
        return entries


_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def normalise_notebook(nb):
    """Remove everything that changes between identical runs: cell ids, papermill and nbclient
    timing metadata, run paths, memory addresses in text/plain output."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
        if cell.get("cell_type") == "code":
            cell["execution_count"] = None        # counts run on across notebooks in a shared kernel
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output["execution_count"] = None
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/plain" in data:
                data["text/plain"] = _ADDRESS.sub("", data["text/plain"])
    return nb


def notebook_title(nb) -> str | None:
    """The first level-1 Markdown heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


def notebook_to_html(nb, title: str, footer: str = "") -> str:
    """HTML without code, prompts, parameter cells or stderr, loading nothing from the network."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream"
                                                             and o.get("name") == "stderr")]
    exporter = HTMLExporter(template_name="mpm", extra_template_basedirs=[str(TEMPLATES_DIR)],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(TagRemovePreprocessor(
        remove_cell_tags={"parameters", "injected-parameters"}, enabled=True), enabled=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}, "mpm_footer": footer})
    return body


def latest_data_date(sdtm: dict) -> str | None:
    """Latest complete ISO 8601 date in any ``--DTC`` variable (the 'date of data' when the
    parameter file gives no data cut-off)."""
    latest = None
    for df in sdtm.values():
        for col in df.columns:
            if col.endswith("DTC"):
                text = pd.Series(pd.unique(df[col].dropna().astype(str))).str.slice(0, 10)   # distinct values
                text = text[text.str.fullmatch(r"\d{4}-\d{2}-\d{2}")]
                if len(text):
                    candidate = text.max()
                    latest = candidate if latest is None or candidate > latest else latest
    return latest


def collect_provenance(params: dict, files: dict[str, Path], lock: dict | None = None) -> dict:
    """Locked or exploratory, commit, parameter file, data cut-off, input file hashes and
    package versions."""
    from mpmlib.lock import lock_path

    path = lock_path(params)
    return {
        "run": (f"LOCKED ({path.name}, locked on {lock['locked_on']}; inputs, parameters and packages verified)"
                if lock else "EXPLORATORY (no lock file; results may change with the data)"),
        "lock_file_sha256": io.sha256_file(path) if lock else None,
        "data_cutoff": params["data_cutoff"],
        "git_commit": git_commit(),
        "parameter_file": _display_path(Path(params["_path"])),
        "parameter_file_sha256": io.sha256_file(params["_path"]),
        "sdtm_dir": _display_path(Path(params["sdtm"]["dir"])),
        "inputs": {domain.upper(): {"file": path.name, "sha256": io.sha256_file(path)}
                   for domain, path in sorted(files.items())},
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def provenance_footer(provenance: dict) -> str:
    """The provenance block at the foot of every report page (HTML; every text escaped,
    :func:`mpmlib.tables.format.html_text`)."""
    esc = html_text
    inputs = "; ".join(f"{esc(d)} {esc(v['file'])} <code>{esc(v['sha256'][:16])}</code>"
                       for d, v in provenance["inputs"].items())
    packages = ", ".join(f"{esc(k)} {esc(str(v))}" for k, v in provenance["packages"].items())
    return (f'<details class="mpm-provenance"><summary><b>Provenance</b>: {esc(provenance["run"])}</summary>'
            f'<p>Code: <code>{esc(provenance["git_commit"])}</code> &middot; parameters: '
            f'{esc(provenance["parameter_file"])} <code>{esc(provenance["parameter_file_sha256"][:16])}</code> '
            f'&middot; data cut-off: {esc(str(provenance["data_cutoff"] or "not set"))}</p>'
            f'<p>Inputs (SHA-256, first 16 hex digits): {inputs}</p>'
            f'<p>Python {esc(provenance["python"])}; {packages}</p></details>')


def git_commit() -> str:
    """HEAD commit of the project, with ``+modified`` when tracked files differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+modified" if dirty else "")


def index_html(params: dict, entries: list[dict], provenance: dict, data_date: str | None,
               verdict: str = "") -> str:
    """The report's front page: title, date of data, a link per notebook, provenance."""
    esc = html_text          # every text from the parameter file, the data or the run: escaped, invisibles shown
    title = params["study"]["title"] or params["_name"]
    description = params["study"].get("description")
    description = f'<p class="description">{esc(description)}</p>\n' if description else ""
    cutoff = params["data_cutoff"]
    date_line = (f"Data cut-off: <b>{esc(cutoff)}</b>" if cutoff else
                 f"Date of data (latest date in the input): <b>{esc(data_date or 'unknown')}</b>")
    links = "\n".join(f'<li><a href="{esc(e["file"])}">{esc(e["title"])}</a></li>' for e in entries)
    inputs = "\n".join(f"<tr><td>{esc(d)}</td><td>{esc(v['file'])}</td><td><code>{esc(v['sha256'])}</code></td></tr>"
                       for d, v in provenance["inputs"].items())
    packages = ", ".join(f"{esc(k)} {esc(str(v))}" for k, v in provenance["packages"].items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc(title)}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 980px;
       margin: 2em auto; color: #222; line-height: 1.45; padding: 0 1em; }}
h1 {{ font-size: 1.6em; margin-bottom: .2em; }}
table {{ border-collapse: collapse; font-size: .85em; }}
td, th {{ border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }}
code {{ font-size: .9em; word-break: break-all; }}
.muted {{ color: #666; font-size: .9em; }}
.stop {{ background: #fdecea; border-left: 5px solid #c0392b; padding: .5em .8em; font-weight: bold; }}
.ok {{ background: #eaf5ea; border-left: 5px solid #2e7d32; padding: .5em .8em; }}
.warn {{ background: #fdf3e1; border-left: 5px solid #b7791f; padding: .5em .8em; }}
</style>
</head>
<body>
<h1>{esc(title)}</h1>
{description}<p>{date_line} &middot; Run: <code>{esc(params['_name'])}</code></p>
<p class="{'ok' if provenance['run'].startswith('LOCKED') else 'muted'}">{esc(provenance['run'])}</p>
<p class="{verdict_class(verdict)}">{esc(verdict)}</p>
<h2>Reports</h2>
<ol>
{links}
</ol>
<h2>Provenance</h2>
<table>
<tr><th>Code (git commit)</th><td><code>{esc(provenance['git_commit'])}</code></td></tr>
<tr><th>Parameter file</th><td>{esc(provenance['parameter_file'])}<br><code>{esc(provenance['parameter_file_sha256'])}</code></td></tr>
<tr><th>SDTM folder</th><td>{esc(provenance['sdtm_dir'])}</td></tr>
<tr><th>Python</th><td>{esc(provenance['python'])}</td></tr>
<tr><th>Packages</th><td>{packages}</td></tr>
</table>
<h3>Input files (SHA-256)</h3>
<table>
<tr><th>Domain</th><th>File</th><th>SHA-256</th></tr>
{inputs}
</table>
<p class="muted">Derived ADaM datasets: <code>../adam/</code>. Machine-readable provenance:
<a href="provenance.json">provenance.json</a>.</p>
</body>
</html>
"""


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
