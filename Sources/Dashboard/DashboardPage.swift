/// The dashboard's one page: inline CSS and script, SVG sparklines and the reliability curve
/// drawn by the script, no request but `/events` (and `/state` once, to show something at
/// once). Text from the bus is only ever set with `textContent`, never parsed as HTML. A grid
/// of cards and panels that collapses to one column on a phone; wide tables scroll inside
/// their own box.
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
        .panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 340px), 1fr)); gap: 10px; margin-top: 10px; align-items: start; }
        .panels h2 { margin-top: 0; }
        .panel { min-width: 0; }
        .num { text-align: right; }
        .stable { color: var(--up); } .watch { color: #9a6700; font-weight: 600; } .shifted { color: var(--down); font-weight: 700; }
        #drift-banner { border: 2px solid var(--down); border-radius: 6px; padding: 6px 10px; margin: 10px 0; background: rgba(207, 34, 46, 0.08); }
        #drift-banner[hidden] { display: none; }
        #drift-banner h2 { margin: 0 0 4px; color: var(--down); }
        #drift-banner ul { margin: 0; padding-left: 18px; }
        svg.reliability { width: 100%; max-width: 320px; height: auto; display: block; }
        svg.reliability .frame { fill: none; stroke: var(--line); }
        svg.reliability .ideal { stroke: var(--muted); stroke-dasharray: 3 3; }
        svg.reliability .curve { fill: none; stroke: currentColor; stroke-width: 1.5; }
        svg.reliability circle { fill: currentColor; fill-opacity: 0.6; }
        svg.reliability text { fill: var(--muted); font-size: 9px; }
        .stat { font-size: 16px; font-variant-numeric: tabular-nums; }
        .note { font-size: 12px; }
        th[title], #brier { text-decoration: underline dotted; cursor: help; }
        </style>
        </head>
        <body>
        <header><h1>Tickwire</h1><span id="connection" class="down">connecting…</span><span id="session" class="muted"></span><span id="updated" class="muted"></span></header>
        <section id="drift-banner" hidden><h2>Model drift</h2><ul id="drift-alerts"></ul></section>
        <h2>Tickers</h2>
        <div id="tickers" class="grid"></div>
        <div class="panels">
        <section class="panel card" id="models-panel"><h2>Models</h2>
        <div class="scroll"><table id="models"><thead><tr><th>model</th><th class="num">weight</th><th class="num" title="decayed accuracy on live outcomes, as the signal generator reports it in every vote">live accuracy</th><th>last vote</th></tr></thead><tbody></tbody></table></div>
        <div class="note muted">from the latest vote of each model in the signals</div></section>
        <section class="panel card" id="quality"><h2>Signal quality</h2>
        <div><span class="stat" id="brier" title="Brier score: the mean of (confidence − hit)² over the last 1000 resolved BUY/SELL signals, hit 1 when the close horizon_bars bars after the signal's bar moved its way (BUY: above its price, SELL: below), else 0. 0 is perfect; always 0.5 scores 0.25. HOLD signals are not scored.">Brier –</span>
        <span class="muted" id="quality-summary"></span></div>
        <svg id="reliability" class="reliability" viewBox="0 0 220 170" role="img" aria-label="reliability curve: observed hit rate against confidence"></svg>
        <div class="scroll"><table id="quality-bins"><thead><tr><th>confidence</th><th class="num">signals</th><th class="num">mean conf.</th><th class="num">hit rate</th></tr></thead><tbody></tbody></table></div>
        <div class="note muted">A BUY hits when the close horizon_bars bars later is above its price, a SELL when below. Brier = mean (confidence − hit)². HOLD is not scored.</div></section>
        <section class="panel card" id="drift-panel"><h2>Prediction drift</h2>
        <div class="scroll"><table id="drift"><thead><tr><th>signal generator</th><th class="num" title="population stability index of the predicted classes against the training class balance">predictions PSI</th><th>reading</th><th class="num" title="the largest population stability index of one feature against the training rows' deciles">features PSI</th><th>reading</th></tr></thead><tbody></tbody></table></div>
        <div class="note muted">PSI &lt; 0.1 stable, 0.1–0.25 watch, &gt; 0.25 shifted</div></section>
        <section class="panel card" id="outbox-panel"><h2>Notifier outbox</h2><div id="outboxes"></div></section>
        </div>
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
          renderModels(state.models);
          renderQuality(state.quality);
          renderDrift(state.drift);
          renderOutboxes(state.outboxes);
        }
        function pct(value) {
          return typeof value === "number" && isFinite(value) ? (value * 100).toFixed(0) + "%" : "–";
        }
        function count(value) {
          return typeof value === "number" && isFinite(value) ? String(value) : "–";
        }
        function svg(tag, attributes) {
          const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
          for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
          return node;
        }
        function renderModels(models) {
          const body = document.querySelector("#models tbody");
          body.replaceChildren(...(models || []).map(model => {
            const tr = el("tr");
            tr.dataset.model = model.model;
            tr.appendChild(el("td", model.model));
            tr.appendChild(el("td", num(model.weight, 2), "num weight"));
            tr.appendChild(el("td", model.liveAccuracy > 0 ? pct(model.liveAccuracy) : "–", "num accuracy"));
            const vote = el("td");
            vote.appendChild(el("span", model.action, model.action));
            vote.appendChild(el("span", " p " + num(model.probability, 2) + " · " + model.symbol + " · " + time(model.timeNs), "muted"));
            tr.appendChild(vote);
            return tr;
          }));
        }
        // The reliability curve: observed hit rate (y) against mean confidence (x) per bin,
        // the diagonal being perfect calibration; dot area grows with the bin's signals.
        function renderReliability(quality) {
          const chart = document.getElementById("reliability");
          const left = 30, top = 8, width = 180, height = 130, low = 0.3;
          const x = c => left + (Math.min(Math.max(c, low), 1) - low) / (1 - low) * width;
          const y = r => top + (1 - Math.min(Math.max(r, 0), 1)) * height;
          const nodes = [svg("rect", { class: "frame", x: left, y: top, width: width, height: height })];
          nodes.push(svg("line", { class: "ideal", x1: x(low), y1: y(low), x2: x(1), y2: y(1) }));
          for (const tick of [0, 0.5, 1]) {
            const label = svg("text", { x: left - 4, y: y(tick) + 3, "text-anchor": "end" });
            label.textContent = tick.toFixed(1);
            nodes.push(label);
          }
          for (const tick of [0.3, 0.5, 0.7, 0.9, 1.0]) {
            const label = svg("text", { x: x(tick), y: top + height + 12, "text-anchor": "middle" });
            label.textContent = tick.toFixed(1);
            nodes.push(label);
          }
          const caption = svg("text", { x: left + width / 2, y: top + height + 26, "text-anchor": "middle" });
          caption.textContent = "confidence → observed hit rate";
          nodes.push(caption);
          const bins = ((quality && quality.bins) || []).filter(b => b.count > 0 && typeof b.meanConfidence === "number" && typeof b.hitRate === "number");
          const most = Math.max(1, ...bins.map(b => b.count));
          if (bins.length > 1) {
            nodes.push(svg("polyline", { class: "curve", points: bins.map(b => x(b.meanConfidence).toFixed(1) + "," + y(b.hitRate).toFixed(1)).join(" ") }));
          }
          for (const b of bins) {
            const dot = svg("circle", { cx: x(b.meanConfidence).toFixed(1), cy: y(b.hitRate).toFixed(1), r: (2 + 4 * Math.sqrt(b.count / most)).toFixed(1) });
            const title = svg("title");
            title.textContent = num(b.low, 2) + "–" + num(b.high, 2) + ": " + b.count + " signals, mean confidence " + num(b.meanConfidence, 2) + ", hit rate " + pct(b.hitRate);
            dot.appendChild(title);
            nodes.push(dot);
          }
          chart.replaceChildren(...nodes);
        }
        function renderQuality(quality) {
          const q = quality || {};
          document.getElementById("brier").textContent = "Brier " + num(q.brier, 3);
          document.getElementById("quality-summary").textContent =
            count(q.resolved) + " resolved (hit rate " + pct(q.hitRate) + "; BUY " + count(q.buyHits) + "/" + count(q.buyResolved) +
            ", SELL " + count(q.sellHits) + "/" + count(q.sellResolved) + ") · " + count(q.pending) + " pending · " +
            count(q.holdSignals) + " HOLD not scored" + (q.unscored > 0 ? " · " + q.unscored + " unscorable" : "") +
            (q.expired > 0 ? " · " + q.expired + " expired" : "");
          renderReliability(q);
          const body = document.querySelector("#quality-bins tbody");
          body.replaceChildren(...(q.bins || []).map(b => {
            const tr = el("tr");
            tr.appendChild(el("td", num(b.low, 2) + "–" + num(b.high, 2)));
            tr.appendChild(el("td", count(b.count), "num"));
            tr.appendChild(el("td", num(b.meanConfidence, 2), "num"));
            tr.appendChild(el("td", pct(b.hitRate), "num"));
            return tr;
          }));
        }
        function renderDrift(drift) {
          const d = drift || {};
          const body = document.querySelector("#drift tbody");
          body.replaceChildren(...(d.instances || []).map(row => {
            const tr = el("tr");
            tr.dataset.instance = row.instance;
            tr.appendChild(el("td", row.instance + (row.stale ? " (stale)" : ""), row.stale ? "stale" : null));
            tr.appendChild(el("td", num(row.psi, 3), "num psi"));
            tr.appendChild(el("td", row.label, "psi-label " + row.label));
            tr.appendChild(el("td", row.featurePsi == null ? "–" : num(row.featurePsi, 3), "num feature-psi"));
            tr.appendChild(el("td", row.featureLabel || "", row.featureLabel ? "psi-label " + row.featureLabel : null));
            return tr;
          }));
          if (!(d.instances || []).length) {
            const tr = el("tr");
            const td = el("td", "no PSI in the signal generator's heartbeat yet", "muted");
            td.colSpan = 5;
            tr.appendChild(td);
            body.appendChild(tr);
          }
          const alerts = d.alerts || [];
          const banner = document.getElementById("drift-banner");
          banner.hidden = alerts.length === 0;
          document.getElementById("drift-alerts").replaceChildren(...alerts.map(alert => {
            const li = el("li");
            li.appendChild(el("strong", alert.title));
            li.appendChild(el("span", " " + alert.message + " · " + alert.service + (alert.symbol ? " · " + alert.symbol : "") + " · " + time(alert.timeNs), "muted"));
            return li;
          }));
        }
        function renderOutboxes(outboxes) {
          const box = document.getElementById("outboxes");
          const rows = outboxes || [];
          if (!rows.length) {
            box.replaceChildren(el("div", "no notifier heartbeat yet", "muted"));
            return;
          }
          box.replaceChildren(...rows.map(row => {
            const o = row.outbox || {};
            const part = el("div", null, "outbox");
            part.dataset.instance = row.instance;
            const head = el("div");
            head.appendChild(el("span", "notifier " + row.instance + (row.stale ? " (stale)" : ""), row.stale ? "stale" : null));
            head.appendChild(el("span", " · pending ", "muted"));
            head.appendChild(el("strong", count(o.pending), "pending"));
            head.appendChild(el("span", " · queued " + count(o.queued) + " · throttled " + count(o.throttled), "muted"));
            part.appendChild(head);
            const table = el("table", null, "channels");
            const header = el("tr");
            for (const [text, cls] of [["channel", null], ["sent", "num"], ["failed", "num"]]) header.appendChild(el("th", text, cls));
            table.appendChild(header);
            for (const channel of o.channels || []) {
              const tr = el("tr");
              tr.dataset.channel = channel.name;
              tr.appendChild(el("td", channel.name));
              tr.appendChild(el("td", count(channel.sent), "num sent"));
              tr.appendChild(el("td", count(channel.failed), channel.failed > 0 ? "num failed error" : "num failed"));
              table.appendChild(tr);
            }
            const scroll = el("div", null, "scroll");
            scroll.appendChild(table);
            part.appendChild(scroll);
            if (o.moreChannels > 0) part.appendChild(el("div", "and " + o.moreChannels + " more channels", "muted note"));
            return part;
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
