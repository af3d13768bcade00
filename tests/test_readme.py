"""The README's Python example against the package: every call it makes exists and takes the
arguments it is given (running it would render frames from a detected face, which random
weights cannot detect)."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent.parent / "README.md"


def imported(tree: ast.Module) -> dict[str, Any]:
    """The objects the code's `from ... import ...` lines bind, by name."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                try:  # a submodule (`from sadtalker import pipeline`)
                    value = importlib.import_module(f"{node.module}.{alias.name}")
                except ModuleNotFoundError:
                    value = getattr(importlib.import_module(node.module), alias.name)
                names[alias.asname or alias.name] = value
    return names


def local_names(tree: ast.Module) -> set[str]:
    """The names the code assigns (its variables, comprehension targets included)."""
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def callee(node: ast.expr, names: dict[str, Any], local: set[str]) -> Any:
    """What a call's function expression refers to; None for a builtin or a method of one of
    the code's own variables. A name or attribute the package lacks raises."""
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        if node.id in local or hasattr(builtins, node.id):
            return None
        raise NameError(f"the example calls {node.id}, which it never imports")
    if isinstance(node, ast.Attribute):
        owner = callee(node.value, names, local)
        return None if owner is None else getattr(owner, node.attr)
    return None


def test_the_python_example_calls_what_the_package_defines() -> None:
    (code,) = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    tree = ast.parse(code)
    names, local = imported(tree), local_names(tree)
    called = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = callee(node.func, names, local)
            if function is not None:
                inspect.signature(function).bind(*node.args, **{k.arg: k for k in node.keywords})
                called.add(getattr(function, "__qualname__", ""))
    assert {"generate", "prepare_face", "ChunkRenderer.load", "render_segment",
            "stitch"} <= called
