#!/usr/bin/env bash
# Installs what building and testing Tickwire needs, when it is missing:
#   Debian packages: libzmq3-dev, libcurl4-openssl-dev, libsqlite3-dev, pkg-config, python3-venv,
#                    postgresql-15 (the journal's PostgreSQL store is tested against a throwaway server),
#                    chromium-headless-shell (the backtest's HTML report is checked in a real browser),
#                    prometheus (promtool checks every service's /metrics output)
#   PyPI test peers:  Tests/python/requirements.txt into ./.venv
# As root it runs apt-get; otherwise it prints the exact command to run and fails.
set -euo pipefail

readonly PACKAGES=(libzmq3-dev libcurl4-openssl-dev libsqlite3-dev pkg-config python3-venv postgresql-15 chromium-headless-shell prometheus)
readonly VENV=".venv"
readonly REQUIREMENTS="Tests/python/requirements.txt"

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        echo "deps: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "deps: missing Debian packages: ${missing[*]}" >&2
        echo "deps: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "deps: no 'swift' on PATH: install Swift 6 from swift.org and add its usr/bin to PATH" >&2
    exit 1
fi

# The Python test peers, pinned; reinstalled only when the requirements change.
stamp="$VENV/.requirements-$(sha256sum "$REQUIREMENTS" | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    echo "deps: installing Python test peers into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS"
    rm -f "$VENV"/.requirements-*
    touch "$stamp"
fi
