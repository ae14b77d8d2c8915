// Floodgate's dashboard: renders the State the server streams on
// /ui/events, and views and edits policies through the admin API.
"use strict";

const $ = (id) => document.getElementById(id);
let state = null;
let prev = null; // the previous State, for rates
let editing = null; // {domain, version}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c ?? ""));
  return e;
}

function fill(id, rows, columns, empty) {
  const body = $(id);
  body.replaceChildren(...(rows.length ? rows : [el("tr", { class: "empty" }, el("td", { colspan: columns }, empty))]));
}

function rate(now, before, seconds) {
  if (before === undefined || seconds <= 0) return "–";
  return ((now - before) / seconds).toFixed(1);
}

function ago(t, now) {
  const s = Math.round((Date.parse(t) - now) / 1000);
  return s > 0 ? `in ${s}s` : s === 0 ? "now" : `${-s}s ago`;
}

function render(st) {
  const now = Date.parse(st.now);
  const seconds = prev ? (now - Date.parse(prev.now)) / 1000 : 0;
  $("title").textContent = st.title;
  $("version").textContent = st.version ? `policy version ${st.version}` : "";
  for (const s of ["domains", "nodes", "components", "throttles", "counts", "flows", "audit", "datacenters"]) {
    $("sec-" + s).hidden = !st.sections.includes(s);
  }

  const before = Object.fromEntries((prev?.counts || []).map((c) => [c.domain, c]));
  fill("counts", (st.counts || []).map((c) => {
    const b = before[c.domain] || {};
    return el("tr", { "data-domain": c.domain }, el("td", {}, c.domain),
      el("td", { class: "num" }, rate(c.requests, b.requests, seconds)),
      el("td", { class: "num" }, rate(c.over_limit, b.over_limit, seconds)),
      el("td", { class: "num" }, rate(c.near_limit, b.near_limit, seconds)));
  }), 4, "no requests yet");

  fill("throttles", (st.throttles || []).map((t) =>
    el("tr", { "data-key": t.key }, el("td", {}, t.domain), el("td", { class: "key" }, t.key),
      el("td", { class: "num" }, `${t.count} / ${t.limit}`), el("td", {}, ago(t.window_end, now)), el("td", {}, t.engine))),
  5, "no key is throttled");

  fill("domains", (st.domains || []).map((d) =>
    el("tr", { "data-domain": d.name }, el("td", {}, d.name), el("td", {}, d.version),
      el("td", {}, d.source + (d.overrides ? ` (overrides ${d.overrides})` : "")),
      el("td", {}, el("button", { class: "view", onclick: () => openPolicy(d.name) }, st.editable ? "view / edit" : "view")))),
  4, "no policy in force");

  const nodes = [];
  for (const n of st.nodes || []) {
    const types = n.types.length ? n.types : [{ type: "" }];
    for (const t of types) {
      const stateCell = t.nacked ? el("span", { class: "bad" }, "NACK") : t.failing ? el("span", { class: "bad" }, "failing")
        : t.acked_version ? el("span", { class: "good" }, "ACK") : "waiting";
      nodes.push(el("tr", { "data-node": n.id, "data-nacked": String(!!t.nacked) },
        el("td", {}, n.id + (n.cluster ? ` (${n.cluster})` : "")), el("td", { class: "num" }, n.streams),
        el("td", {}, (t.type || "").split("/").pop()), el("td", {}, t.sent_version), el("td", {}, t.acked_version),
        el("td", {}, stateCell),
        el("td", { class: "error" }, t.last_error ? `${t.last_error} (version ${t.last_error_version})` : "")));
    }
  }
  fill("nodes", nodes, 7, "no node connected");

  fill("components", (st.components || []).map((c) =>
    el("tr", { "data-kind": c.kind }, el("td", {}, c.kind), el("td", {}, c.name),
      el("td", { class: c.healthy ? "good" : "bad" }, c.healthy ? "healthy" : "unhealthy"), el("td", {}, c.detail))),
  4, "none known");

  const flowsBefore = Object.fromEntries((prev?.flows || []).map((f) => [f.name, f.value]));
  fill("flows", (st.flows || []).map((f) =>
    el("tr", { "data-flow": f.name }, el("td", {}, f.name), el("td", { class: "num" }, f.value), el("td", { class: "num" }, rate(f.value, flowsBefore[f.name], seconds)))),
  3, "no lease or token flow");

  fill("datacenters", (st.datacenters || []).map((d) =>
    el("tr", { "data-datacenter": d.name, "data-link": d.link },
      el("td", {}, d.name),
      el("td", { class: d.link === "up" ? "good" : "bad" }, d.link + (d.error ? `: ${d.error}` : "")),
      el("td", {}, ago(d.reported_at, now)),
      el("td", {}, (d.engines || []).map((e) => e.id + (e.up ? "" : " (cut off)")).join(", ")),
      el("td", { class: "key" }, (d.leases || []).map((l) =>
        `${l.key}: ${l.used} / ${l.held + l.extra} of ${l.limit}${l.fallback ? " (fallback)" : ""}`).join("; ")))),
  5, "no datacenter has reported");

  fill("audit", (st.audit || []).map((a) =>
    el("tr", { "data-domain": a.domain, "data-action": a.action }, el("td", {}, ago(a.time, now)), el("td", { class: "key" }, a.who),
      el("td", {}, a.action), el("td", {}, a.domain), el("td", {}, `${a.old_version} → ${a.new_version}`))),
  5, "no admin write yet");
  prev = st;
}

