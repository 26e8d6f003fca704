"""Every module in ``services/`` fits in 400 lines and every function in 80: a maintainer can hold one in mind.

A module that outgrows this has two jobs (split it by job, not by line count); a function, steps
that want names of their own. Counted as the file's lines and a definition's first to last line.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parent.parent / "services"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(SERVICES.rglob("*.py"))


def test_the_check_sees_the_services() -> None:
    assert len(_modules()) > 50


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(SERVICES)): n
        for path in _modules()
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines"


def test_no_function_is_over_80_lines() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(SERVICES)}:{node.name}"] = lines
    assert long == {}, f"functions over {MAX_FUNCTION_LINES} lines"
