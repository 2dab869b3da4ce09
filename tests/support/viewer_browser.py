"""Opens chicane's live viewer in headless Chromium (Debian's, driven by
Playwright) and reports what it drew.

usage: viewer_browser.py URL MODE SCREENSHOT.png REPORT.json
  MODE training:   waits for every stream and some charted episodes,
                   screenshots, then clicks Stop and waits for the page to
                   say the run is stopping.
  MODE evaluation: waits for the streams and the first charted lap,
                   screenshots; the stop button must be disabled.

The report holds the page boxes of the streams and chart canvases (so the
test can check the screenshot's pixels there), the /status and /metrics
JSON as the browser fetched them, and the state text after Stop.
"""

import json
import shutil
import sys

from playwright.sync_api import sync_playwright

url, mode, shot, report_path = sys.argv[1:5]
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if chromium is None:
    sys.exit("no chromium on PATH: install Debian's chromium package (.ci/run does)")

BOXES = """() => [...document.querySelectorAll('img, .chart canvas')].map(e => {
  const r = e.getBoundingClientRect();
  return {tag: e.tagName.toLowerCase(), cls: e.className || e.parentElement.className,
          src: e.src || '', x: r.x, y: r.y, w: r.width, h: r.height};
})"""

with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(url)
    # the first /status poll: 30 s was once too short on a loaded 2-core CI machine
    page.wait_for_function("() => window.chicaneViewer && window.chicaneViewer.status !== null", timeout=120_000)
    # every stream decoded at least one frame
    page.wait_for_function(
        "() => { const i = [...document.querySelectorAll('img')];"
        " return i.length > 0 && i.every(x => x.complete !== undefined && x.naturalWidth > 0); }",
        timeout=60_000,
    )
    if mode == "training":
        page.wait_for_function("() => window.chicaneViewer.episodes >= 10", timeout=180_000)
    else:
        page.wait_for_function("() => window.chicaneViewer.laps >= 1", timeout=180_000)
    page.wait_for_timeout(1500)  # the charts' redraw after the last poll
    report = {
        "boxes": page.evaluate(BOXES),
        "status": page.evaluate("() => window.chicaneViewer.status"),
        "metrics": page.request.get(url + "metrics").json(),
        "stop_disabled": page.is_disabled("#stop"),
        "chart_points": page.evaluate(
            "() => Object.fromEntries(Object.entries(window.chicaneViewer.charts)"
            ".map(([k, c]) => [k, c.data[0].length]))"
        ),
    }
    page.screenshot(path=shot)
    if mode == "training":
        page.click("#stop")
        page.wait_for_function(
            "() => ['stopping', 'finished', 'disconnected'].includes(document.getElementById('state').className)",
            timeout=60_000,
        )
        report["state_after_stop"] = page.text_content("#state")
    with open(report_path, "w") as f:
        json.dump(report, f, indent=1)
    browser.close()
