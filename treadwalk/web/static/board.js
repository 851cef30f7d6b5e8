// treadwalk watch --web: every treadmill on the broker, read-only. No build step, no library.
"use strict";
(() => {
  const token = new URLSearchParams(location.search).get("t") || "";
  const $ = (id) => document.getElementById(id);
  const STALE_MS = 5000;
  const tw = (window.__tw = { board: null, open: false });
  let backoff = 500, lastHeard = 0;

  const cell = (text, cls) => { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; };
  const num = (v, digits, unit) => (v == null ? "–" : v.toFixed(digits) + unit);
  const ago = (now, t) => (t == null ? "–" : Math.max(0, Math.round(now - t)) + " s ago");

  function render() {
    const b = tw.board;
    if (!b) return;
    $("profile").textContent = b.title || "treadwalk watch";
    $("broker").textContent = "broker: " + b.status;
    $("broker").className = "pill " + (b.status === "connected" ? "connected" : "reconnecting");
    const body = $("rows");
    body.replaceChildren();
    if (!b.rows.length) { const tr = document.createElement("tr"); tr.appendChild(cell("no treadmill has published yet", "none")).colSpan = 9; body.appendChild(tr); return; }
    for (const r of b.rows) {
      const tr = document.createElement("tr");
      tr.dataset.id = r.treadmill_id;
      tr.append(cell(r.name), cell(r.status, "st " + r.status), cell(r.phase || "–"), cell(r.segment || "–"),
        cell(num(r.speed_kmh, 1, " km/h")), cell(num(r.incline_pct, 1, " %")),
        cell(r.distance_m == null ? "–" : (r.distance_m / 1000).toFixed(2) + " km"),
        cell(r.heart_rate_bpm == null ? "–" : r.heart_rate_bpm + " bpm"), cell(ago(b.now, r.last_seen)));
      body.appendChild(tr);
    }
  }

  function connection() {
    const stale = !tw.open || Date.now() - lastHeard > STALE_MS;
    document.body.classList.toggle("stale", stale);
    $("conn").textContent = !tw.open ? "reconnecting" : stale ? "stale" : "connected";
    $("conn").className = "pill " + (!tw.open ? "offline" : stale ? "stale" : "connected");
    $("heard").textContent = lastHeard ? "updated " + new Date(lastHeard).toLocaleTimeString() : "";
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws?t=${encodeURIComponent(token)}`);
    ws.onopen = () => { tw.open = true; backoff = 500; lastHeard = Date.now(); connection(); };
    ws.onmessage = (e) => {
      lastHeard = Date.now();
      const m = JSON.parse(e.data);
      if (m.type === "board") { tw.board = m; render(); }
      connection();
    };
    ws.onclose = () => { tw.open = false; connection(); setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 5000); };
  }
  setInterval(connection, 1000);
  connect();
})();
