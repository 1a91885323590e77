// The resource tree of an app page follows the app: when the event
// stream (followed by soll.js, which tells of each change with a soll:app
// event) brings a new version of the app, the tree section is fetched
// again from the server (GET /applications/<name>/tree: HTML the server
// rendered and escaped) and swapped in. A burst of changes makes one
// fetch; focus and scroll position stay where they were.
(function () {
  'use strict';

  var delay = 150;
  var timer = null, busy = false, again = false;

  function current() { return document.getElementById('tree-view'); }

  function say(text) {
    var live = document.getElementById('live');
    if (!live) { return; }
    live.textContent = text;
    live.classList.add('bad');
  }

  // A swap waits while a pointer is pressed in the tree, so that a
  // click's press and release land on the same link.
  var pressed = false, held = null;
  document.addEventListener('pointerdown', function (e) {
    var view = current();
    pressed = !!(view && view.contains(e.target));
  });
  function release() {
    pressed = false;
    if (held !== null) {
      var html = held;
      held = null;
      setTimeout(function () { swap(html); }, 0);
    }
  }
  document.addEventListener('pointerup', release);
  document.addEventListener('pointercancel', release);

  function swap(html) {
    if (pressed) { held = html; return; }
    var old = current();
    var next = new DOMParser().parseFromString(html, 'text/html').getElementById('tree-view');
    if (!old || !next) { return; }
    var focused = document.activeElement;
    var focusKey = null, focusHref = null;
    if (focused && old.contains(focused)) {
      focusKey = focused.getAttribute('data-node');
      focusHref = focused.getAttribute('href');
    }
    var wrap = old.querySelector('.tree-wrap, .table-wrap');
    var left = wrap ? wrap.scrollLeft : 0, top = wrap ? wrap.scrollTop : 0;
    next = document.adoptNode(next);
    old.replaceWith(next);
    var nwrap = next.querySelector('.tree-wrap, .table-wrap');
    if (nwrap) { nwrap.scrollLeft = left; nwrap.scrollTop = top; }
    if (focusKey || focusHref) {
      var target = Array.prototype.find.call(next.querySelectorAll('a'), function (a) {
        return (focusKey && a.getAttribute('data-node') === focusKey) || (!focusKey && a.getAttribute('href') === focusHref);
      });
      if (target) { target.focus(); }
    }
    document.body.setAttribute('data-tree-swaps', String(Number(document.body.getAttribute('data-tree-swaps') || 0) + 1));
  }

  function refresh() {
    var view = current();
    if (!view) { return; }
    if (busy) { again = true; return; }
    busy = true;
    fetch(view.getAttribute('data-tree'), { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) {
        if (!r.ok || r.redirected) {
          throw new Error('The resource tree could not be brought up to date (the server answered ' + r.status + '): reload the page.');
        }
        return r.text();
      })
      .then(swap, function (err) {
        say(err && err.message && err.message.indexOf('resource tree') >= 0 ? err.message : 'The resource tree could not be brought up to date: the server cannot be reached.');
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
    var view = current();
    var d = e.detail || {};
    if (!view || d.type === 'DELETED' || !d.app || !d.app.metadata) { return; }
    if (d.app.metadata.resourceVersion === view.getAttribute('data-rv')) { return; }
    schedule();
  });
}());