async function openPolicy(domain) {
  const resp = await fetch(`policy/${encodeURIComponent(domain)}`);
  const body = await resp.json();
  $("editor").hidden = false;
  $("policy-error").hidden = true;
  $("policy-ok").hidden = true;
  if (!resp.ok) {
    showError(body.error);
    return;
  }
  editing = { domain, version: body.version, api: body.admin_api };
  $("policy-domain").textContent = domain;
  $("policy-version").textContent = `version ${body.version}`;
  $("policy-yaml").value = body.yaml;
  $("policy-yaml").readOnly = !state.editable;
  $("policy-edit").hidden = !state.editable;
  $("admin-token").value = sessionStorage.getItem("floodgate-admin-token") || "";
}

function showError(msg) {
  $("policy-error").textContent = msg;
  $("policy-error").hidden = false;
}

async function savePolicy() {
  $("policy-error").hidden = true;
  $("policy-ok").hidden = true;
  const token = $("admin-token").value;
  sessionStorage.setItem("floodgate-admin-token", token);
  const headers = { "Content-Type": "application/yaml", "Authorization": "Bearer " + token };
  if (editing.version && editing.version !== '"0"') headers["If-Match"] = editing.version;
  const resp = await fetch(editing.api + encodeURIComponent(editing.domain), { method: "PUT", headers, body: $("policy-yaml").value });
  let body;
  try { body = await resp.json(); } catch { body = { error: `HTTP ${resp.status}` }; }
  if (!resp.ok) {
    // The admin API's error, word for word.
    showError(body.error || `HTTP ${resp.status}`);
    return;
  }
  editing.version = body.etag;
  $("policy-version").textContent = `version ${body.etag}`;
  $("policy-ok").textContent = `saved: policy version ${body.version}`;
  $("policy-ok").hidden = false;
}

function connect() {
  const live = $("live");
  const source = new EventSource("events");
  source.onmessage = (e) => {
    state = JSON.parse(e.data);
    live.textContent = "live";
    live.className = "pill live";
    render(state);
  };
  source.onerror = () => {
    live.textContent = "reconnecting";
    live.className = "pill";
  };
}

$("policy-save").addEventListener("click", savePolicy);
$("policy-close").addEventListener("click", () => { $("editor").hidden = true; });
connect();
