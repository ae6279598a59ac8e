"""The package's folders follow the pipeline and imports point one way (README, code style):
a lower layer never imports a higher one, not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import paperscope

ROOT = Path(paperscope.__file__).parent
# Each folder may import only from the folders listed (and from top-level modules).
FORBIDDEN = {
    "sources": {"harvest", "store", "index", "search", "web", "mail", "cli"},
    "store": {"index", "search", "web", "mail", "cli"},
    "index": {"search", "web", "mail", "cli"},
    "search": {"web", "mail", "cli"},
}


def _imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.level == 2:  # from ..x import y, inside paperscope/<folder>/
                found.add(node.module.split(".")[0])
            elif node.level == 0 and node.module.startswith("paperscope."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("paperscope."))
    return found


def test_lower_layers_do_not_import_higher_ones() -> None:
    wrong = []
    for folder, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            bad = _imported_packages(path) & forbidden
            if bad:
                wrong.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not wrong, wrong
