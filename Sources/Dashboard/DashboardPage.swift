/// The dashboard's one page: inline CSS and script, SVG sparklines drawn by the script, no
/// request but `/events` (and `/state` once, to show something at once). Text from the bus is
/// only ever set with `textContent`, never parsed as HTML.
enum DashboardPage {
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:"

    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Tickwire</title>
        <style>
        :root { color-scheme: light dark; --up: #1a7f37; --down: #cf222e; --muted: #6e7781; --line: #d0d7de; }
        body { font: 14px/1.4 system-ui, sans-serif; margin: 0; padding: 12px; }
        header { display: flex; flex-wrap: wrap; gap: 12px; align-items: baseline; }
        h1 { font-size: 18px; margin: 0; }
        h2 { font-size: 15px; margin: 18px 0 6px; }
        #connection.live { color: var(--up); } #connection.down { color: var(--down); }
        .muted { color: var(--muted); }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 10px; }
        .card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
        .card .top { display: flex; justify-content: space-between; align-items: baseline; }
        .symbol { font-weight: 600; font-size: 16px; }
        .price { font-variant-numeric: tabular-nums; font-size: 16px; }
        .BUY { color: var(--up); font-weight: 600; } .SELL { color: var(--down); font-weight: 600; } .HOLD { color: var(--muted); }
        svg.spark { width: 100%; height: 40px; display: block; }
        svg.spark polyline { fill: none; stroke: currentColor; stroke-width: 1.5; }
        table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
        td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid var(--line); }
        .votes td { font-size: 12px; border: 0; padding: 0 4px; }
        .running { color: var(--up); } .degraded, .starting, .stopping { color: #9a6700; } .stale, .critical, .error { color: var(--down); font-weight: 600; }
        .scroll { overflow-x: auto; }
        </style>
        </head>
        <body>
        <header><h1>Tickwire</h1><span id="connection" class="down">connecting…</span><span id="session" class="muted"></span><span id="updated" class="muted"></span></header>
        <h2>Tickers</h2>
        <div id="tickers" class="grid"></div>
        <h2>Services</h2>
        <div class="scroll"><table id="services"><thead><tr><th>service</th><th>instance</th><th>state</th><th>last heartbeat</th><th>in</th><th>out</th><th>errors</th></tr></thead><tbody></tbody></table></div>
        <h2>Recent alerts</h2>
        <div class="scroll"><table id="alerts"><thead><tr><th>time</th><th>severity</th><th>service</th><th>alert</th></tr></thead><tbody></tbody></table></div>
        <script>
        "use strict";
        function el(tag, text, cls) {
          const node = document.createElement(tag);
          if (text !== undefined && text !== null) node.textContent = String(text);
          if (cls) node.className = cls;
          return node;
        }
        function num(value, digits) {
          return typeof value === "number" && isFinite(value) ? value.toFixed(digits) : "–";
        }
        function time(ns) {
          if (typeof ns !== "number" || !isFinite(ns) || ns <= 0) return "–";
          const date = new Date(ns / 1e6);
          return isNaN(date.getTime()) ? "–" : date.toISOString().replace("T", " ").slice(0, 19);
        }
        function sparkline(prices) {
          const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
          svg.setAttribute("class", "spark");
          svg.setAttribute("viewBox", "0 0 100 40");
          svg.setAttribute("preserveAspectRatio", "none");
          svg.setAttribute("role", "img");
          const values = (prices || []).filter(v => typeof v === "number" && isFinite(v));
          svg.setAttribute("aria-label", values.length + " recent prices");
          if (values.length > 1) {
            const low = Math.min(...values), high = Math.max(...values), span = high - low || 1;
            const points = values.map((v, i) => (i * 100 / (values.length - 1)).toFixed(2) + "," + (38 - (v - low) * 36 / span).toFixed(2));
            const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
            line.setAttribute("points", points.join(" "));
            line.setAttribute("vector-effect", "non-scaling-stroke");
            svg.appendChild(line);
          }
          return svg;
        }
        function tickerCard(ticker) {
          const card = el("div", null, "card");
          card.dataset.symbol = ticker.symbol;
          const top = el("div", null, "top");
          top.appendChild(el("span", ticker.symbol, "symbol"));
          top.appendChild(el("span", num(ticker.price, 2), "price"));
          card.appendChild(top);
          card.appendChild(sparkline(ticker.prices));
          if (ticker.bar) {
            const b = ticker.bar;
            card.appendChild(el("div", "bar " + time(b.endTimeNs) + "  O " + num(b.open, 2) + " H " + num(b.high, 2) + " L " + num(b.low, 2) + " C " + num(b.close, 2) + " V " + num(b.volume, 0), "muted"));
          }
          if (ticker.signal) {
            const s = ticker.signal;
            const line = el("div");
            line.appendChild(el("span", s.action, s.action));
            line.appendChild(el("span", " " + num(s.confidence * 100, 0) + "% at " + num(s.price, 2) + " · " + time(s.timeNs) + " · " + s.ensemble, "muted"));
            line.className = "signal";
            card.appendChild(line);
            const votes = el("table", null, "votes");
            for (const vote of s.votes || []) {
              const row = el("tr");
              row.appendChild(el("td", vote.model));
              row.appendChild(el("td", vote.action, vote.action));
              row.appendChild(el("td", "p " + num(vote.probability, 2)));
              row.appendChild(el("td", "w " + num(vote.weight, 2)));
              row.appendChild(el("td", "acc " + (vote.liveAccuracy > 0 ? num(vote.liveAccuracy * 100, 0) + "%" : "–")));
              votes.appendChild(row);
            }
            card.appendChild(votes);
          } else {
            card.appendChild(el("div", "no signal yet", "muted"));
          }
          return card;
        }
        function render(state) {
          document.getElementById("session").textContent = state.session ? "session: " + state.session : "";
          document.getElementById("updated").textContent = "updated " + time(state.nowNs) + " UTC";
          const tickers = document.getElementById("tickers");
          tickers.replaceChildren(...(state.tickers || []).map(tickerCard));
          const services = document.querySelector("#services tbody");
          services.replaceChildren(...(state.services || []).map(row => {
            const tr = el("tr");
            tr.dataset.service = row.status.service;
            tr.appendChild(el("td", row.status.service));
            tr.appendChild(el("td", row.status.instance));
            tr.appendChild(el("td", row.stale ? "stale" : row.status.state, row.stale ? "stale state" : row.status.state + " state"));
            tr.appendChild(el("td", num(row.ageSeconds, 0) + " s ago"));
            tr.appendChild(el("td", row.status.messagesIn));
            tr.appendChild(el("td", row.status.messagesOut));
            tr.appendChild(el("td", row.status.errors));
            return tr;
          }));
          const alerts = document.querySelector("#alerts tbody");
          alerts.replaceChildren(...(state.alerts || []).map(alert => {
            const tr = el("tr");
            tr.appendChild(el("td", time(alert.timeNs)));
            tr.appendChild(el("td", alert.severity, alert.severity));
            tr.appendChild(el("td", alert.service));
            tr.appendChild(el("td", alert.title + ": " + alert.message));
            return tr;
          }));
        }
        function connect() {
          const status = document.getElementById("connection");
          const source = new EventSource("events");
          source.onopen = () => { status.textContent = "live"; status.className = "live"; };
          source.onmessage = event => { try { render(JSON.parse(event.data)); } catch (error) { console.warn(error); } };
          source.onerror = () => { status.textContent = "reconnecting…"; status.className = "down"; };
        }
        fetch("state").then(r => r.json()).then(render).catch(() => {});
        connect();
        </script>
        </body>
        </html>
        """#
}
