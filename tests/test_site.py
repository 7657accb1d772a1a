"""The documentation site, built in strict mode and opened in a real headless browser.

The browser is the system's Chromium (Debian's ``chromium``), driven by Playwright without
downloading a browser of its own. Without Chromium the browser checks are skipped, except in
CI (``CI`` set), where a missing browser fails them: CI installs it (``.ci/run``).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("mkdocs", reason="building the site needs the docs extra")


def _missing(what: str) -> None:
    """Skip for a missing browser on a developer's machine; fail in CI, which must have it."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI must run the browser checks: .ci/run installs chromium)")
    pytest.skip(what)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built from this checkout with `mkdocs build --strict` (a warning fails)."""
    directory = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(directory)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stderr[-4000:]}"
    return directory


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The base URL of `site` served by http.server on a free local port."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
        httpd.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        _missing("no system Chromium: apt-get install -y chromium chromium-driver")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is missing: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium's sandbox refuses to start as root (CI containers).
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


def _crawl(browser: Any, server: str) -> dict[str, dict[str, Any]]:
    """Every page reachable by internal links from the home page, each opened in the browser:
    its console errors, failed requests, images, typeset mathematics and links."""
    seen: dict[str, dict[str, Any]] = {}
    queue = [server + "index.html"]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        report: dict[str, Any] = {"errors": [], "failed": []}
        seen[url] = report
        if not url.endswith(".html"):
            report["status"] = _status(url)  # a notebook, a picture: it must be served
            continue
        page = browser.new_page()
        page.on("console", lambda m, r=report: m.type == "error" and r["errors"].append(m.text))
        page.on("pageerror", lambda e, r=report: r["errors"].append(str(e)))
        page.on("requestfailed", lambda q, r=report: r["failed"].append(q.url))
        response = page.goto(url, wait_until="load")
        report["status"] = response.status if response else None
        # MathJax's promise settles once it has typeset the page.
        page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        report.update(page.evaluate(_INSPECT))
        page.close()
        for href in report.pop("links"):
            target, _ = urldefrag(urljoin(url, href))
            if target.startswith(server) and target not in seen:
                queue.append(target)
    return seen


_INSPECT = """() => ({
  links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  images: [...document.querySelectorAll('img')].map(i => ({
    src: i.currentSrc || i.src, loaded: i.complete && i.naturalWidth > 0})),
  math: document.querySelectorAll('.arithmatex').length,
  typeset: document.querySelectorAll('.arithmatex mjx-container').length,
  mathErrors: document.querySelectorAll('mjx-merror').length,
})"""


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_the_site_builds_and_renders_in_a_browser(
    site: Path, request: pytest.FixtureRequest
) -> None:
    """One test, so that the site is built and crawled once even when xdist spreads tests."""
    _check_the_files(site)
    browser = request.getfixturevalue("browser")  # skips here (not in CI) without Chromium
    server = request.getfixturevalue("server")
    pages = _crawl(browser, server)
    _check_links(pages, server)
    _check_errors(pages)
    _check_images(pages)
    _check_mathematics(pages, server)


def _check_the_files(site: Path) -> None:
    for page in [
        "index.html", "getting-started.html", "from-autograd.html", "from-jax.html",
        "from-pytorch.html", "sharp-bits.html", "jit.html", "distributed.html",
        "api/distributed.html", "notebooks/index.html", "tour/index.html",
        "api/transforms.html", "api/numpy.html", "api/nn.html", "js/mathjax/tex-svg.js",
        "img/graph.svg",
    ]:  # fmt: skip
        assert (site / page).is_file(), page
    tour = sorted(p.stem for p in (ROOT / "docs" / "tour").glob("[0-9]*.md"))
    assert tour and tour == sorted(p.stem for p in (site / "tour").glob("[0-9]*.html"))
    notebooks = sorted(p.name for p in (ROOT / "docs" / "notebooks").glob("*.ipynb"))
    assert notebooks == sorted(p.name for p in (site / "notebooks").glob("*.ipynb"))
    assert "np.linalg.svd" in (site / "api" / "numpy.html").read_text(encoding="utf-8")


def _check_links(pages: dict[str, dict[str, Any]], server: str) -> None:
    assert len(pages) > 30  # the crawl reached the tour, the API pages and the notebooks
    broken = {url: r["status"] for url, r in pages.items() if r["status"] != 200}
    assert not broken, f"broken internal links: {broken}"
    for wanted in [
        "tour/index.html",
        "api/learn.html",
        "sharp-bits.html",
        "from-jax.html",
        "jit.html",
        "distributed.html",
    ]:
        assert server + wanted in pages, f"{wanted} is not linked from the site"
    notebooks = {p.name for p in (ROOT / "docs" / "notebooks").glob("*.ipynb")}
    linked = {url.rsplit("/", 1)[1] for url in pages if url.endswith(".ipynb")}
    assert notebooks and linked == notebooks, "every notebook is linked from the notebooks page"


def _check_errors(pages: dict[str, dict[str, Any]]) -> None:
    errors = {
        url: r["errors"] + r["failed"] for url, r in pages.items() if r["errors"] or r["failed"]
    }
    assert not errors, f"console errors or failed requests: {errors}"


def _check_images(pages: dict[str, dict[str, Any]]) -> None:
    images = [image for r in pages.values() for image in r.get("images", [])]
    assert any(image["src"].endswith(".svg") for image in images)  # at least the home page's
    broken = [image["src"] for image in images if not image["loaded"]]
    assert not broken, f"images that did not load: {broken}"


def _check_mathematics(pages: dict[str, dict[str, Any]], server: str) -> None:
    assert pages[server + "sharp-bits.html"]["math"] > 0  # the page has formulas to typeset
    for url, r in pages.items():
        if url.endswith(".html"):
            assert r["typeset"] == r["math"], f"{url}: {r['math'] - r['typeset']} formulas raw"
            assert r["mathErrors"] == 0, f"{url}: MathJax could not read a formula"


def _docs_module(name: str) -> Any:
    """A module of docs/ (the site's hooks), imported from its file."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_doctests_in_docstrings_are_fenced_as_code() -> None:
    fence = _docs_module("griffe_doctest").fence_doctests
    text = "Why.\n\n    >>> f(1)\n    2\n    >>> g(\n    ...     3)\n\nAfter.\n>>> h()"
    assert fence(text) == (
        "Why.\n\n    ```pycon\n    >>> f(1)\n    2\n    >>> g(\n    ...     3)\n    ```\n\n"
        "After.\n```pycon\n>>> h()\n```"
    )
    assert fence("No example here.\n  Indented prose.") == "No example here.\n  Indented prose."


def test_every_tour_page_joins_the_navigation_in_order(tmp_path: Path) -> None:
    (tmp_path / "tour").mkdir()
    for name in ["README.md", "10-attention.md", "02-derivatives.md", "01-limits.md"]:
        (tmp_path / "tour" / name).write_text("# x\n", encoding="utf-8")
    config = {"docs_dir": str(tmp_path), "nav": [{"Home": "index.md"}, {"Tour": "tour/README.md"}]}
    nav = _docs_module("hooks").on_config(config)["nav"]
    assert nav == [
        {"Home": "index.md"},
        {"Tour": [
            "tour/README.md", "tour/01-limits.md", "tour/02-derivatives.md", "tour/10-attention.md",
        ]},
    ]  # fmt: skip
