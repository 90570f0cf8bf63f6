"""Imports inside raman_sk flow one way: no upward import, no import cycle.

Every ``import`` statement counts, also the ones inside functions. Dynamic
imports (``importlib.import_module`` of the lazy public names, class names
resolved from a saved model) are not import statements and are not checked.
"""

import ast
from pathlib import Path

import pytest

import raman_sk

PACKAGE = Path(raman_sk.__file__).parent

#: Top-level module or subpackage -> layer; a module may import its own layer
#: or lower ones only.
LAYERS = {
    "utils": 0,
    "datasets": 1,
    "preprocessing": 2,
    "models": 3,
    "persistence": 4,
    "classifier": 5,
    "pipeline": 6,
    "bands": 7,
    "calibration": 7,
    "_evidence": 7,
    "_limits": 7,
    "domain": 7,
    "explain": 7,
    "library": 7,
    "ood": 7,
    "evaluation": 7,
    "plotting": 7,
    "reproduce": 8,
    "_report": 8,
    "_cli_parser": 9,
    "cli": 9,
}

def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str) -> set[str]:
    """raman_sk modules that ``module`` imports anywhere in its source."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path.name == "__init__.py", node)
            for alias in node.names:  # ``from pkg import submodule`` imports both
                if f"{target}.{alias.name}" in MODULES:
                    found.add(f"{target}.{alias.name}")
                    if not module.startswith(target + "."):  # not a package's own
                        found.add(target)
                elif target == "raman_sk" and alias.name in raman_sk._LAZY:
                    found.add(raman_sk._LAZY[alias.name])
                else:
                    found.add(target)
    return {m for m in found if m.split(".")[0] == "raman_sk" and m != module}


def _layer(module: str):
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_every_module_has_a_layer():
    missing = {m for m in MODULES if m != "raman_sk" and _layer(m) is None}
    assert not missing, f"add these to LAYERS: {sorted(missing)}"


@pytest.mark.parametrize("module", [m for m in MODULES if m != "raman_sk"])
def test_no_upward_import(module):
    own = _layer(module)
    upward = sorted(
        target
        for target in imports_of(module)
        if _layer(target) is not None and _layer(target) > own
    )
    assert not upward, f"{module} (layer {own}) imports higher layers: {upward}"


def _cycles() -> list[list[str]]:
    graph = {m: sorted(t for t in imports_of(m) if t in MODULES) for m in MODULES}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [])
    return cycles


def test_no_import_cycle():
    assert not _cycles()


def test_the_checker_sees_imports_inside_functions():
    assert "raman_sk.classifier" in imports_of("raman_sk.pipeline")
    assert "raman_sk.persistence" in imports_of("raman_sk.domain")
    assert not any(m.startswith("raman_sk.classifier") for m in
                   imports_of("raman_sk.persistence._pipeline"))
