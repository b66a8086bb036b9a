"""The dashboard in a real browser: streamlit on a free localhost port, headless Debian Chromium via playwright.

Skips with a reason only where /usr/bin/chromium is absent outside CI; in CI (CI=true) it must run.
"""

import contextlib
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


@contextlib.contextmanager
def serve(runs: Path):
    """`streamlit run dashboard/app.py -- --runs RUNS` on a free port; yields its URL."""
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
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    runs = make_runs(tmp_path_factory.mktemp("browser") / "runs")
    res = runs / "ablation_loss" / "results.csv"  # one variant with a single seed: its std cannot exist
    lines = res.read_text().splitlines()
    res.write_text("\n".join(ln for ln in lines if not ln.startswith("ablation_loss,L1-s1,")) + "\n")
    with serve(runs) as url:
        yield url


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
    axes = page.evaluate("Array.from(document.querySelectorAll('[data-testid=stVegaLiteChart] svg'))"
                         ".map(s => Math.max(...Array.from(s.querySelectorAll('.role-axis'))"
                         ".map(a => a.getBoundingClientRect().height)))")  # fmt: skip
    assert len(axes) == 3 and min(axes) >= 150  # each plot keeps its height (a fixed-height spec was squeezed flat)
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


def _outputs(page) -> dict[str, str]:
    """{caption: image URL} of the Playground's outputs (a new drawing gives new URLs)."""
    return page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll("[data-testid='stImage']"))
        .map(e => [e.innerText.trim(), e.querySelector('img') && e.querySelector('img').complete
                   && e.querySelector('img').naturalWidth > 0 ? e.querySelector('img').src : '']))""")


def test_playground_draw_and_every_run_answers(page, tmp_path_factory):
    from tests.test_playground import train_playground_runs

    runs = train_playground_runs(tmp_path_factory.mktemp("browser_playground") / "runs")
    names = ["1x1-s0", "16x16-s0", "70x70-s0", "286x286-s0"]
    with serve(runs) as url:
        _open(page, f"{url}/playground?study=ablation_patchgan", "Playground")
        page.wait_for_function("() => document.querySelectorAll(\"[data-testid='stImage'] img\").length === 5",
                               timeout=30_000)  # fmt: skip
        page.wait_for_timeout(1000)
        before = _outputs(page)
        assert sorted(before) == sorted([*names, "what the runs see (32x32 px)"]) and all(before.values()), before
        canvas = page.locator("canvas").last
        box = canvas.bounding_box()
        assert box and 200 <= box["width"] <= 300  # 32 px runs drawn at 8x
        page.locator("[data-testid='stRadio'] label").filter(has_text="road").first.click()  # the class to paint
        page.wait_for_timeout(800)
        x0, y0 = box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5
        page.mouse.move(x0, y0)
        page.mouse.down()
        for i in range(1, 21):
            page.mouse.move(x0 + i * box["width"] * 0.03, y0 + (i % 5) * 6, steps=2)
        page.mouse.up()
        page.wait_for_function(
            "before => { const now = Array.from(document.querySelectorAll(\"[data-testid='stImage'] img\"));"
            " return now.length === 5 && now.every(i => i.complete && i.naturalWidth > 0"
            " && !Object.values(before).includes(i.src)); }", arg=before, timeout=30_000)  # fmt: skip
        after = _outputs(page)
        assert all(after[n] != before[n] for n in [*names, "what the runs see (32x32 px)"])
        page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "playground.png"), full_page=True)

        page.locator("[data-testid='stRadio'] label").filter(has_text="Fill").first.click()  # fill the sky with road
        page.wait_for_timeout(800)
        canvas = page.locator("canvas").last
        box = canvas.bounding_box()
        page.mouse.click(box["x"] + 10, box["y"] + 10)
        page.wait_for_function(
            "before => { const now = Array.from(document.querySelectorAll(\"[data-testid='stImage'] img\"));"
            " return now.length === 5 && now.every(i => i.complete && i.naturalWidth > 0"
            " && !Object.values(before).includes(i.src)); }", arg=after, timeout=30_000)  # fmt: skip
        filled = _outputs(page)
        assert all(filled[n] != after[n] for n in names)
        corner = page.evaluate("""src => new Promise(done => { const im = new Image(); im.onload = () => {
            const c = document.createElement('canvas'); c.width = im.width; c.height = im.height;
            const g = c.getContext('2d'); g.drawImage(im, 0, 0); done(Array.from(g.getImageData(1, 1, 1, 1).data)); };
            im.src = src; })""", filled["what the runs see (32x32 px)"])  # fmt: skip
        assert corner[:3] == [128, 64, 128]  # the sky the click landed in is road now
        assert page.locator("[data-testid='stException']").count() == 0
