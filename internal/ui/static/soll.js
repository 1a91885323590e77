// soll's web UI script: live updates from the API's event stream, and
// action forms sent without leaving the page. The pages work without it.
// Everything from the server is written with textContent, never as HTML.
(function () {
  'use strict';

  function short(rev) {
    return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(rev) ? rev.slice(0, 8) : rev;
  }

  // time writes an RFC 3339 time as the server does: 2006-01-02 15:04:05Z.
  function time(s) {
    if (!s) { return ''; }
    var d = new Date(s);
    if (isNaN(d.getTime())) { return ''; }
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function sources(app) {
    var spec = app.spec || {};
    if (spec.sources && spec.sources.length) { return spec.sources; }
    return spec.source ? [spec.source] : [];
  }

  function initiator(by) {
    if (!by) { return ''; }
    return by.automated ? 'automated sync' : (by.username || '');
  }

  function duration(op) {
    if (!op.finishedAt) { return ''; }
    var secs = Math.round((new Date(op.finishedAt) - new Date(op.startedAt)) / 1000);
    var h = Math.floor(secs / 3600), m = Math.floor(secs % 3600 / 60), s = secs % 60;
    return (h ? h + 'h' : '') + (h || m ? m + 'm' : '') + s + 's';
  }

  // pinText describes a rollback's pin as the server does (internal/ui:
  // pinText).
  function pinText(pin) {
    if (!pin) { return 'Not pinned: the app follows its target revision.'; }
    var s = 'Pinned to ' + (pin.revisions || []).map(short).join(', ');
    if (pin.historyID !== undefined && pin.historyID !== null) { s += ' (history entry ' + pin.historyID + ')'; }
    if (pin.reason) { s += ': ' + pin.reason; }
    return s;
  }

  // fields is what the pages show of an app, as the server computes it
  // (internal/ui: rowOf and appPage).
  function fields(app) {
    var st = app.status || {};
    var sync = st.sync || {};
    var health = st.health || {};
    var op = st.operationState;
    var resolved = (sync.revisions && sync.revisions.length) ? sync.revisions : (sync.revision ? [sync.revision] : []);
    var hist = st.history || [];
    var phase = op ? op.phase : (app.operation ? 'Requested' : '');
    return {
      sync: sync.status || 'Unknown',
      health: health.status || 'Unknown',
      healthMessage: health.message || '',
      phase: phase,
      opMessage: op ? (op.message || '') : '',
      opStarted: op ? time(op.startedAt) : '',
      opBy: op ? initiator((op.operation || {}).initiatedBy) : '',
      opDuration: op ? duration(op) : '',
      target: sources(app).map(function (s) { return s.targetRevision || 'HEAD'; }).join(', '),
      resolved: resolved.map(short).join(', '),
      lastSync: hist.length ? time(hist[hist.length - 1].deployedAt) : '',
      pin: pinText((app.spec || {}).pin)
    };
  }

  function statusSpan(v) {
    var s = document.createElement('span');
    s.className = v ? 'st st-' + v : 'st st-none';
    s.textContent = v || 'none';
    return s;
  }

  function cell(tag, content) {
    var c = document.createElement(tag);
    if (typeof content === 'string') { c.textContent = content; } else if (content) { c.appendChild(content); }
    return c;
  }

  // apply writes f into the elements of root marked data-field.
  function apply(root, f) {
    root.querySelectorAll('[data-field]').forEach(function (el) {
      var k = el.getAttribute('data-field');
      if (!(k in f)) { return; }
      if (el.hasAttribute('data-status')) {
        var cur = el.firstElementChild;
        if (!cur || cur.textContent !== (f[k] || 'none')) { el.replaceChildren(statusSpan(f[k])); }
      } else if (el.textContent !== f[k]) {
        el.textContent = f[k];
      }
    });
  }

  // orEmpty returns rows, or one row of cols columns saying text.
  function orEmpty(rows, text, cols) {
    if (rows.length) { return rows; }
    var td = cell('td', text);
    td.colSpan = cols;
    return [cell('tr', td)];
  }

  function resourceRows(app) {
    var rows = ((app.status || {}).resources || []).map(function (r) {
      var tr = document.createElement('tr');
      var h = r.health || {};
      var healthCell = cell('td', statusSpan(h.status || ''));
      if (h.message) { healthCell.appendChild(document.createTextNode(' ' + h.message)); }
      var name = cell('th', r.name);
      name.setAttribute('scope', 'row');
      tr.append(cell('td', r.kind), cell('td', r.namespace || ''), name, cell('td', statusSpan(r.status || '')), healthCell);
      return tr;
    });
    return orEmpty(rows, 'No resources yet: the app has not been compared with Git, or its path renders nothing.', 5);
  }

  // rollbackForm copies the page's rollback form (token, and disabled
  // with the reason when the user may not) for history entry id.
  function rollbackForm(id) {
    var tpl = document.getElementById('rollback-template');
    if (!tpl) { return null; }
    var form = tpl.content.firstElementChild.cloneNode(true);
    form.querySelector('input[name="id"]').value = String(id);
    form.querySelector('[data-id]').textContent = String(id);
    return form;
  }

  // opResultRows are the results per resource of the current or last
  // operation (the sync page).
  function opResultRows(app) {
    var op = (app.status || {}).operationState || {};
    var rows = ((op.syncResult || {}).resources || []).map(function (r) {
      var name = cell('th', r.name);
      name.setAttribute('scope', 'row');
      var tr = document.createElement('tr');
      tr.append(cell('td', r.kind), cell('td', r.namespace || ''), name, cell('td', statusSpan(r.status || '')),
        cell('td', (r.syncPhase || '') + ' ' + (r.syncWave || 0)), cell('td', r.message || ''));
      return tr;
    });
    return orEmpty(rows, 'No results yet.', 6);
  }

  // commitText is what the history shows of an entry's commits (as the
  // server does: commitText in internal/ui).
  function commitText(commits) {
    return (commits || []).filter(function (c) { return c.message; }).map(function (c) {
      return c.message.split('\n')[0] + (c.author ? ' (' + c.author + ')' : '');
    }).join('; ');
  }

  function historyRows(app) {
    var hist = ((app.status || {}).history || []).slice().reverse();
    var rows = hist.map(function (h) {
      var tr = document.createElement('tr');
      var commit = cell('td', commitText(h.commits));
      commit.className = 'commit-message';
      tr.append(cell('td', String(h.id)), cell('td', cell('code', (h.revisions || []).map(short).join(', '))), commit,
        cell('td', time(h.deployedAt)), cell('td', initiator(h.initiatedBy)), cell('td', rollbackForm(h.id)));
      return tr;
    });
    return orEmpty(rows, 'Not deployed yet.', 6);
  }

  function conditionItems(app) {
    var items = ((app.status || {}).conditions || []).map(function (c) {
      var li = document.createElement('li');
      li.append(cell('strong', c.type), document.createTextNode(' (' + (c.reason || '') + '): ' + (c.message || '')));
      return li;
    });
    return items.length ? items : [cell('li', 'None.')];
  }

  function announce(text, bad) {
    var live = document.getElementById('live');
    if (!live) { return; }
    live.textContent = text;
    live.classList.toggle('bad', !!bad);
  }

  // The counts at the top of the list are the API's: read again (at
  // most every half second) when an app of the page changes, and every
  // 30 seconds for the apps the page does not show.
  var counts = document.querySelector('[data-counts-src]');
  var countsTimer = null;
  function refreshCounts() {
    countsTimer = null;
    fetch(counts.getAttribute('data-counts-src'), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j || !j.counts) { return; }
        counts.querySelectorAll('[data-count]').forEach(function (el) {
          var kv = el.getAttribute('data-count').split(':');
          el.textContent = String((j.counts[kv[0]] || {})[kv[1]] || 0);
        });
      }, function () {});
  }
  function recount() {
    if (counts && !countsTimer) { countsTimer = setTimeout(refreshCounts, 500); }
  }
  if (counts) {
    setInterval(function () { if (!document.hidden) { recount(); } }, 30000);
  }

  // "Select all on this page" ticks every app of the page for the bulk
  // actions; it is shown only with this script.
  var selectAll = document.querySelector('[data-select-all]');
  if (selectAll) {
    selectAll.parentNode.hidden = false;
    selectAll.addEventListener('change', function () {
      document.querySelectorAll('input[name="app"][form="bulk"]').forEach(function (b) { b.checked = selectAll.checked; });
    });
  }

  function update(type, app) {
    recount();
    // Other scripts of the page (tree.js) follow the app from here.
    document.dispatchEvent(new CustomEvent('soll:app', { detail: { type: type, app: app } }));
    var nodes = document.querySelectorAll('[data-app]');
    for (var i = 0; i < nodes.length; i++) {
      var root = nodes[i];
      if (root.getAttribute('data-app') !== app.metadata.name) { continue; }
      if (type === 'DELETED') {
        if (root.classList.contains('app')) {
          announce('This application has been deleted.', true);
        } else if (!root.classList.contains('deleted')) {
          var name = root.querySelector('a');
          if (name) { name.parentNode.insertBefore(document.createTextNode(' (deleted)'), name.nextSibling); }
        }
        root.classList.add('deleted');
        continue;
      }
      apply(root, fields(app));
      var res = root.querySelector('[data-resources]');
      if (res) { swap(res, resourceRows(app)); }
      var conds = root.querySelector('[data-conditions]');
      if (conds) { swap(conds, conditionItems(app)); }
      var unpin = root.querySelector('[data-unpin]');
      if (unpin) { unpin.hidden = !(app.spec || {}).pin; }
      var ops = root.querySelector('[data-op-results]');
      if (ops) { swap(ops, opResultRows(app)); }
      var hist = root.querySelector('[data-history]');
      if (hist) { swap(hist, historyRows(app)); }
    }
  }

  // swap puts nodes in el's place unless el already shows the same: an
  // update that changes nothing there leaves the elements (and a button
  // about to be clicked, or the focus) alone.
  function swap(el, nodes) {
    var same = el.children.length === nodes.length;
    for (var i = 0; same && i < nodes.length; i++) { same = el.children[i].isEqualNode(nodes[i]); }
    if (!same) { el.replaceChildren.apply(el, nodes); }
  }

  function follow(url) {
    var es = new EventSource(url);
    ['ADDED', 'MODIFIED', 'DELETED'].forEach(function (type) {
      es.addEventListener(type, function (e) {
        var app;
        try { app = JSON.parse(e.data); } catch (err) { return; }
        if (app && app.metadata) { update(type, app); }
      });
    });
    es.addEventListener('open', function () { document.body.setAttribute('data-live', 'on'); });
    es.addEventListener('error', function () {
      document.body.setAttribute('data-live', 'off');
      if (es.readyState === EventSource.CLOSED) {
        announce('Live updates stopped (the session may have ended): reload the page.', true);
      }
    });
  }

  // Action forms (data-async) are posted by fetch: the page stays and the
  // event stream shows what follows. The answer is JSON: a message or an
  // error. The target is read as an attribute: a field named "action"
  // (the bulk form's buttons) hides form.action.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form.hasAttribute('data-async')) { return; }
    e.preventDefault();
    var body = new URLSearchParams(new FormData(form, e.submitter));
    var buttons = form.querySelectorAll('button');
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.getAttribute('action'), { method: 'POST', body: body, credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        return r.json().then(function (j) { announce(j.message || j.error || ('The server answered ' + r.status), !r.ok || !!j.error); },
          function () { announce('The server answered ' + r.status + '; reload the page.', true); });
      }, function () { announce('The request failed: the server cannot be reached.', true); })
      .then(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  });

  // The delete button waits for the app's name to be typed (the server
  // checks it too).
  function confirmDelete(input) {
    var button = input.form && input.form.querySelector('#delete-button');
    if (button) { button.disabled = input.value !== input.getAttribute('data-confirm'); }
  }
  document.querySelectorAll('[data-confirm]').forEach(confirmDelete);
  document.addEventListener('input', function (e) {
    if (e.target.hasAttribute && e.target.hasAttribute('data-confirm')) { confirmDelete(e.target); }
  });

  var stream = document.body.getAttribute('data-stream');
  if (stream && window.EventSource) { follow(stream); }
}());
