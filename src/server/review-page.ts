// The reviewer web page, one self-contained HTML document (no build step, no external assets): the queue
// with texts, per-hook scores as a small bar chart, label buttons with keyboard shortcuts (a / b / u to
// label, j / k to move), and the probe's score once one is trained. It talks to the same /v1 API.
// Served with a Content-Security-Policy that allows exactly its one inline <style> and <script> (by their
// SHA-256), no other script, style, frame or form target; the token lives in sessionStorage (gone when the
// tab closes), never in localStorage.

import { createHash } from "node:crypto";

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;display:flex;height:100vh;color:#222}
#side{width:320px;border-right:1px solid #ddd;overflow:auto}
#main{flex:1;padding:16px;overflow:auto}
#side li{list-style:none;padding:6px 10px;border-bottom:1px solid #eee;cursor:pointer;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#side li.sel{background:#e8f0fe}
#side ul{margin:0;padding:0}
#depth{padding:6px 10px}
.bar{display:flex;align-items:center;gap:6px;margin:2px 0}
.bar .name{width:230px;font-family:monospace;font-size:12px}
.bar .fill{height:12px;background:#d9534f}
.bar .val{font-family:monospace;font-size:12px}
pre{white-space:pre-wrap;background:#f7f7f7;padding:10px;border-radius:4px}
button{margin-right:6px;padding:6px 12px}
#login{padding:10px;border-bottom:1px solid #ddd}
.muted{color:#777}
`;

const SCRIPT = `
"use strict";
// The token is kept for this tab only; a copy an older version of this page left in localStorage is removed.
try { localStorage.removeItem("madkit-token"); } catch (e) {}
let token = sessionStorage.getItem("madkit-token") || "";
let items = [];
let sel = 0;
const $ = (id) => document.getElementById(id);
$("token").value = token;
$("save").onclick = () => { token = $("token").value.trim(); sessionStorage.setItem("madkit-token", token); load(); };
async function api(path, opts) {
  const r = await fetch(path, Object.assign({}, opts, { headers: Object.assign({ "Authorization": "Bearer " + token, "Content-Type": "application/json" }, (opts || {}).headers) }));
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.error && body.error.message) || ("HTTP " + r.status));
  return body;
}
async function load() {
  try {
    const q = await api("/v1/queue?limit=200");
    items = q.items; sel = Math.min(sel, Math.max(0, items.length - 1));
    $("depth").textContent = q.depth + " waiting";
    render();
  } catch (e) { $("status").textContent = "Could not load the queue: " + e.message; }
}
function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }
function render() {
  $("list").innerHTML = items.map((it, i) => '<li data-i="' + i + '" class="' + (i === sel ? "sel" : "") + '">#' + it.id + " " + esc(it.text == null ? "(activations)" : it.text) + "</li>").join("");
  for (const li of $("list").children) li.onclick = () => { sel = Number(li.dataset.i); render(); };
  const it = items[sel];
  if (!it) { $("detail").innerHTML = '<p class="muted">The queue is empty.</p>'; return; }
  const per = (it.scores && it.scores.perHook) || {};
  const max = Math.max(1e-12, ...Object.values(per).map((v) => Math.abs(v)));
  // Bar widths are set through the DOM below: the policy allows no inline style attributes.
  const bars = Object.entries(per).map(([h, v]) => '<div class="bar"><span class="name">' + esc(h) + '</span><span class="fill" data-w="' + Math.round(200 * Math.abs(v) / max) + '"></span><span class="val">' + Number(v).toPrecision(4) + "</span></div>").join("");
  const probe = it.scores && it.scores.probe ? '<p id="probe">Probe P(anomalous) at scoring time: <b>' + it.scores.probe.score.toFixed(3) + "</b></p>" : "";
  $("detail").innerHTML = '<h2 id="item-title">Item #' + it.id + '</h2><pre id="item-text">' + esc(it.text == null ? "(submitted as activations)" : it.text) + "</pre>" +
    "<p>combined score <b>" + Number(it.combined).toPrecision(4) + "</b>, p-value <b>" + Number(it.pValue).toPrecision(3) + "</b></p>" + probe +
    '<div id="bars">' + bars + "</div><p>" +
    '<button data-label="anomalous">Anomalous (a)</button><button data-label="benign">Benign (b)</button><button data-label="unsure">Unsure (u)</button></p>' +
    '<textarea id="note" rows="2" cols="60" placeholder="note (optional)"></textarea>';
  for (const f of $("detail").querySelectorAll(".fill[data-w]")) f.style.width = Number(f.dataset.w) + "px";
  for (const b of $("detail").querySelectorAll("button[data-label]")) b.onclick = () => label(b.dataset.label);
}
async function label(l) {
  const it = items[sel];
  if (!it) return;
  const note = ($("note") && $("note").value) || null;
  try {
    await api("/v1/items/" + it.id + "/label", { method: "POST", body: JSON.stringify({ label: l, note }) });
    $("status").textContent = "Labelled #" + it.id + " " + l;
    items.splice(sel, 1);
    sel = Math.min(sel, Math.max(0, items.length - 1));
    render();
    $("depth").textContent = items.length + " waiting";
  } catch (e) { $("status").textContent = "Label failed: " + e.message; }
}
document.addEventListener("keydown", (e) => {
  if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA")) return;
  if (e.key === "a") label("anomalous");
  else if (e.key === "b") label("benign");
  else if (e.key === "u") label("unsure");
  else if (e.key === "j") { sel = Math.min(sel + 1, items.length - 1); render(); }
  else if (e.key === "k") { sel = Math.max(sel - 1, 0); render(); }
});
if (token) load();
`;

const sha256 = (s: string) => `'sha256-${createHash("sha256").update(s, "utf8").digest("base64")}'`;

/** The page's Content-Security-Policy: its own inline style and script by hash, fetches to this origin only, never framed. */
export const REVIEW_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers the page is served with (beside the nosniff / referrer / frame headers every response gets). */
export const REVIEW_PAGE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": REVIEW_PAGE_CSP,
  "Cache-Control": "no-store",
};

export function reviewPageHtml(): string {
  return PAGE;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>madkit review queue</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body>
<div id="side">
  <div id="login"><input id="token" type="password" placeholder="reviewer token" size="24" autocomplete="off"> <button id="save">use</button>
  <div class="muted">Keys: a anomalous · b benign · u unsure · j/k next/previous</div></div>
  <div id="depth" class="muted"></div>
  <ul id="list"></ul>
</div>
<div id="main"><div id="detail" class="muted">Enter a reviewer token to load the queue.</div><div id="status" role="status" class="muted"></div></div>
<script>${SCRIPT}</script></body></html>`;
