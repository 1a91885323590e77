// soll's web UI: the new-application form shows only the options of the
// chosen tool. Without this script every tool's options are shown, and
// the server uses those of the chosen tool only.
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
}());
