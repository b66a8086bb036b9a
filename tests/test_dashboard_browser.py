"""The dashboard in a real browser: streamlit on a free localhost port, headless Debian Chromium via playwright.

Skips with a reason only where /usr/bin/chromium is absent outside CI; in CI (CI=true) it must run.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import make_runs

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("Debian chromium is not installed (apt-get install chromium); CI installs it", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    runs = make_runs(tmp_path_factory.mktemp("browser") / "runs")
    res = runs / "ablation_loss" / "results.csv"  # one variant with a single seed: its std cannot exist
    lines = res.read_text().splitlines()
    res.write_text("\n".join(ln for ln in lines if not ln.startswith("ablation_loss,L1-s1,")) + "\n")
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--", "--runs", str(runs)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"streamlit did not start: {proc.stdout.read().decode()[-2000:]}")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                          "--disable-background-networking", "--disable-component-update",
                                          "--no-first-run", "--disable-sync"])  # fmt: skip
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield pg
        browser.close()


def _open(page, url, title):
    page.goto(url)
    page.get_by_role("heading", name=title).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # let charts and images settle for the screenshot


def test_every_page_in_chromium(server, page, tmp_path):
    _open(page, server, "Leaderboard")
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.wait_for(timeout=20_000)
    cells = "Array.from(document.querySelectorAll(\"[data-testid='stDataFrame'] [role=gridcell]\"))"
    page.wait_for_function(  # the grid draws on a canvas; its accessible DOM table holds the values
        f"() => {cells}.some(c => c.textContent.startsWith('0.83'))", timeout=20_000
    )  # 70x70's fcn_pixel_acc, mean of 0.83 and 0.84
    texts = page.evaluate(f"() => {cells}.map(c => c.textContent)")
    assert "None" not in texts and "nan" not in texts  # a single seed's std is an empty cell
    page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)

    _open(page, f"{server}/study?study=ablation_patchgan", "Study")
    page.get_by_text("Question of ablation_patchgan?").wait_for(timeout=10_000)
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=10_000)
    page.screenshot(path=str(tmp_path / "study.png"), full_page=True)

    _open(page, f"{server}/samples?study=ablation_patchgan", "Samples")
    images = page.locator("[data-testid='stImage'] img")
    images.first.wait_for(timeout=20_000)
    widths = images.evaluate_all("els => els.map(e => e.complete ? e.naturalWidth : 0)")
    assert len(widths) == 6 and all(w == 16 for w in widths)  # every PNG actually loaded
    page.screenshot(path=str(tmp_path / "samples.png"), full_page=True)

    _open(page, f"{server}/curves?study=ablation_patchgan", "Curves")
    page.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for(timeout=20_000)
    words = page.evaluate("Array.from(document.querySelectorAll('[data-testid=stVegaLiteChart] svg text'))"
                          ".map(t => t.textContent)")  # fmt: skip
    assert {"run", "1x1-s0", "1x1-s1", "iteration (step)", "d/real", "g/l1"} <= set(words)  # legend, axis, titles
    rights = page.evaluate("Array.from(document.querySelectorAll('[data-testid=stVegaLiteChart]'))"
                           ".map(e => e.getBoundingClientRect().right)")  # fmt: skip
    assert len(rights) == 3 and max(rights) <= 1400  # three charts in a row, none cut off at the right edge
    page.screenshot(path=str(tmp_path / "curves.png"), full_page=True)

    _open(page, f"{server}/study?study=ablation_patchgan&metric=fcn_pixel_acc", "Study")
    page.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for(timeout=20_000)
    labels = page.evaluate("Array.from(document.querySelectorAll('[data-testid=stVegaLiteChart] svg text'))"
                           ".map(t => t.textContent)")  # fmt: skip
    assert {"1x1", "70x70"} <= set(labels) and any(t.startswith("fcn_pixel_acc (higher is better)") for t in labels)
    assert max(page.evaluate("Array.from(document.querySelectorAll('[data-testid=stVegaLiteChart]'))"
                             ".map(e => e.getBoundingClientRect().right)")) <= 1400  # fmt: skip

    for path, title in (("human", "Human evaluation"), ("throughput", "Throughput"), ("compare", "Compare")):
        _open(page, f"{server}/{path}", title)
        assert page.locator("[data-testid='stException']").count() == 0
        page.screenshot(path=str(tmp_path / f"{path}.png"), full_page=True)
    assert all((tmp_path / f"{p}.png").stat().st_size > 5000 for p in ("leaderboard", "study", "samples"))
