// pages.cpp — see pages.h.
#include "console/pages.h"

#include "common/html_escape.h"

namespace sessionctl::page {

std::string escape(std::string_view text) {
  return sessionkit_apps::html_escape(text);
}

std::string post_form(std::string_view action, const std::string& csrf,
                      const std::vector<std::pair<std::string, std::string>>& fields,
                      std::string_view button, std::string_view css_class) {
  std::string html = "<form method=\"post\" action=\"" + escape(action) + "\">";
  html += "<input type=\"hidden\" name=\"_csrf\" value=\"" + escape(csrf) + "\">";
  for (const auto& [name, value] : fields) {
    html += "<input type=\"hidden\" name=\"" + escape(name) + "\" value=\"" + escape(value) + "\">";
  }
  html += "<button";
  if (!css_class.empty()) html += " class=\"" + escape(css_class) + "\"";
  return html + ">" + escape(button) + "</button></form>";
}

std::string layout(std::string_view title, const std::string& body, bool signed_in,
                   const std::string& csrf) {
  std::string html =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      escape(title) +
      " · sessionctl console</title><link rel=\"stylesheet\" href=\"/static/console.css\">"
      "<link rel=\"icon\" href=\"/static/icon.svg\" type=\"image/svg+xml\">"
      "<script src=\"/static/console.js\" defer></script></head><body><header><strong>sessionctl "
      "console</strong>";
  if (signed_in) {
    html +=
        "<nav><a href=\"/\">Overview</a><a href=\"/search\">Search</a><a "
        "href=\"/events\">Events</a></nav>" +
        post_form("/logout", csrf, {}, "Sign out", "link");
  }
  return html + "</header><main><h1>" + escape(title) + "</h1>" + body + "</main></body></html>";
}

std::string table(const std::vector<std::string>& head,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string html = "<table><thead><tr>";
  for (const std::string& h : head)
    html += "<th>" + escape(h) + "</th>";
  html += "</tr></thead><tbody>";
  for (const auto& row : rows) {
    html += "<tr>";
    for (const std::string& cell : row)
      html += "<td>" + cell + "</td>";
    html += "</tr>";
  }
  return html + "</tbody></table>";
}

std::string_view stylesheet() {
  return R"css(body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;gap:1.5em;align-items:center;padding:.6em 1.2em;background:#1d2330;color:#fff}
header nav{display:flex;gap:1em;flex:1}header a{color:#cfe0ff;text-decoration:none}
header form{margin:0}main{padding:1em 1.6em;max-width:70em}
table{border-collapse:collapse;background:#fff;margin:.6em 0}
th,td{border:1px solid #d9dde4;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#eef0f4}code{font-size:90%}.error{color:#a11}.note{color:#555}
button{font:inherit;padding:.25em .8em;cursor:pointer}button.danger{background:#b3261e;color:#fff;border:0}
button.link{background:none;border:0;color:#cfe0ff;padding:0}
form.inline{display:inline}input{font:inherit;padding:.25em}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(13em,1fr));gap:.6em}
.figure{background:#fff;border:1px solid #d9dde4;padding:.6em}.figure b{display:block;font-size:150%}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(22em,1fr));gap:.8em}
.chart{background:#fff;border:1px solid #d9dde4;margin:0;padding:.5em}
.chart figcaption{font-weight:600;margin-bottom:.3em}.chart svg{width:100%;height:9em;display:block}
.chart .legend{font-size:85%;color:#555;display:flex;gap:1em;flex-wrap:wrap}
.chart .axis{stroke:#d9dde4;stroke-width:1}.chart text{font-size:10px;fill:#555}
.chart polyline{fill:none;stroke-width:2}.s0{stroke:#2b6cb0;color:#2b6cb0}
.s1{stroke:#b3261e;color:#b3261e}.s2{stroke:#7a5c00;color:#7a5c00}
.up{color:#1b7a2b}.down{color:#a11}
)css";
}

std::string_view icon() {
  return R"svg(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d2330"/><path d="M4 11h8M4 8h5M4 5h8" stroke="#cfe0ff" stroke-width="1.6"/></svg>)svg";
}

std::string_view script() {
  return R"js(// console.js: the overview's live charts (SVG), from /api/series every interval.
'use strict';
(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const CHARTS = {
    active: [['active', 'active sessions']],
    lifecycle: [['created_per_min', 'created'], ['destroyed_per_min', 'destroyed'], ['expired_per_min', 'expired']],
    anomalies: [['anomalies_per_min', 'anomalies'], ['store_errors_per_min', 'store errors']],
    latency: [['store_ms_mean', 'mean'], ['store_ms_p99', 'p99']],
    requests: [['requests_per_s', 'requests/s']],
  };
  const W = 400, H = 130, PAD = 28;

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined) return '–';
    if (v >= 100 || Number.isInteger(v)) return String(Math.round(v));
    return v.toFixed(v >= 10 ? 1 : 2);
  }

  function draw(figure, series, points) {
    let svg = figure.querySelector('svg');
    if (svg) svg.remove();
    let legend = figure.querySelector('.legend');
    if (legend) legend.remove();
    svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' }, figure);
    let max = 0;
    for (const p of points) for (const [key] of series) if (p[key] !== null && p[key] > max) max = p[key];
    const top = max > 0 ? max * 1.1 : 1;
    el('line', { class: 'axis', x1: PAD, y1: H - 14, x2: W, y2: H - 14 }, svg);
    el('line', { class: 'axis', x1: PAD, y1: 4, x2: PAD, y2: H - 14 }, svg);
    el('text', { x: 2, y: 12 }, svg).textContent = fmt(top);
    el('text', { x: 2, y: H - 16 }, svg).textContent = '0';
    if (points.length > 1) {
      const t0 = points[0].t_ms, t1 = points[points.length - 1].t_ms;
      el('text', { x: PAD, y: H - 2 }, svg).textContent = `${Math.round((t1 - t0) / 1000)} s`;
      el('text', { x: W - 24, y: H - 2 }, svg).textContent = 'now';
    }
    legend = document.createElement('div');
    legend.className = 'legend';
    series.forEach(([key, label], i) => {
      const xs = [];
      const span = Math.max(1, points.length - 1);
      points.forEach((p, j) => {
        if (p[key] === null || p[key] === undefined) return;
        const x = PAD + ((W - PAD) * j) / span;
        const y = H - 14 - ((H - 18) * p[key]) / top;
        xs.push(`${x.toFixed(1)},${y.toFixed(1)}`);
      });
      el('polyline', { class: `s${i}`, points: xs.join(' '), 'data-series': key }, svg);
      const last = points.length ? points[points.length - 1][key] : null;
      const item = document.createElement('span');
      item.className = `s${i}`;
      item.dataset.series = key;
      item.dataset.last = last === null || last === undefined ? '' : String(last);
      item.textContent = `■ ${label}: ${fmt(last)}`;
      legend.appendChild(item);
    });
    figure.appendChild(legend);
    figure.dataset.points = String(points.length);
  }

  function showTargets(targets) {
    const body = document.querySelector('#targets tbody');
    if (!body) return;
    body.replaceChildren();
    for (const t of targets) {
      const tr = document.createElement('tr');
      const cells = [t.url, t.up ? 'up' : `down: ${t.error}`, t.events_error || 'ok'];
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        td.textContent = text;
        if (i === 1) td.className = t.up ? 'up' : 'down';
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
  }

  async function poll(box, status) {
    try {
      const res = await fetch('/api/series', { credentials: 'same-origin', cache: 'no-store' });
      if (res.status === 401) {
        status.textContent = 'Signed out: reload to sign in again.';
        return false;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      for (const [id, series] of Object.entries(CHARTS)) {
        const figure = document.getElementById(`chart-${id}`);
        if (figure) draw(figure, series, data.points);
      }
      showTargets(data.targets);
      const up = data.targets.filter((t) => t.up).length;
      status.textContent = `${up} of ${data.targets.length} instance(s) answering; ` +
        `updated ${new Date().toLocaleTimeString()}, every ${data.interval_ms / 1000} s.`;
      box.dataset.updates = String(Number(box.dataset.updates || 0) + 1);
    } catch (e) {
      status.textContent = `The console did not answer (${e.message}); retrying.`;
    }
    return true;
  }

  document.addEventListener('DOMContentLoaded', () => {
    const box = document.getElementById('charts');
    const status = document.getElementById('live-status');
    if (!box || !status) return;
    const every = Math.max(500, Number(box.dataset.intervalMs) || 2000);
    const tick = async () => {
      if (await poll(box, status)) setTimeout(tick, every);
    };
    tick();
  });
})();
)js";
}

}  // namespace sessionctl::page
