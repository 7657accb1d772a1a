"""Every docstring example in the package runs and prints what it says; so do the pages'."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
import warnings
from pathlib import Path

import pytest

import chainrule

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(chainrule.__path__, "chainrule.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


PAGES = ["vmap.md", "jit.md"]  # pages whose ```pycon blocks are doctests, run in order


@pytest.mark.parametrize("page", PAGES)
def test_page_examples(page: str) -> None:
    path = Path(__file__).resolve().parents[1] / "docs" / page
    text = path.read_text()
    blocks = list(re.finditer(r"```pycon\n(.*?)```", text, re.DOTALL))
    assert blocks, f"docs/{page} has no examples"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    names: dict[str, object] = {}  # the blocks share their names, as on the page
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a primitive without a batching rule warns: fail
        for block in blocks:
            line = text.count("\n", 0, block.start(1))  # the report names the page's lines
            test = parser.get_doctest(block.group(1), names, page, str(path), line)
            test.globs = names  # get_doctest copies them; the next block needs this one's
            runner.run(test, clear_globs=False)
    assert runner.failures == 0, f"{runner.failures} example(s) failed in docs/{page}"
