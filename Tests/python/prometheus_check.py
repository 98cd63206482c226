#!/usr/bin/env python3
"""Asks a running Prometheus about a Grafana dashboard's queries and its loaded rules.

    prometheus_check.py panels URL DASHBOARD.json
        Every panel target's `expr` (rows skipped, collapsed rows' panels included), with
        Grafana's interval variables as 1m and the dashboard's template variables as `.*`,
        through /api/v1/query. One JSON line per target:
        {"panel", "expr", "query", "series", "finite", "values", "error"}; a panel with no
        target with an expr is a line with an error. `finite` counts samples that are numbers
        (not NaN or ±Inf): a query with none shows nothing in Grafana. `values`: the first 50
        samples' values as Prometheus gives them (strings, "NaN" included).

    prometheus_check.py rules URL RULES.yml
        /api/v1/rules: one JSON line per loaded rule {"group", "name", "type", "health",
        "error"}, then {"expected": N}, the rules (alert: and record: entries) in RULES.yml.

Standard library only (Tests/EndToEndTests/PrometheusStackTests.swift runs it with the
repository's .venv Python). Each HTTP request times out after 5 s.
"""

import json
import math
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

INTERVALS = ("$__rate_interval", "$__interval", "$__range")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.load(answer), None
    except urllib.error.HTTPError as error:
        try:
            body = json.load(error)
            return body, body.get("error") or f"HTTP {error.code}"
        except ValueError:
            return None, f"HTTP {error.code}"
    except (OSError, ValueError) as error:
        return None, str(error)


def panels(dashboard):
    """Every non-row panel, those inside rows (collapsed or not) included."""
    for panel in dashboard.get("panels") or []:
        if panel.get("type") == "row":
            yield from panel.get("panels") or []
        else:
            yield panel


def substitute(expr, variables):
    for interval in INTERVALS:
        expr = expr.replace(interval, "1m")
    for name in variables:
        expr = re.sub(r"\$\{" + re.escape(name) + r"(:[^}]*)?\}", ".*", expr)
        expr = expr.replace(f"[[{name}]]", ".*")
        expr = re.sub(r"\$" + re.escape(name) + r"\b", ".*", expr)
    return expr


def check_panels(base, path):
    with open(path) as file:
        dashboard = json.load(file)
    variables = [variable["name"] for variable in (dashboard.get("templating") or {}).get("list") or []]
    for panel in panels(dashboard):
        title = panel.get("title") or f"panel {panel.get('id')}"
        targets = [target for target in panel.get("targets") or [] if (target.get("expr") or "").strip()]
        if not targets:
            print(json.dumps({"panel": title, "expr": None, "error": "no target with an expr"}), flush=True)
            continue
        for target in targets:
            query = substitute(target["expr"], variables)
            line = {"panel": title, "expr": target["expr"], "query": query, "series": 0, "finite": 0, "values": [],
                    "error": None}
            uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
            if uid != "prometheus":
                line["error"] = f"datasource uid {uid!r}, not 'prometheus'"
            elif "$" in query:
                line["error"] = "a variable is left after substitution"
            else:
                body, error = get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query}))
                if error or not body or body.get("status") != "success":
                    line["error"] = error or "no answer"
                else:
                    data = body["data"]
                    if data["resultType"] == "vector":
                        values = [sample["value"][1] for sample in data["result"]]
                    elif data["resultType"] == "scalar":
                        values = [data["result"][1]]
                    else:
                        values = []
                        line["error"] = f"result type {data['resultType']}"
                    line["series"] = len(values)
                    line["values"] = values[:50]
                    line["finite"] = sum(1 for value in values if math.isfinite(float(value)))
            print(json.dumps(line), flush=True)


def check_rules(base, path):
    body, error = get(f"{base}/api/v1/rules")
    if error or not body or body.get("status") != "success":
        print(json.dumps({"error": error or "no answer"}), flush=True)
        return
    for group in body["data"]["groups"]:
        for rule in group["rules"]:
            print(json.dumps({
                "group": group["name"], "name": rule["name"], "type": rule.get("type"),
                "health": rule.get("health"), "error": rule.get("lastError") or None,
            }), flush=True)
    with open(path) as file:
        expected = sum(1 for line in file if re.match(r"\s*-\s+(alert|record):", line))
    print(json.dumps({"expected": expected}), flush=True)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("panels", "rules"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, base, path = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
    (check_panels if mode == "panels" else check_rules)(base, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
