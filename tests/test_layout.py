"""The import graph of the mailflow package: layers in one order, imports only downwards,
no cycles, and the test helpers out of the product. ARCHITECTURE.md explains the order;
this is the one place it is written down for the machine."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mailflow"

# Lowest first. A module may import its own layer and any layer before it, never one
# after it. A layer is a folder, or one of the few modules at the top of the package.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "faults"),   # the errors users see; the fault points the kill tests use
    ("config",),            # settings, rules, roster
    ("dates",),             # workdays, periods, deadlines
    ("inbound",),           # raw mail in, and its identity
    ("parsing",),           # bytes → ParsedMail
    ("store",),             # tables, sessions, queries, leases, migrations
    ("app",),               # the loaded setup every command is given
    ("judging",),           # classify, check, judge, store the verdicts
    ("records",),           # days, figures, exports read from the record
    ("delivery",),          # the outbox and SMTP
    ("mails",),             # which mail to write; render and queue it
    ("service",),           # the pipeline, the jobs, `mailflow run`
    ("cli", "__main__"),    # the command
)
TESTING = "testing"
# The only product modules allowed to use mailflow.testing: the demo runs the embedded
# servers and writes its mail the way clients do.
MAY_USE_TESTING = {"mailflow.cli.demo"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(imported module, line) for every import of a mailflow module, at any depth of the
    file (a function-level import is an import too)."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from pkg import module` imports the module, `from module import name` the module
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        else:
            continue
        out.extend((t, node.lineno) for t in targets
                   if t == "mailflow" or t.startswith("mailflow."))
    return out


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _rank(module: str) -> int | None:
    layer = _layer(module)
    for i, names in enumerate(LAYERS):
        if layer in names:
            return i
    return None


def _graph() -> tuple[dict[str, Path], dict[str, list[tuple[str, int]]]]:
    mods = _modules()
    known = set(mods)
    return mods, {m: sorted({(t, ln) for t, ln in _imports(m, p, known) if t in known and t != m})
                  for m, p in mods.items()}


def test_every_module_has_a_layer():
    mods, _ = _graph()
    loose = [m for m in mods if m != "mailflow" and _layer(m) != TESTING and _rank(m) is None]
    assert not loose, f"modules outside every layer (add them to LAYERS or move them): {loose}"


def test_imports_only_go_down():
    mods, graph = _graph()
    upward = []
    for mod, targets in graph.items():
        here = _rank(mod)
        if here is None:
            continue
        for target, line in targets:
            there = _rank(target)
            if there is not None and there > here:
                upward.append(f"{mods[mod].relative_to(PACKAGE.parent)}:{line} imports "
                              f"{target} ({_layer(target)} is above {_layer(mod)})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycles():
    mods, graph = _graph()
    # Tarjan's strongly connected components; any component with more than one module is
    # a cycle. Packages are not counted as importing their own submodules' importers.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w, _ in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    described = []
    for comp in cycles:
        members = set(comp)
        edges = [f"{mods[m].relative_to(PACKAGE.parent)}:{ln} imports {t}"
                 for m in comp for t, ln in graph[m] if t in members]
        described.append(" ↔ ".join(comp) + "\n  " + "\n  ".join(edges))
    assert not cycles, "import cycles:\n" + "\n".join(described)


def test_product_does_not_import_the_test_helpers():
    mods, graph = _graph()
    bad = [f"{mods[m].relative_to(PACKAGE.parent)}:{ln} imports {t}"
           for m, targets in graph.items() if _layer(m) != TESTING and m not in MAY_USE_TESTING
           for t, ln in targets if _layer(t) == TESTING]
    assert not bad, "product modules importing mailflow.testing:\n" + "\n".join(bad)


def test_the_check_sees_an_upward_import_and_a_cycle(tmp_path):
    """The checks above would pass on an empty graph; this shows they see what they look for."""
    pkg = tmp_path / "mailflow"
    for folder in ("config", "mails"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "config" / "settings.py").write_text("def f():\n    from ..mails import notify\n")
    (pkg / "mails" / "notify.py").write_text("from . import weekly\n")
    (pkg / "mails" / "weekly.py").write_text("from .notify import x\n")
    globals()["PACKAGE"] = pkg
    try:
        mods, graph = _graph()
        assert ("mailflow.mails.notify", 2) in graph["mailflow.config.settings"]
        try:
            test_imports_only_go_down()
        except AssertionError as e:
            assert "mailflow/config/settings.py:2 imports mailflow.mails.notify" in str(e)
        else:
            raise AssertionError("the upward import was not seen")
        try:
            test_no_import_cycles()
        except AssertionError as e:
            assert "mailflow.mails.notify ↔ mailflow.mails.weekly" in str(e)
        else:
            raise AssertionError("the cycle was not seen")
    finally:
        globals()["PACKAGE"] = Path(__file__).resolve().parent.parent / "mailflow"


def test_the_core_runs_without_the_demo_extra(project, monkeypatch):
    """pymap and aiosmtpd are the demo's (mailflow[demo]); without them every other
    command works and the demo says what to install instead of a traceback."""
    for name in ("pymap", "aiosmtpd"):
        monkeypatch.setitem(__import__("sys").modules, name, None)   # as if not installed
    assert project.cli("check-config").code == 0
    res = project.cli("demo", "--out", str(project.root / "demo"))
    assert res.code == 1
    assert "pip install 'mailflow[demo]'" in res.err and "Traceback" not in res.err
    assert not (project.root / "demo").exists()
