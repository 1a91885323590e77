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
    if (!rows.length) {
      var td = cell('td', 'No resources yet: the app has not been compared with Git, or its path renders nothing.');
      td.colSpan = 5;
      rows.push(cell('tr', td));
    }
    return rows;
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

  function historyRows(app) {
    var hist = ((app.status || {}).history || []).slice().reverse();
    var rows = hist.map(function (h) {
      var tr = document.createElement('tr');
      tr.append(cell('td', String(h.id)), cell('td', cell('code', (h.revisions || []).map(short).join(', '))),
        cell('td', time(h.deployedAt)), cell('td', initiator(h.initiatedBy)), cell('td', rollbackForm(h.id)));
      return tr;
    });
    if (!rows.length) {
      var td = cell('td', 'Not deployed yet.');
      td.colSpan = 5;
      rows.push(cell('tr', td));
    }
    return rows;
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

  // The counts of an unfiltered list follow status changes: the stream
  // first sends every app (remembered, already counted by the server),
  // then changes, which move an app from one count to another. Apps
  // created after the page loaded are not counted until a reload.
  var known = {};
  function count(key, delta) {
    var el = document.querySelector('[data-live-counts] [data-count="' + key + '"]');
    if (el) { el.textContent = String(Math.max(0, Number(el.textContent) + delta)); }
  }
  function recount(type, app) {
    var name = app.metadata.name, was = known[name];
    var now = type === 'DELETED' ? null : fields(app);
    if (was && now) {
      if (was.sync !== now.sync) { count('sync:' + was.sync, -1); count('sync:' + now.sync, 1); }
      if (was.health !== now.health) { count('health:' + was.health, -1); count('health:' + now.health, 1); }
    } else if (was) {
      count('sync:' + was.sync, -1);
      count('health:' + was.health, -1);
    }
    if (now) { known[name] = { sync: now.sync, health: now.health }; } else { delete known[name]; }
  }

  function update(type, app) {
    recount(type, app);
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
      if (res) { res.replaceChildren.apply(res, resourceRows(app)); }
      var conds = root.querySelector('[data-conditions]');
      if (conds) { conds.replaceChildren.apply(conds, conditionItems(app)); }
      var unpin = root.querySelector('[data-unpin]');
      if (unpin) { unpin.hidden = !(app.spec || {}).pin; }
      var hist = root.querySelector('[data-history]');
      if (hist) { hist.replaceChildren.apply(hist, historyRows(app)); }
    }
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
  // error.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form.hasAttribute('data-async')) { return; }
    e.preventDefault();
    var body = new URLSearchParams(new FormData(form, e.submitter));
    var buttons = form.querySelectorAll('button');
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, { method: 'POST', body: body, credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        return r.json().then(function (j) { announce(j.message || j.error || ('The server answered ' + r.status), !r.ok); },
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
