#!/usr/bin/env python3
"""Opens a backtest report in a real browser and checks it.

    report_check.py REPORT.html SCREENSHOT.png

Uses Debian's chromium-headless-shell (apt-get install chromium-headless-shell; another binary
with TICKWIRE_CHROMIUM) driven by playwright; playwright's own browser download is not used.

Checks: the page makes no request other than the report file itself (every other request is
aborted and recorded), it loads, each chart (#chart-price-*, #chart-equity, #chart-reliability,
#chart-accuracy) exists, is visible and has a non-empty box, the price charts hold BUY and SELL
markers inside their boxes, the verdict is visible, and the console shows no error. Saves a
full-page screenshot. Prints one JSON line of what it found; exits 1 on a failed check, 2 when
it cannot run.
"""

import json
import pathlib
import sys

from chromium import browser_path

CHARTS = ["chart-equity", "chart-reliability", "chart-accuracy"]


def box_of(locator):
    box = locator.bounding_box()
    if box is None:
        return None
    return {key: round(box[key], 1) for key in ("x", "y", "width", "height")}


def main():
    if len(sys.argv) != 3:
        print("usage: report_check.py REPORT.html SCREENSHOT.png", file=sys.stderr)
        return 2
    report = pathlib.Path(sys.argv[1]).resolve()
    screenshot = pathlib.Path(sys.argv[2]).resolve()
    found = {"ok": False, "report": str(report), "failures": []}
    failures = found["failures"]

    executable = browser_path()
    if executable is None:
        found["failures"].append(
            "no chromium-headless-shell: run `make deps` (as root: apt-get install -y chromium-headless-shell)"
        )
        print(json.dumps(found))
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        found["failures"].append(f"no playwright ({error}): run `make deps` (pip install -r Tests/python/requirements.txt)")
        print(json.dumps(found))
        return 2

    url = report.as_uri()
    found["browser"] = executable
    requests = []
    blocked = []
    console_errors = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, timeout=30_000)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
            context.set_default_timeout(20_000)

            def route(route_request):
                request_url = route_request.request.url
                if request_url == url:
                    route_request.continue_()
                else:
                    blocked.append(request_url)
                    route_request.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("websocket", lambda socket: blocked.append(socket.url))
            page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: console_errors.append(str(error)))

            response = page.goto(url, wait_until="load", timeout=30_000)
            page.wait_for_load_state("networkidle", timeout=10_000)
            found["title"] = page.title()
            if response is not None and not response.ok:
                failures.append(f"loading the report: status {response.status}")

            charts = {}
            price_ids = page.eval_on_selector_all('svg[id^="chart-price-"]', "nodes => nodes.map(n => n.id)")
            if not price_ids:
                failures.append("no price chart (svg#chart-price-<symbol>)")
            for chart_id in price_ids + CHARTS:
                locator = page.locator(f'svg[id="{chart_id}"]')
                count = locator.count()
                entry = {"count": count}
                if count != 1:
                    failures.append(f"#{chart_id}: {count} elements")
                    charts[chart_id] = entry
                    continue
                entry["visible"] = locator.is_visible()
                entry["box"] = box_of(locator)
                entry["title"] = locator.evaluate("n => (n.querySelector('title') || {}).textContent || ''")
                entry["aria_label"] = locator.get_attribute("aria-label")
                entry["lines"] = locator.locator("polyline").count()
                if not entry["visible"]:
                    failures.append(f"#{chart_id} is not visible")
                box = entry["box"]
                if box is None or box["width"] <= 0 or box["height"] <= 0:
                    failures.append(f"#{chart_id} has an empty box {box}")
                if not entry["title"] or not entry["aria_label"]:
                    failures.append(f"#{chart_id} has no title or aria-label")
                charts[chart_id] = entry
            found["charts"] = charts

            # BUY and SELL markers on the price charts, drawn inside their chart.
            markers = {}
            for side in ("buy", "sell"):
                selector = f'svg[id^="chart-price-"] .marker.{side}'
                count = page.locator(selector).count()
                inside = page.eval_on_selector_all(
                    selector,
                    """nodes => nodes.filter(n => {
                        const b = n.getBoundingClientRect(), c = n.ownerSVGElement.getBoundingClientRect();
                        return b.width > 0 && b.height > 0 && b.left >= c.left - 1 && b.right <= c.right + 1
                            && b.top >= c.top - 1 && b.bottom <= c.bottom + 1;
                    }).length""",
                )
                markers[side] = {"count": count, "inside": inside}
                if count == 0:
                    failures.append(f"no {side.upper()} marker on the price charts")
                elif inside != count:
                    failures.append(f"{count - inside} {side.upper()} markers are empty or outside their chart")
            found["markers"] = markers

            verdict = page.locator("#verdict")
            found["verdict"] = verdict.inner_text() if verdict.count() == 1 else None
            if verdict.count() != 1 or not verdict.is_visible():
                failures.append("the verdict is not visible")

            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            found["screenshot"] = str(screenshot)
        finally:
            browser.close()

    found["requests"] = requests
    found["blocked"] = blocked
    found["console_errors"] = console_errors
    other = [request for request in requests if request != url]
    if other or blocked:
        failures.append(f"network requests besides the report: {sorted(set(other + blocked))[:10]}")
    if console_errors:
        failures.append(f"console errors: {console_errors[:5]}")
    found["ok"] = not failures
    print(json.dumps(found))
    return 0 if found["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
