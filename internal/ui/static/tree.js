// Parts of an app's pages follow the app: the resource tree of the app
// page and the resource panel. Each is an element with an id and
// data-refresh, the address that serves it again (GET
// /applications/<name>/tree for the tree, the panel's own page for the
// panel: HTML the server rendered and escaped), and data-rv, the app's
// version it shows. When the event stream (followed by soll.js, which
// tells of each change with a soll:app event) brings another version of
// the app, each part is fetched again and swapped in. A burst of changes
// makes one fetch; focus and scroll position stay where they were.
(function () {
  'use strict';

  var delay = 150;

  function say(text) {
    var live = document.getElementById('live');
    if (!live) { return; }
    live.textContent = text;
    live.classList.add('bad');
  }

  // A swap waits while a pointer is pressed in the part, so that a
  // click's press and release land on the same link.
  var pressedIn = null;
  document.addEventListener('pointerdown', function (e) {
    pressedIn = null;
    document.querySelectorAll('[data-refresh]').forEach(function (el) {
      if (el.contains(e.target)) { pressedIn = el.id; }
    });
  });
  var held = {};
  function release() {
    var id = pressedIn;
    pressedIn = null;
    if (id && held[id] !== undefined) {
      var html = held[id];
      delete held[id];
      setTimeout(function () { swap(id, html); }, 0);
    }
  }
  document.addEventListener('pointerup', release);
  document.addEventListener('pointercancel', release);

  function swap(id, html) {
    if (pressedIn === id) { held[id] = html; return; }
    var old = document.getElementById(id);
    var next = new DOMParser().parseFromString(html, 'text/html').getElementById(id);
    if (!old || !next) { return; }
    var focused = document.activeElement;
    var focusKey = null, focusHref = null;
    if (focused && old.contains(focused)) {
      focusKey = focused.getAttribute('data-node');
      focusHref = focused.getAttribute('href');
    }
    var wraps = old.querySelectorAll('.tree-wrap, .table-wrap');
    var scrolls = Array.prototype.map.call(wraps, function (w) { return [w.scrollLeft, w.scrollTop]; });
    next = document.adoptNode(next);
    old.replaceWith(next);
    next.querySelectorAll('.tree-wrap, .table-wrap').forEach(function (w, i) {
      if (scrolls[i]) { w.scrollLeft = scrolls[i][0]; w.scrollTop = scrolls[i][1]; }
    });
    if (focusKey || focusHref) {
      var target = Array.prototype.find.call(next.querySelectorAll('a'), function (a) {
        return (focusKey && a.getAttribute('data-node') === focusKey) || (!focusKey && a.getAttribute('href') === focusHref);
      });
      if (target) { target.focus(); }
    }
    var count = 'data-' + id.replace(/-view$/, '') + '-swaps';
    document.body.setAttribute(count, String(Number(document.body.getAttribute(count) || 0) + 1));
  }

  // follow keeps one part up to date: one fetch at a time, and one more
  // after it when changes came meanwhile.
  function follow(id) {
    var timer = null, busy = false, again = false;
    function refresh() {
      var el = document.getElementById(id);
      if (!el) { return; }
      if (busy) { again = true; return; }
      busy = true;
      fetch(el.getAttribute('data-refresh'), { credentials: 'same-origin', headers: { Accept: 'text/html' } })
        .then(function (r) {
          if (!r.ok || r.redirected) {
            throw new Error('This page could not be brought up to date (the server answered ' + r.status + '): reload it.');
          }
          return r.text();
        })
        .then(function (html) { swap(id, html); }, function (err) {
          say(err && err.message && err.message.indexOf('brought up to date') >= 0 ? err.message : 'This page could not be brought up to date: the server cannot be reached.');
        })
        .then(function () {
          busy = false;
          if (again) { again = false; schedule(); }
        });
    }
    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, delay);
    }
    document.addEventListener('soll:app', function (e) {
      var el = document.getElementById(id);
      var d = e.detail || {};
      if (!el || d.type === 'DELETED' || !d.app || !d.app.metadata) { return; }
      if (d.app.metadata.resourceVersion === el.getAttribute('data-rv')) { return; }
      schedule();
    });
  }

  document.querySelectorAll('[data-refresh]').forEach(function (el) { follow(el.id); });
}());
