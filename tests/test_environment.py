"""The set-up a newcomer relies on: one pinned environment described twice (requirements.lock
for the Makefile's venv, environment.yml for conda), CI doing what the README says, and
notebooks committed clean and in step with their jupytext pairs."""

import json
import re
import sys
import tomllib

import yaml

from tools.write_environment_yml import locked_pins, render


def test_environment_yml_pins_exactly_the_lock(project_root):
    env = yaml.safe_load((project_root / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert sorted(p for p in pip_section if "==" in p) == sorted(locked_pins(project_root / "requirements.lock"))
    assert (project_root / "environment.yml").read_text() == render()


def test_every_lock_line_is_pinned_and_pyproject_dependencies_are_locked(project_root):
    lines = [l.split("#")[0].strip() for l in (project_root / "requirements.lock").read_text().splitlines()]
    lines = [l for l in lines if l]
    assert lines and all(re.match(r"^[A-Za-z0-9_.\-]+==\S+$", l) for l in lines), lines[:3]
    locked = {l.split("==")[0].lower().replace("_", "-") for l in lines}
    project = tomllib.loads((project_root / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    names = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0].lower().replace("_", "-") for d in wanted}
    assert names <= locked, names - locked
    pandas = next(l for l in lines if l.startswith("pandas=="))
    assert pandas.split("==")[1].startswith("2.")           # lifelines 0.30.3 needs pandas < 3


def test_running_python_is_311():
    assert sys.version_info[:2] == (3, 11)


def test_ci_runs_make_test_as_the_readme_says(project_root):
    ci = (project_root / ".ci" / "run").read_text()
    readme = (project_root / "README.md").read_text()
    assert re.search(r"^make test$", ci, re.M)
    assert "make report" in readme and "make test" in readme


def test_notebooks_committed_without_outputs_and_in_step_with_py(project_root):
    import jupytext

    notebooks = sorted((project_root / "notebooks").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and not cell.get("execution_count"), path.name
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
        paired = jupytext.read(path.with_suffix(".py"))
        assert [c.source for c in paired.cells] == ["".join(c["source"]) for c in nb["cells"]], \
            f"{path.name} and {path.with_suffix('.py').name} differ: run `make notebooks`"
