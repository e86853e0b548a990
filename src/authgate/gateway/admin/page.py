"""HTML of the admin dashboard and its login form (no external assets, no framework).

The script renders only through ``textContent``/``createElement`` (never ``innerHTML`` with
data), so a hostile path or message in a denial cannot inject markup. It polls every 2 s and
shows "stale" when a poll fails, so an operator never reads old numbers as current.
"""

from __future__ import annotations

__all__ = ["LOGIN_PAGE", "PAGE"]

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:center}
header h1{font-size:17px;margin:0;flex:1}
main{padding:16px 20px;display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(420px,1fr))}
section{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px #0002}
h2{font-size:14px;margin:0 0 8px;text-transform:uppercase;letter-spacing:.04em;color:#556}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eee;vertical-align:top}
.pill{display:inline-block;border-radius:999px;padding:4px 12px;margin:0 6px 6px 0;font-weight:600}
.ok{background:#d9f5e1;color:#0d6b2e}.bad{background:#fde0de;color:#a3160b}
.warn{background:#fff1cc;color:#7a5200}.unknown{background:#e6e8ec;color:#445}
.err{color:#a3160b;font-weight:600}code{font-size:12px}
"""

PAGE = (
    """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>authgate — gateway dashboard</title><style>"""
    + _STYLE
    + """</style></head><body>
<header><h1>authgate gateway</h1><span id="viewer">{viewer}</span>
<span id="freshness">loading…</span>
<form method="post" action="/__authgate/logout"><button>Log out</button></form></header>
<main>
<section><h2>Status</h2><div id="pills"></div></section>
<section><h2>Requests</h2><div id="counters"></div><table id="routes"></table></section>
<section><h2>Recent denials</h2><table id="denials"></table></section>
<section><h2>Service tokens</h2><table id="tokens"></table></section>
<section><h2>Policy</h2><div id="policy-source"></div><table id="policy"></table></section>
<section id="aaa-section"><h2>AAA backends</h2><table id="aaa"></table></section>
</main>
<script nonce="{nonce}">
function table(id, cols, rows) {
  const t = document.getElementById(id); t.replaceChildren();
  const head = t.insertRow(); cols.forEach(c => { const th = document.createElement("th");
    th.textContent = c; head.appendChild(th); });
  rows.forEach(r => { const tr = t.insertRow(); tr.className = "row";
    cols.forEach(c => { tr.insertCell().textContent = r[c] ?? ""; }); });
}
async function poll() {
  try {
    const r = await fetch("/__authgate/status.json", {credentials: "same-origin"});
    if (r.status === 401) { location.href = "/__authgate/login"; return; }
    const s = await r.json();
    const pills = document.getElementById("pills"); pills.replaceChildren();
    s.pills.forEach((p, i) => { const e = document.createElement("span");
      e.className = "pill " + p.state; e.id = "pill-" + i; e.dataset.state = p.state;
      e.textContent = p.label; e.title = p.detail; pills.appendChild(e); });
    document.getElementById("counters").textContent = "total " + s.counters.total + " — " +
      Object.entries(s.counters.by_decision).map(([k, v]) => k + " " + v).join(", ");
    table("routes", ["route", "decision", "count"], s.counters.routes);
    table("denials", ["status", "code", "method", "path", "route", "token", "client_ip"],
      s.denials);
    table("tokens", ["id", "description", "scopes", "status", "last_used_at"],
      Array.isArray(s.tokens) ? s.tokens : [{id: s.tokens}]);
    document.getElementById("policy-source").textContent = "source: " + s.policy.source;
    table("policy", ["name", "methods", "host", "path", "needs"], s.policy.rules);
    document.getElementById("aaa-section").hidden = s.aaa.length === 0;
    table("aaa", ["circuit", "retries_429_total", "requests_total", "rejects_total"], s.aaa);
    document.getElementById("freshness").textContent = "live";
  } catch (e) {
    document.getElementById("freshness").textContent = "stale (" + e + ")";
  }
}
poll(); setInterval(poll, 2000);
</script></body></html>"""
)

LOGIN_PAGE = (
    """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>authgate — dashboard login</title><style>"""
    + _STYLE
    + """</style></head><body><header><h1>authgate gateway</h1></header><main><section>
<h2>Log in with an admin token</h2>{message}
<form method="post" action="/__authgate/login">
<input type="password" name="token" id="token" size="60" autocomplete="off" required
 placeholder="token with admin:dashboard or an admin:tokens:* scope">
<button type="submit" id="login">Log in</button></form>
<p>The token is checked once; the browser keeps only an opaque session cookie.</p>
</section></main></body></html>"""
)
