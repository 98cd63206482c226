#!/usr/bin/env python3
"""Drives the live dashboard in a real browser while a test publishes on the bus.

    dashboard_check.py URL SYMBOL SCREENSHOT.png

Uses Debian's chromium-headless-shell (another binary with TICKWIRE_CHROMIUM) through
playwright. Opens URL, waits until the page says "live" (its event stream is open), then
prints "ready" and waits for the test to publish: a trade and a BUY signal for SYMBOL, and an
alert whose title is markup. Checks that the ticker's card shows the price and the BUY with
its votes, that the dashboard's own heartbeat is a service row, that the alert's markup is
shown as text (no element made from it).

Then, phase 1: model gbt's weight 0.50 and live accuracy 60% in the model table, a BUY at 0.7
resolved as a hit (Brier 0.090, one point on the reliability curve), the signal generator's
PSI 0.180 read "watch" with no drift banner, notifier instance t with webhook sent 7 / failed 1
and 4 pending. Prints "phase 2" and waits for the test's second round: a SELL at 0.45 resolved
as a miss (Brier 0.146, two points), PSI 0.310 "shifted" with the model.drift alert in the
banner, webhook sent 8 and 0 pending.

Last, that no request left the dashboard's origin, that the console shows no error and that
a phone-sized viewport needs no horizontal scrolling with the panels in one column. Saves
screenshots (SCREENSHOT, and with -phase1 and -phone). Prints one JSON line of what it found;
exits 1 on a failed check, 2 when it cannot run.
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

        def wait_text(selector, expected, what, timeout=15000):
            """Waits until selector's text is expected (a string) or contains it (a tuple)."""
            script = """([sel, want, part]) => { const n = document.querySelector(sel);
                return !!n && (part ? n.textContent.includes(want) : n.textContent.trim() === want); }"""
            part = isinstance(expected, tuple)
            want = expected[0] if part else expected
            try:
                page.wait_for_function(script, arg=[selector, want, part], timeout=timeout)
                return True
            except Exception:
                node = page.query_selector(selector)
                failures.append(f"{what}: {selector} shows {node.text_content() if node else None!r}, not {want!r}")
                return False

        model = "#models tr[data-model='gbt']"
        drift = "#drift tr[data-instance='t']"
        outbox = "#outboxes .outbox[data-instance='t']"
        webhook = f"{outbox} tr[data-channel='webhook']"
        # Phase 1: a BUY resolved as a hit, PSI 0.18, the notifier's outbox.
        wait_text(f"{model} .weight", "0.50", "the model table has no weight for gbt")
        wait_text(f"{model} .accuracy", "60%", "the model table has no live accuracy for gbt")
        wait_text("#brier", "Brier 0.090", "the Brier score of one hit at 0.7")
        wait_text("#quality-summary", ("1 resolved",), "the resolved count")
        found["reliability_points"] = page.locator("#reliability circle").count()
        if found["reliability_points"] != 1:
            failures.append(f"the reliability curve has {found['reliability_points']} points, not 1")
        wait_text(f"{drift} .psi", "0.180", "the PSI from the signal generator's heartbeat")
        wait_text(f"{drift} .psi-label", "watch", "the PSI reading")
        if not page.locator("#drift-banner").is_hidden():
            failures.append("the drift banner shows with no model.drift alert")
        wait_text(f"{webhook} .sent", "7", "the webhook's sent count")
        wait_text(f"{webhook} .failed", "1", "the webhook's failed count")
        wait_text(f"{outbox} .pending", "4", "the outbox's pending count")
        if page.locator(f"{outbox} tr[data-channel]").count() != 2:
            failures.append("the outbox does not show two channels")
        root, extension = os.path.splitext(screenshot)
        page.screenshot(path=f"{root}-phase1{extension}", full_page=True)
        print("phase 2", flush=True)

        # Phase 2: a SELL resolved as a miss, PSI 0.31 and a model.drift alert, one more sent.
        started = time.monotonic()
        if wait_text("#brier", "Brier 0.146", "the Brier score after a hit at 0.7 and a miss at 0.45"):
            found["quality_update_seconds"] = round(time.monotonic() - started, 2)
        wait_text("#quality-summary", ("2 resolved",), "the resolved count after the second outcome")
        found["brier"] = page.inner_text("#brier")
        found["reliability_points"] = page.locator("#reliability circle").count()
        if found["reliability_points"] != 2:
            failures.append(f"the reliability curve has {found['reliability_points']} points, not 2")
        wait_text(f"{drift} .psi-label", "shifted", "the PSI reading after 0.31")
        try:
            page.wait_for_selector("#drift-banner", state="visible", timeout=15000)
        except Exception:
            failures.append("the model.drift alert is not shown in the drift banner")
        wait_text("#drift-alerts", ("predictions drifted from training",), "the drift alert's title")
        wait_text(f"{webhook} .sent", "8", "the webhook's sent count after the second heartbeat")
        wait_text(f"{outbox} .pending", "0", "the outbox's pending count after the second heartbeat")
        found["psi_label"] = page.inner_text(f"{drift} .psi-label") if page.query_selector(f"{drift} .psi-label") else None
        page.screenshot(path=screenshot, full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        found["phone_overflow_px"] = overflow
        if overflow > 1:
            failures.append(f"a phone-sized viewport scrolls sideways by {overflow} px")
        # The panels stack in one column on a phone.
        columns = page.evaluate("getComputedStyle(document.querySelector('.panels')).gridTemplateColumns.split(' ').length")
        found["phone_panel_columns"] = columns
        if columns != 1:
            failures.append(f"the panels are in {columns} columns on a phone, not 1")
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
