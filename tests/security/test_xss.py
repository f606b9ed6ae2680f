"""Stored XSS through pages pyiii ships (issue 16 item 12): an order whose fields are HTML is shown
literally on the example's live page and runs nothing; and no shipped page feeds data to an HTML
sink (innerHTML and friends), checked statically."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.chromium import chromium
from tests.support.project import DevProcess

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "orders"

IMG = "<img src=x onerror=alert(1)>"
SCRIPTED = "<img src=x onerror=\"window.__pwned=(window.__pwned||0)+1\"><b>bold</b>"


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    project = tmp_path_factory.mktemp("xss") / "orders"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("node_modules", "data", "__pycache__"))
    config = (project / "config.yaml").read_text()
    (project / "config.yaml").write_text(config.split("  - name: iii-exec")[0])  # no Node worker needed
    dev = DevProcess(project, "dev").start("/orders/live", timeout=60)
    try:
        yield dev
    finally:
        dev.stop()


def test_live_page_shows_a_malicious_order_as_text(orders: DevProcess) -> None:
    with chromium() as browser:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{orders.base}/orders/live")
        page.wait_for_function("document.getElementById('state').textContent === 'open'", timeout=15000)
        ids = []
        for customer in (IMG, SCRIPTED):
            r = httpx.post(f"{orders.base}/orders",
                           json={"customer": customer, "item": "<svg onload=alert(2)>", "quantity": 1, "unit_price": 1})
            assert r.status_code in (200, 201, 202), r.text
            ids.append(r.json()["id"])
        # Both rows are there (their id cells are plain text either way).
        page.wait_for_function(
            "(ids) => ids.every((id) => [...document.querySelectorAll('#rows td')]"
            ".some((td) => td.textContent === id))",
            arg=ids, timeout=15000)
        cells = page.eval_on_selector_all("#rows td", "tds => tds.map((td) => td.textContent)")
        assert IMG in cells and SCRIPTED in cells and "<svg onload=alert(2)>" in cells
        # Nothing the order carried became an element, and nothing ran (give onerror its chance:
        # a broken image fails at once, before the row's text is even checked above).
        assert page.eval_on_selector_all("#rows img, #rows svg, #rows b", "els => els.length") == 0
        assert page.evaluate("window.__pwned === undefined")
        assert dialogs == []


# ---------------------------------------------------------------- static scan

#: HTML sinks: what parses a string as markup or code.
SINK = re.compile(r"\.(innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML\s*\(|document\.write(ln)?\s*\(|"
                  r"\bsrcdoc\b|\beval\s*\(|new\s+Function\s*\(|createContextualFragment\s*\(|"
                  r"\.html\s*\(|setHTMLUnsafe\s*\(")
#: The only allowed use: a plain string literal with no interpolation (``el.innerHTML = ''``).
CONSTANT = re.compile(r"""\.(innerHTML|outerHTML)\s*=\s*(['"])[^'"$`]*\2\s*;?\s*$""")


def _shipped_pages() -> list[Path]:
    roots = [REPO / "src" / "pyiii", REPO / "examples"]
    files: list[Path] = []
    for root in roots:
        for path in root.rglob("*"):
            if "node_modules" in path.parts or not path.is_file():
                continue
            if path.suffix in (".js", ".mjs", ".ts", ".html"):
                files.append(path)
            elif path.suffix == ".py" and "<script" in path.read_text(errors="replace"):
                files.append(path)  # a step that serves a page
    return files


def test_no_shipped_page_feeds_data_to_an_html_sink() -> None:
    pages = _shipped_pages()
    assert any(p.name == "index.html" for p in pages) and any(p.name == "live_page_step.py" for p in pages)
    offenders = []
    for path in pages:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if SINK.search(line) and not CONSTANT.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "HTML sinks fed with data (use textContent / DOM nodes):\n" + "\n".join(offenders)
