// The fleet page: static HTML, a style sheet and a small script that polls /fleet.json and draws it. The HTML holds
// no data; the script builds every element with textContent, so deployment and machine names, reasons and messages
// (untrusted text from network files and hosts) are never parsed as markup. The CSP forbids inline code anyway.

export const FLEET_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const FLEET_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reconix fleet</title>
<link rel="stylesheet" href="/fleet.css">
<script src="/fleet.js" defer></script>
</head>
<body>
<header><h1>Reconix fleet</h1><span id="updated">loading…</span></header>
<main id="fleet"></main>
</body>
</html>
`;

export const FLEET_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2430; }
header { display: flex; align-items: baseline; gap: 1em; padding: 12px 20px; background: #1d2430; color: #fff; }
header h1 { font-size: 18px; margin: 0; }
#updated { color: #b9c2d0; font-size: 12px; }
#updated.stale { color: #ffb4a8; }
main { padding: 16px 20px; display: grid; gap: 16px; }
section.deployment { background: #fff; border: 1px solid #d8dde5; border-radius: 6px; padding: 12px 16px; }
section.deployment h2 { font-size: 16px; margin: 0 0 4px; display: flex; gap: .6em; align-items: center; }
.meta { color: #5a6577; font-size: 12px; display: flex; flex-wrap: wrap; gap: 1.2em; }
.reason { margin: 6px 0; white-space: pre-wrap; word-break: break-word; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { text-align: left; padding: 4px 8px; border-top: 1px solid #eceff3; vertical-align: top; }
th { font-size: 12px; color: #5a6577; font-weight: 600; }
td.message { white-space: pre-wrap; word-break: break-word; max-width: 50em; }
td.system { font-family: ui-monospace, monospace; font-size: 12px; color: #5a6577; }
.state { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.state-ready { background: #d8f3dc; color: #1b5e20; }
.state-drifted { background: #fff3c4; color: #7a5a00; }
.state-failed { background: #ffd9d3; color: #9b1c0c; }
.state-reconciling, .state-rolling-out { background: #d6e6ff; color: #0b3d91; }
.state-pending, .state-obsolete { background: #eceff3; color: #5a6577; }
progress { width: 8em; vertical-align: middle; }
`;

/** Runs in the browser: plain DOM, no framework. */
export const FLEET_JS = `'use strict';
(function () {
  var main = document.getElementById('fleet');
  var updated = document.getElementById('updated');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function badge(state) {
    var b = el('span', 'state state-' + String(state).replace(/[^a-z-]/g, ''), state);
    b.setAttribute('data-state', String(state));
    return b;
  }
  function when(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    var s = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
    return d.toLocaleTimeString() + ' (' + (s < 120 ? s + ' s' : Math.round(s / 60) + ' min') + ' ago)';
  }
  function bytes(n) {
    return n < 1048576 ? Math.round(n / 1024) + ' KiB' : (n / 1048576).toFixed(1) + ' MiB';
  }
  function progressOf(m) {
    var cell = el('td', 'progress');
    var pair = m.copied ? [m.copied.bytes, m.copied.total] : m.built ? [m.built.done, m.built.total] : null;
    var label = m.stage || '';
    if (pair && pair[1] > 0) {
      var p = el('progress');
      p.max = pair[1];
      p.value = Math.min(pair[0], pair[1]);
      cell.appendChild(p);
      label += m.copied ? ' ' + bytes(pair[0]) + ' of ' + bytes(pair[1]) : ' ' + pair[0] + ' of ' + pair[1];
    }
    if (m.wave) label += (label ? ', ' : '') + 'wave ' + m.wave;
    cell.appendChild(el('span', null, ' ' + label));
    return cell;
  }
  function machineRow(m) {
    var tr = el('tr', 'machine');
    tr.setAttribute('data-machine', m.name);
    tr.setAttribute('data-state', m.state);
    tr.appendChild(el('td', 'name', m.name));
    var st = el('td');
    st.appendChild(badge(m.state));
    tr.appendChild(st);
    tr.appendChild(progressOf(m));
    tr.appendChild(el('td', 'generation', m.generation === undefined ? '' : m.generation));
    tr.appendChild(el('td', 'system', m.system ? m.system.replace(/^\\/nix\\/store\\//, '') : ''));
    tr.appendChild(el('td', 'message', m.reason ? m.reason + (m.message ? ': ' + m.message : '') : ''));
    return tr;
  }
  function deploymentSection(d) {
    var s = el('section', 'deployment');
    s.setAttribute('data-deployment', d.name);
    s.setAttribute('data-state', d.state);
    var h = el('h2');
    h.appendChild(el('span', 'name', d.name));
    h.appendChild(badge(d.state));
    s.appendChild(h);
    var meta = el('div', 'meta');
    if (d.lastReconciledAt) meta.appendChild(el('span', null, 'last reconcile ' + when(d.lastReconciledAt)));
    if (d.reconcilingSince)
      meta.appendChild(el('span', null, 'reconciling since ' + when(d.reconcilingSince) + (d.stage ? ', ' + d.stage : '')));
    if (d.revision) meta.appendChild(el('span', 'revision', 'revision ' + d.revision));
    if (d.rollout)
      meta.appendChild(el('span', 'rollout', 'wave ' + d.rollout.wave + ' of ' + d.rollout.waves + ': ' + d.rollout.state));
    meta.appendChild(el('span', null, d.machines.length + (d.machines.length === 1 ? ' machine' : ' machines')));
    s.appendChild(meta);
    if (d.state !== 'ready' && d.reason)
      s.appendChild(el('div', 'reason', d.reason + (d.message ? ': ' + d.message : '')));
    var table = el('table');
    var head = el('tr');
    ['machine', 'state', 'progress', 'generation', 'system', 'reason'].forEach(function (t) {
      head.appendChild(el('th', null, t));
    });
    table.appendChild(head);
    d.machines.forEach(function (m) { table.appendChild(machineRow(m)); });
    s.appendChild(table);
    return s;
  }
  function draw(view) {
    var parts = view.deployments.map(deploymentSection);
    if (parts.length === 0) parts = [el('p', null, 'No deployment reconciled yet.')];
    main.replaceChildren.apply(main, parts);
    updated.className = '';
    updated.textContent = 'updated ' + new Date(view.generatedAt).toLocaleTimeString();
  }
  function poll() {
    fetch('/fleet.json', { cache: 'no-store' })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(draw)
      .catch(function (err) {
        updated.className = 'stale';
        updated.textContent = 'cannot reach the controller (' + err.message + '); retrying';
      })
      .then(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
`;
