// arbbot dashboard: renders the arbbot.state/1 stream (Server-Sent Events), no page reloads.
// Money arrives as integer µ$ (*_micros) and is formatted here; quantities in lots (1/100 contract).
"use strict";
(function () {
  // The controls' CSRF token never travels with the cookie: the sign-in redirect hands it over in
  // the URL's fragment (never sent to a server), kept in this tab's sessionStorage (per origin, so
  // per port) and dropped from the address bar. A cookie the browser sent to another program on
  // another loopback port (cookies ignore ports) reads the page but cannot use the controls.
  // Storage blocked (site data off: reading it throws): the handed token lives in this page only.
  const csrfKey = "arbbot-csrf:" + location.port;
  const handed = new URLSearchParams(location.hash.slice(1)).get("csrf");
  let kept = null;
  try {
    if (handed) sessionStorage.setItem(csrfKey, handed);
    kept = sessionStorage.getItem(csrfKey);
  } catch (err) { kept = null; }
  if (handed) history.replaceState(null, "", location.pathname + location.search);
  const csrf = handed || kept || "";
  const $ = (id) => document.getElementById(id);
  let last = null;            // the newest state
  let selected = null;        // execution id shown in the detail panel
  let selectedState = null;   // its state when the detail was fetched
  let tunablesBuilt = "";
  const shown = {};           // section → the JSON it was last drawn from (unchanged: not redrawn)

  function changed(section, data) {   // true once per new content: the DOM is only rebuilt when it changed
    const key = JSON.stringify(data);
    if (shown[section] === key) return false;
    shown[section] = key;
    return true;
  }

  // ---- formatting -----------------------------------------------------------------------------
  function usd(micros) {      // µ$ → "$1,234.56" (rounded to the cent, exact integer arithmetic)
    if (micros === null || micros === undefined) return "–";
    const neg = micros < 0;
    const cents = Math.round(Math.abs(micros) / 10000);
    const dollars = Math.floor(cents / 100).toLocaleString("en-US");
    return (neg ? "−$" : "$") + dollars + "." + String(cents % 100).padStart(2, "0");
  }
  function short(market) {    // "polymarket:0x552e…a5d225a": long venue ids shortened (full name as a tooltip)
    const i = market.indexOf(":");
    const id = market.slice(i + 1);
    return id.length > 24 ? market.slice(0, i + 1) + id.slice(0, 12) + "…" + id.slice(-6) : market;
  }
  function mkt(market) { return el("span", { title: market }, short(market)); }
  function contracts(lots) { return lots === null || lots === undefined ? "–" : (lots / 100).toString(); }
  function price(ticks) { return "$" + (ticks / 10000).toFixed(4); }
  function us(p) { return p ? `${fmtUs(p.p50)} / ${fmtUs(p.p99)}` : "–"; }
  function fmtUs(v) { return v >= 1000 ? (v / 1000).toFixed(2) + " ms" : v.toFixed(1) + " µs"; }
  function clock(ms) { return new Date(ms).toLocaleTimeString("en-GB", { hour12: false }); }
  function signClass(v) { return v > 0 ? "pos" : v < 0 ? "neg" : ""; }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }
  function rows(tableId, list) { $(tableId).querySelector("tbody").replaceChildren(...list); }
  function text(id, value) {   // only touch the DOM when the text changes (no re-layout otherwise)
    const node = $(id);
    if (node.textContent !== value) node.textContent = value;
  }
  function pill(id, value, cls) {
    text(id, value);
    if ($(id).className !== "pill " + cls) $(id).className = "pill " + cls;
  }
  function notice(text, error) { const n = $("notice"); n.textContent = text || ""; n.className = error ? "error" : ""; }

  // ---- rendering ------------------------------------------------------------------------------
  function render(s) {
    last = s;
    const trading = s.mode === "trading";
    pill("mode", trading ? "trading" : "detection only", "ok");
    pill("halt-state", s.halted ? "HALTED" : "running", s.halted ? "bad" : "ok");
    if ($("halt-state").title !== (s.halt_reason || "")) $("halt-state").title = s.halt_reason || "";
    pill("safe-state", s.safe_mode ? "SAFE MODE" : "no safe mode", s.safe_mode ? "bad" : "ok");
    if ($("safe-state").title !== (s.safe_mode_reason || "")) $("safe-state").title = s.safe_mode_reason || "";
    const br = s.risk && s.risk.breaker;
    pill("breaker-state", br ? "breaker " + br.state : "breaker –", !br ? "off" : br.state === "closed" ? "ok" : "warn");
    $("btn-halt").disabled = !trading || s.halted;
    $("btn-resume").disabled = !trading || !s.halted;
    $("btn-ack").disabled = !trading || !s.safe_mode;

    text("kpi-locked", usd(s.locked_in_micros));
    text("kpi-realised", usd(s.realised_micros));
    text("kpi-fees", usd(s.fees_micros));
    const run = s.executions.run || {};
    const done = Object.values(run).reduce((a, b) => a + b, 0);
    text("kpi-executions", `${done} (${run.complete || 0} complete)`);
    text("kpi-updates", (s.session.book_updates || 0).toLocaleString("en-US"));
    text("kpi-detect", us(s.session.detect_us));

    if (changed("pnl", s.pnl)) drawChart(s.pnl);
    if (changed("lanes", s.lanes)) rows("lanes", Object.entries(s.lanes).map(([lane, v]) =>
      el("tr", {}, el("td", {}, lane), el("td", { class: "n" }, v.found), el("td", { class: "n" }, v.current),
        el("td", {}, v.disabled ? laneBack(lane, v.disabled) : el("span", { class: "muted" }, "trading")))));
    if (changed("opps", s.opportunities)) renderOpportunities(s);
    if (changed("risk", [s.risk, s.safe_mode_reason])) renderRisk(s);
    if (changed("executions", s.executions.recent)) renderExecutions(s);
    if (changed("venues", s.venues)) renderVenues(s);
    if (changed("positions", s.positions)) renderPositions(s);
    renderTunables(s);
    if (changed("audit", s.audit)) rows("audit", s.audit.length ? s.audit.map((e) => el("tr", {}, el("td", {}, clock(e.ts_ms)),
      el("td", {}, e.kind), el("td", { class: "legs" }, auditText(e))))
      : [el("tr", {}, el("td", { class: "muted" }, "no operator events yet"))]);
    if (changed("config", s.config)) $("config").textContent = JSON.stringify(s.config, null, 1);
  }

  function renderOpportunities(s) {
    rows("opps", s.opportunities.map((o) => el("tr", {},
      el("td", {}, o.id), el("td", {}, o.lane), el("td", {}, o.kind), el("td", { class: "n" }, contracts(o.qty_lots)),
      el("td", { class: "n " + signClass(o.profit_micros) }, usd(o.profit_micros)),
      el("td", { class: "legs" }, o.legs.map((l) => `${l.side} ${short(l.market)} ≤ ${price(l.worst_price)}`).join(" · ")))));
    if (!s.opportunities.length) rows("opps", [el("tr", {}, el("td", { colspan: 6, class: "muted" }, "none right now"))]);
  }

  function renderVenues(s) {
    rows("venues", Object.entries(s.venues).map(([name, v]) => el("tr", {},
      el("td", {}, name), el("td", { class: "n" }, v.markets),
      el("td", { class: "n " + (v.healthy < v.markets ? "neg" : "") }, v.healthy),
      el("td", { class: "legs" }, Object.entries(v.held || {}).map(([why, n]) => `${why} ${n}`).join(", ") || "–"),
      el("td", { class: "n" }, usd(v.cash_micros)), el("td", { class: "n" }, v.positions),
      el("td", { class: "n" }, us(v.order_latency_us)))));
  }

  function renderPositions(s) {
    const pos = Object.entries(s.positions);
    rows("positions", pos.length ? pos.map(([m, p]) => el("tr", {}, el("td", {}, mkt(m)),
      el("td", { class: "n" }, (p.net_lots > 0 ? "YES " : "NO ") + contracts(Math.abs(p.net_lots))
        + (p.resolved ? ` (resolved ${p.resolved}, not paid out)` : "")),
      el("td", { class: "n" }, usd(p.cost_micros)))) : [el("tr", {}, el("td", { colspan: 3, class: "muted" }, "flat"))]);
  }

  function auditText(e) {
    const d = e.data || {};
    if (e.kind === "config_changed") return `${d.key}: ${d.old} → ${d.new} (${d.who})`;
    if (e.kind === "market_resolved") return `${d.market}: ${d.result} (${d.source}${d.paid ? ", paid out" : ""})`;
    if (e.kind === "drift_alert") return `lane ${d.lane}: realised ${usd(d.realised_micros)} vs expected `
      + `${usd(d.expected_micros)} over ${d.executions} executions${d.disabled ? ", lane taken out" : ""}`;
    if (e.kind === "lane_enabled" || e.kind === "drift_lane_enabled") return `lane ${d.lane} put back (${d.who})`;
    if (e.kind === "fee_holds_released") return `fee holds released on ${(d.markets || []).join(", ")} (${d.who})`;
    return [d.who, d.reason].filter(Boolean).join(": ");
  }

  function renderRisk(s) {
    const r = s.risk;
    if (!r) { rows("risk", [el("tr", {}, el("td", { class: "muted" }, "detection only: no trading"))]); return; }
    const lim = r.exposure_limits_micros || {};
    const skipped = Object.entries(r.skipped || {}).sort((a, b) => b[1] - a[1]).slice(0, 5)
      .map(([k, v]) => `${k} ${v}`).join(", ");
    const items = [
      ["kill switch", r.kill_switch || "off"], ["safe mode", s.safe_mode_reason || "off"],
      ["breaker", r.breaker ? `${r.breaker.state} (${r.breaker.failures}/${r.breaker.threshold} failures)` : "–"],
      ["daily loss", `${usd(r.daily_loss_micros)} of ${usd(r.daily_loss_cap_micros)}`],
      ["exposure limits", `venue ${usd(lim.venue)} · event ${usd(lim.event)} · market ${usd(lim.market)}`],
      ["decision → first order", us(r.first_order_us)], ["offered", r.offered], ["skipped", skipped || "–"]];
    rows("risk", items.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))));
  }

  function renderExecutions(s) {
    const list = s.executions.recent;
    if (!list.length) { rows("executions", [el("tr", {}, el("td", { colspan: 9, class: "muted" }, "no executions yet"))]); return; }
    if (!selected || !list.some((x) => x.id === selected)) select(list[0].id);
    rows("executions", list.map((x) => {
      const pnl = x.locked_in_micros !== null ? x.locked_in_micros : x.realised_micros !== null ? x.realised_micros : x.cash_flow_micros;
      const tr = el("tr", { class: x.id === selected ? "sel" : "", "data-id": x.id, onclick: () => select(x.id) },
        el("td", {}, x.id), el("td", {}, clock(x.created_ms)), el("td", {}, x.lane),
        el("td", { class: "state-" + x.state, title: x.reason || "" }, x.state),
        el("td", { class: "n" }, contracts(x.qty_lots)), el("td", { class: "n" }, usd(x.planned_profit_micros)),
        el("td", { class: "n " + signClass(pnl) }, usd(pnl)), el("td", { class: "n" }, usd(x.fees_micros)),
        el("td", { class: "legs" }, x.legs.map((l) => `${l.side} ${short(l.market)}`).join(" · ")));
      return tr;
    }));
    const cur = list.find((x) => x.id === selected);
    if (cur && cur.state !== selectedState) loadDetail(selected);
  }

  function select(id) {
    selected = id;
    selectedState = null;
    document.querySelectorAll("#executions tbody tr").forEach((tr) => tr.classList.toggle("sel", tr.dataset.id === id));
    loadDetail(id);
  }

  async function loadDetail(id) {
    const x = last && last.executions.recent.find((e) => e.id === id);
    selectedState = x ? x.state : null;
    try {
      const r = await fetch("/api/executions/" + encodeURIComponent(id), { headers: { Accept: "application/json" } });
      if (!r.ok) return;
      const d = await r.json();
      if (id !== selected) return;
      $("detail-id").textContent = id;
      const orders = el("table", {}, el("thead", {}, el("tr", {}, ...["leg", "role", "market", "order", "state", "filled", "cost", "fee"]
        .map((h) => el("th", {}, h)))), el("tbody", {}, ...d.orders.map((o) => el("tr", {},
        el("td", {}, o.leg), el("td", {}, o.role + (o.attempt ? " #" + o.attempt : "")), el("td", {}, mkt(o.market)),
        el("td", {}, `${o.action} ${o.side} ${contracts(o.qty_lots)} @ ${price(o.price)}`),
        el("td", { title: o.error || "" }, o.state), el("td", { class: "n" }, contracts(o.filled_lots)),
        el("td", { class: "n" }, usd(o.cost_micros)), el("td", { class: "n" }, usd(o.fee_micros))))));
      const parts = [el("h3", {}, "Legs and orders"), orders];
      if (d.sizing) {
        parts.push(el("h3", {}, `Sizing: ${d.sizing.engine_qty} → ${d.sizing.final_qty} contracts, bound by ${d.sizing.bound_by}, profit $${d.sizing.profit}`));
        parts.push(el("table", { id: "sizing" }, el("thead", {}, el("tr", {}, el("th", {}, "step"), el("th", { class: "n" }, "qty"),
          el("th", { class: "n" }, "cap"), el("th", {}, "note"))), el("tbody", {}, ...d.sizing.steps.map((st) => el("tr", {},
          el("td", {}, st.step), el("td", { class: "n" }, st.qty), el("td", { class: "n" }, st.cap || ""),
          el("td", { class: "legs" }, st.note))))));
      } else {
        parts.push(el("p", { class: "muted" }, "No sizing record stored for this execution."));
      }
      $("detail").replaceChildren(...parts);
    } catch (err) { /* the next state retries */ }
  }

  function renderTunables(s) {
    const keys = Object.keys(s.tunables).join(",") + "|" + s.mode;
    const form = $("tunables");
    if (keys !== tunablesBuilt) {
      tunablesBuilt = keys;
      form.replaceChildren(...Object.entries(s.tunables).flatMap(([key, t]) => {
        const input = el("input", { name: key, id: "tune-" + key, inputmode: "decimal", autocomplete: "off" });
        const button = el("button", { type: "button", "data-key": key, onclick: () => setTunable(key, input) }, "Apply");
        if (s.mode !== "trading") { input.disabled = true; button.disabled = true; }
        return [el("label", { for: "tune-" + key }, key, el("small", {}, t.help)), input, button];
      }));
    }
    for (const [key, t] of Object.entries(s.tunables)) {
      const input = form.elements[key];
      if (input && document.activeElement !== input && !input.dataset.dirty) input.value = String(t.value);
    }
  }

  // ---- controls -------------------------------------------------------------------------------
  async function post(path, body) {
    const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
                                  body: JSON.stringify(body || {}) });
    let data = {};
    try { data = await r.json(); } catch (err) { data = { error: r.statusText }; }
    if (!r.ok) throw new Error(data.error || r.statusText);
    if (data.confirmed === false) throw new Error(data.message);   // 202: sent, not confirmed in time
    return data;
  }
  async function control(path, body, done) {
    try { const d = await post(path, body); notice(done(d), false); } catch (err) { notice(err.message, true); }
  }
  function laneBack(lane, why) {       // a lane the drift monitor took out: why, and a button to put it back
    const button = el("button", { type: "button", "data-lane": lane }, "put back");
    button.addEventListener("click", () => control("/api/lane", { lane }, (d) => `lane ${d.lane} trading again`));
    return el("span", {}, el("span", { class: "neg" }, "out (drift): " + why + " "), button);
  }
  async function setTunable(key, input) {
    const raw = input.value.trim();
    const value = raw !== "" && !isNaN(Number(raw)) ? Number(raw) : raw;
    delete input.dataset.dirty;
    await control("/api/config", { key, value }, (d) => `${d.key}: ${d.old} → ${d.new}`);
  }
  $("btn-halt").addEventListener("click", () => control("/api/halt", { reason: "operator halt (dashboard)" },
    (d) => "halted: " + d.halted));
  $("btn-resume").addEventListener("click", () => control("/api/resume", {}, () => "resumed"));
  $("btn-ack").addEventListener("click", () => control("/api/ack", {}, (d) => `safe mode acknowledged (${d.was || "was off"})`));
  $("tunables").addEventListener("input", (e) => { if (e.target.name) e.target.dataset.dirty = "1"; });
  $("tunables").addEventListener("submit", (e) => e.preventDefault());

  // ---- the PnL chart (SVG, no library) ----------------------------------------------------------
  const SERIES = [["locked_in_micros", "#3fb950"], ["realised_micros", "#f85149"], ["fees_micros", "#d29922"]];
  function drawChart(p) {
    const box = $("chart");
    const W = box.clientWidth || 800, H = box.clientHeight || 220, L = 70, R = 10, T = 10, B = 22;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const add = (tag, attrs, text) => {
      const n = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
      if (text !== undefined) n.textContent = text;
      svg.appendChild(n); return n;
    };
    const t = p.t;
    if (!t.length) { box.replaceChildren(svg); return; }
    let lo = 0, hi = 0;
    for (const [key] of SERIES) for (const v of p[key]) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (hi - lo < 10000) { hi += 5000; lo -= 5000; }             // at least a cent of range
    const t0 = t[0], t1 = Math.max(t[t.length - 1], t0 + 1);
    const x = (v) => L + (W - L - R) * (v - t0) / (t1 - t0);
    const y = (v) => T + (H - T - B) * (hi - v) / (hi - lo);
    for (let i = 0; i <= 4; i++) {
      const v = lo + (hi - lo) * i / 4;
      add("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" });
      add("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, usd(v));
    }
    add("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: "#8796a5", "stroke-width": 1 });
    for (let i = 0; i <= 3; i++) {
      const v = t0 + (t1 - t0) * i / 3;
      add("text", { x: x(v), y: H - 6, "text-anchor": i === 0 ? "start" : i === 3 ? "end" : "middle" }, clock(v * 1000));
    }
    for (const [key, color] of SERIES) {
      const pts = t.map((tv, i) => `${x(tv).toFixed(1)},${y(p[key][i]).toFixed(1)}`);
      if (pts.length === 1) pts.push(`${(W - R).toFixed(1)},${y(p[key][0]).toFixed(1)}`);
      add("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 2, "data-series": key });
    }
    box.replaceChildren(svg);
  }

  // ---- the stream -------------------------------------------------------------------------------
  function connect() {
    const source = new EventSource("/api/stream");
    source.addEventListener("state", (e) => {
      pill("conn", "live", "ok");
      try { render(JSON.parse(e.data)); } catch (err) { notice("render failed: " + err.message, true); }
    });
    source.addEventListener("error", () => {
      pill("conn", source.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting", "warn");
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    });
  }
  window.addEventListener("resize", () => { if (last) drawChart(last.pnl); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden && last) drawChart(last.pnl); });
  connect();
})();
