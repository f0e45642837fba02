// The business systems' pages: copy a one-time secret with one click.
(function () {
  "use strict";
  if (window.campuspayClients) { return; }
  window.campuspayClients = true;
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-copy]");
    if (!btn) { return; }
    var id = btn.getAttribute("data-copy");
    var src = document.getElementById(id);
    if (!src) { return; }
    var text = src.textContent.trim();
    var done = function () {
      var note = document.querySelector('[data-copy-done="' + id + '"]');
      if (note) { note.hidden = false; }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
      return;
    }
    // Plain http on a campus intranet: select the text so Ctrl+C copies it.
    var range = document.createRange();
    range.selectNodeContents(src);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try { if (document.execCommand("copy")) { done(); } } catch (err) { /* selected: copy by hand */ }
  });
})();
