#!/usr/bin/env python3
"""Drives the live dashboard in a real browser while a test publishes on the bus.

    dashboard_check.py URL SYMBOL SCREENSHOT.png

Uses Debian's chromium-headless-shell (another binary with TICKWIRE_CHROMIUM) through
playwright. Opens URL, waits until the page says "live" (its event stream is open), then
prints "ready" and waits for the test to publish: a trade and a BUY signal for SYMBOL, and an
alert whose title is markup. Checks that the ticker's card shows the price and the BUY with
its votes, that the dashboard's own heartbeat is a service row, that the alert's markup is
shown as text (no element made from it), that no request left the dashboard's origin, that
the console shows no error and that a phone-sized viewport needs no horizontal scrolling.
Saves screenshots (SCREENSHOT and SCREENSHOT with -phone). Prints one JSON line of what it
found; exits 1 on a failed check, 2 when it cannot run.
"""

import json
import os
import sys
import time
import urllib.parse

from chromium import browser_path


def main():
    if len(sys.argv) != 4:
        print("usage: dashboard_check.py URL SYMBOL SCREENSHOT.png", file=sys.stderr)
        return 2
    url, symbol, screenshot = sys.argv[1], sys.argv[2], sys.argv[3]
    origin = urllib.parse.urlsplit(url)
    found = {"ok": False, "failures": [], "blocked": [], "console_errors": []}
    failures = found["failures"]
    executable = browser_path()
    if executable is None:
        failures.append("no chromium-headless-shell: run `make deps`")
        print(json.dumps(found))
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        failures.append("no playwright in this Python: run `make deps`")
        print(json.dumps(found))
        return 2

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def route(request_route):
            parts = urllib.parse.urlsplit(request_route.request.url)
            if (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc):
                request_route.continue_()
            else:
                found["blocked"].append(request_route.request.url)
                request_route.abort()

        page.route("**/*", route)
        page.on("console", lambda message: message.type == "error" and found["console_errors"].append(message.text))
        page.on("pageerror", lambda error: found["console_errors"].append(str(error)))
        page.goto(url, wait_until="load", timeout=20000)
        try:
            page.wait_for_function("document.getElementById('connection').textContent === 'live'", timeout=15000)
        except Exception:
            failures.append("the page never said live (event stream not open)")
        print("ready", flush=True)

        card = f".card[data-symbol='{symbol}']"
        started = time.monotonic()
        try:
            page.wait_for_selector(f"{card} .signal .BUY", timeout=20000)
            found["signal_seconds"] = round(time.monotonic() - started, 2)
        except Exception:
            failures.append(f"no BUY shown on {symbol}'s card")
        try:
            page.wait_for_function(
                "sel => { const n = document.querySelector(sel); return n && n.textContent !== '–'; }",
                arg=f"{card} .price", timeout=10000)
            found["price"] = page.inner_text(f"{card} .price")
        except Exception:
            failures.append(f"no price shown on {symbol}'s card")
        found["votes"] = page.locator(f"{card} table.votes tr").count()
        if found["votes"] < 1:
            failures.append("the signal's votes are not shown")
        try:
            page.wait_for_selector("#services tr[data-service='dashboard']", timeout=15000)
        except Exception:
            failures.append("the dashboard's own heartbeat is not a service row")
        try:
            page.wait_for_function(
                "document.querySelector('#alerts tbody').textContent.includes('<img')", timeout=10000)
        except Exception:
            failures.append("the alert is not shown")
        if page.locator("#alerts img, #alerts script").count() > 0:
            failures.append("markup in an alert became an element")
        page.screenshot(path=screenshot, full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        found["phone_overflow_px"] = overflow
        if overflow > 1:
            failures.append(f"a phone-sized viewport scrolls sideways by {overflow} px")
        root, extension = os.path.splitext(screenshot)
        page.screenshot(path=f"{root}-phone{extension}", full_page=True)
        browser.close()

    if found["blocked"]:
        failures.append(f"requests outside the dashboard: {found['blocked'][:5]}")
    if found["console_errors"]:
        failures.append(f"console errors: {found['console_errors'][:5]}")
    found["ok"] = not failures
    print(json.dumps(found))
    return 0 if found["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
