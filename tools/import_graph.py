"""The import graph of ``mpmlib`` and the house rules it must keep (issue 15).

Run ``python tools/import_graph.py`` (exit status 1 when a rule is broken) or see
``tests/test_architecture.py``. The graph is built from the source with :mod:`ast`, so it sees
every import, including the ones inside functions that used to hide cycles. Rules:

1. **No import cycle** between modules (Tarjan's strongly connected components over every
   ``import`` / ``from ... import`` of an ``mpmlib`` module, wherever it is written).
2. **No private name across modules**: no ``from mpmlib.x import _name`` and no
   ``module._name`` on an imported ``mpmlib`` module, outside the module that defines it.
3. **Layers**: data flows one way (``docs/architecture.md``), so a module imports only from its
   own layer or the layers below it (:data:`LAYERS`, lowest first).
4. **Short functions** in ``mpmlib/derive`` and ``mpmlib/analysis``: at most
   :data:`MAX_FUNCTION_LINES` lines, unless the docstring says why under ``Long function:``.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Layers of the package, lowest first: a module may import from its own layer and below.
LAYERS: list[tuple[str, ...]] = [
    ("mpmlib", "mpmlib.errors", "mpmlib.text", "mpmlib.csvsafe", "mpmlib.dates", "mpmlib.provenance"),
    ("mpmlib.settings",),
    ("mpmlib.sdtm",),
    ("mpmlib.derive",),
    ("mpmlib.qc",),
    ("mpmlib.lock",),
    ("mpmlib.tables",),
    ("mpmlib.analysis",),
    ("mpmlib.plots",),
    ("mpmlib.pages", "mpmlib.notebook"),
    ("mpmlib.report", "mpmlib.synth"),
    ("mpmlib.cli",),
]
MAX_FUNCTION_LINES = 60
LONG_FUNCTION_MARK = "Long function:"
SHORT_FUNCTION_PACKAGES = ("mpmlib.derive", "mpmlib.analysis")


@dataclass(frozen=True)
class Import:
    """One import of an ``mpmlib`` module: who, what, which names, where."""

    importer: str
    module: str
    names: tuple[str, ...]
    line: int
    in_function: bool


def module_name(path: Path, package_dir: Path) -> str:
    """``mpmlib/qc/gate.py`` -> ``mpmlib.qc.gate``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(package_dir: Path) -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))
            if "__pycache__" not in p.parts}


def _resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([module] if module else []))


def imports_of(name: str, path: Path, modules: dict[str, Path], root: str) -> list[Import]:
    """The imports of ``root`` modules in one file; ``from pkg import mod`` counts as ``pkg.mod``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == root or alias.name.startswith(root + "."):
                        found.append(Import(name, alias.name, (), child.lineno, in_function))
            elif isinstance(child, ast.ImportFrom):
                target = (_resolve(name, path.name == "__init__.py", child.level, child.module)
                          if child.level else child.module or "")
                if target == root or target.startswith(root + "."):
                    plain = tuple(a.name for a in child.names if f"{target}.{a.name}" not in modules)
                    for alias in child.names:
                        if f"{target}.{alias.name}" in modules:
                            found.append(Import(name, f"{target}.{alias.name}", (), child.lineno, in_function))
                    if plain:
                        found.append(Import(name, target, plain, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan 1972), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for v in sorted(edges):
        if v not in index:
            connect(v)
    return sorted(found)


def layer_of(module: str, layers=LAYERS) -> int | None:
    """The layer index of a module (longest matching prefix), or None when no layer names it."""
    best, best_len = None, -1
    for i, prefixes in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    return best


def private_uses(name: str, path: Path, modules: dict[str, Path], root: str) -> list[str]:
    """``module._name`` on an imported module of the package, outside that module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith(root) and a.asname:
                    aliases[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module and (node.level or node.module.startswith(root)):
            target = _resolve(name, path.name == "__init__.py", node.level, node.module) if node.level else node.module
            for a in node.names:
                if f"{target}.{a.name}" in modules:
                    aliases[a.asname or a.name] = f"{target}.{a.name}"
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr.startswith("_") and not node.attr.startswith("__") and aliases[node.value.id] != name):
            found.append(f"{name}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    return found


def long_functions(name: str, path: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Functions longer than ``limit`` lines whose docstring gives no reason (``Long function:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > limit and LONG_FUNCTION_MARK not in (ast.get_docstring(node) or ""):
                found.append(f"{name}.{node.name} ({path.name}:{node.lineno}) has {length} lines")
    return found


def check(package_dir: Path = ROOT / "mpmlib", layers=LAYERS, short_packages=SHORT_FUNCTION_PACKAGES) -> dict:
    """Every rule over the package: ``{"cycles", "private", "layers", "long", "imports"}``."""
    root = package_dir.name
    modules = package_modules(package_dir)
    imports = [imp for name, path in modules.items() for imp in imports_of(name, path, modules, root)]
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for imp in imports:
        if imp.module in modules and imp.module != imp.importer:
            edges[imp.importer].add(imp.module)
    private = [f"{i.importer}:{i.line} imports {n} from {i.module}" for i in imports
               for n in i.names if n.startswith("_") and not n.startswith("__") and i.module != i.importer]
    for name, path in modules.items():
        private += private_uses(name, path, modules, root)
    layering = []
    for imp in imports:
        here, there = layer_of(imp.importer, layers), layer_of(imp.module, layers)
        if here is None:
            layering.append(f"{imp.importer}: in no layer (add it to LAYERS)")
        elif there is not None and there > here:
            layering.append(f"{imp.importer}:{imp.line} imports {imp.module}, a higher layer")
    long = [msg for name, path in modules.items() if name.startswith(short_packages)
            for msg in long_functions(name, path)]
    return {"cycles": cycles(edges), "private": sorted(set(private)), "layers": sorted(set(layering)),
            "long": sorted(long), "imports": imports}


def main(argv: list[str] | None = None) -> int:
    result = check()
    broken = 0
    for rule in ("cycles", "private", "layers", "long"):
        items = result[rule]
        broken += len(items)
        print(f"{rule}: {len(items)}")
        for item in items:
            print(f"  {' -> '.join(item) if rule == 'cycles' else item}")
    local = sum(1 for i in result["imports"] if i.in_function)
    print(f"imports of mpmlib modules: {len(result['imports'])} ({local} inside functions)")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
