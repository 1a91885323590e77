// soll's web UI: the script of the forms of the new-application and
// settings pages. The new-application form shows only the options of the
// chosen tool (without the script every tool's options are shown, and the
// server uses those of the chosen tool only). The repository form's
// connection test runs without leaving the page, so that the secrets
// typed stay in the form (the server never writes them back).
// Everything from the server is written with textContent.
(function () {
  'use strict';

  function showTool(form) {
    var checked = form.querySelector('input[data-tool-choice]:checked');
    var tool = checked ? checked.value : 'auto';
    form.querySelectorAll('[data-tool]').forEach(function (group) {
      group.hidden = group.getAttribute('data-tool') !== tool;
    });
  }

  document.querySelectorAll('form.newapp').forEach(function (form) {
    showTool(form);
    form.querySelectorAll('input[data-tool-choice]').forEach(function (radio) {
      radio.addEventListener('change', function () { showTool(form); });
    });
  });

  function showTest(out, ok, text) {
    out.className = 'test-result ' + (ok ? 'ok' : 'bad');
    out.textContent = text;
  }

  document.querySelectorAll('button[data-test]').forEach(function (button) {
    var form = button.form;
    var out = document.getElementById('repo-test-result');
    button.addEventListener('click', function (ev) {
      ev.preventDefault();
      var data = new URLSearchParams(new FormData(form));
      data.set('op', 'test');
      button.disabled = true;
      showTest(out, true, 'Testing the connection…');
      fetch(form.getAttribute('action'), {
        method: 'POST', credentials: 'same-origin', body: data,
        headers: {'Accept': 'application/json'}
      }).then(function (res) {
        return res.json().then(function (body) { return {status: res.status, body: body}; });
      }).then(function (r) {
        if (r.status !== 200) {
          showTest(out, false, 'The test was refused: ' + (r.body.error || ('HTTP ' + r.status)));
        } else if (r.body.ok) {
          showTest(out, true, 'Connection test passed: ' + r.body.message);
        } else {
          showTest(out, false, 'Connection test failed: ' + r.body.message);
        }
      }).catch(function (err) {
        showTest(out, false, 'The test could not be sent: ' + err.message + '. Check the connection to soll and try again.');
      }).finally(function () { button.disabled = false; });
    });
  });
}());
