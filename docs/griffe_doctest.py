"""A griffe extension (mkdocs.yml loads it): chainrule's docstrings give their examples as
doctests (``>>>`` lines and what they print), which Markdown would read as quotes. Each
doctest block is fenced as a ``pycon`` code block, so the API pages show it as code."""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    """`text` with each run of doctest lines (from a ``>>>`` line to the next blank line or
    dedent) inside a fenced ``pycon`` block, at the run's indentation."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if not stripped.startswith(">>>"):
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(stripped)]
        block = []
        while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
            block.append(lines[i][len(indent) :])
            i += 1
        out += [f"{indent}```pycon", *(indent + line for line in block), f"{indent}```"]
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
