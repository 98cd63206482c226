"""Where the browser checks find Debian's chromium-headless-shell (or TICKWIRE_CHROMIUM)."""

import os

DEFAULT_BROWSERS = [
    "/usr/lib/chromium/chromium-headless-shell",
    "/usr/bin/chromium-headless-shell",
]


def browser_path():
    """The browser to drive, or None when there is none."""
    configured = os.environ.get("TICKWIRE_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for candidate in DEFAULT_BROWSERS:
        if os.access(candidate, os.X_OK):
            return candidate
    return None
