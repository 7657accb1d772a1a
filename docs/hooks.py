"""MkDocs hooks of the documentation site (mkdocs.yml names this file).

- The tour's pages (``docs/tour``, written by ``make docs``) join the navigation under the
  tour's contents page, in the order of their numbers, whatever stops exist.
- MathJax is served from the site itself: its single-file SVG build comes from the
  ``django-static-mathjax`` wheel (MathJax 3 only, no Django), so pages typeset their
  mathematics without a network.
- The home page's picture, ``img/graph.svg``, is drawn by ``chainrule.draw`` at build time.
- ``<!-- notebooks -->`` on the notebooks' page becomes a link to each notebook there is.
- ``<!-- numpy-functions -->`` on the API page of ``chainrule.numpy`` becomes the list of
  its differentiable functions, family by family, read from the rule modules.
"""

from __future__ import annotations

import importlib
import importlib.resources
import pkgutil
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

TOUR = "tour/README.md"
MATHJAX = "js/mathjax/tex-svg.js"


def on_config(config: Any) -> Any:
    tour = Path(config["docs_dir"]) / "tour"
    stops = sorted(p.name for p in tour.glob("[0-9]*.md"))
    for i, entry in enumerate(config["nav"]):
        if isinstance(entry, dict) and list(entry.values()) == [TOUR]:
            (title,) = entry
            config["nav"][i] = {title: [TOUR, *(f"tour/{name}" for name in stops)]}
    return config


def on_files(files: Files, config: Any) -> Files:
    source = importlib.resources.files("mathjax") / "static" / "mathjax" / "es5" / "tex-svg.js"
    files.append(File.generated(config, MATHJAX, abs_src_path=str(source)))
    files.append(File.generated(config, "img/graph.svg", content=_graph()))
    return files


def _graph() -> str:
    """The graph of one neuron's squared error, L = (tanh(w x + b) - y)², and its gradients."""
    import chainrule as cr
    import chainrule.numpy as np

    def loss(w, b):
        return (np.tanh(w * 0.5 + b) - 0.8) ** 2

    return cr.draw(loss, 1.5, -0.2).svg()


def on_page_markdown(markdown: str, page: Any, config: Any, **_: Any) -> str:
    if "<!-- notebooks -->" in markdown:
        return markdown.replace("<!-- notebooks -->", _notebooks(Path(config["docs_dir"])))
    if "<!-- numpy-functions -->" in markdown:
        return markdown.replace("<!-- numpy-functions -->", _numpy_functions())
    return markdown


def _notebooks(docs: Path) -> str:
    from chainrule.learn.tour import PARTS

    books = {p.stem: p.name for p in (docs / "notebooks").glob("*.ipynb")}
    rows = [f"- [{title}]({books[part]})" for part, title in PARTS.items() if part in books]
    return "\n".join(rows) + "\n"


def _numpy_functions() -> str:
    import chainrule.numpy as np
    import chainrule.numpy.rules as rules

    sections = []
    for info in pkgutil.iter_modules(rules.__path__):
        module = importlib.import_module(f"{rules.__name__}.{info.name}")
        prefix = f"{info.name}." if info.name in ("fft", "linalg") else ""
        namespace = getattr(np, info.name) if prefix else np
        # The names of the family that chainrule.numpy offers (not the rules' own helpers).
        names = [
            n for n in getattr(module, "__all__", [])
            if getattr(namespace, n, None) is getattr(module, n)
        ]  # fmt: skip
        if names:
            summary = " ".join((module.__doc__ or "").split("\n\n")[0].split())
            listed = ", ".join(f"`np.{prefix}{name}`" for name in sorted(names))
            sections.append(f"### {info.name}\n\n{summary}\n\n{listed}\n")
    return "\n".join(sections)
