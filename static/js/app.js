// CampusPay's own small behaviours, kept out of the templates so that the pages run
// under a Content-Security-Policy without inline script.
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t.closest("[data-print]")) { window.print(); return; }
    var close = t.closest("[data-dismiss]");
    if (close && close.parentElement) { close.parentElement.remove(); }
  });
  // A form whose error came back into its error slot starts again empty (a wrong card
  // password should not stay in the field).
  document.addEventListener("htmx:afterSwap", function (e) {
    var form = e.detail.requestConfig && e.detail.requestConfig.elt;
    if (form && form.matches && form.matches("form[data-reset-on-error]") && e.detail.target.id.endsWith("-error")) {
      form.reset();
      var first = form.querySelector("input:not([type=hidden])");
      if (first) { first.focus(); }
    }
  });
  document.addEventListener("change", function (e) {
    var all = e.target.closest("[data-select-all]");
    if (!all) { return; }
    // Within its merchant's list when the bills are listed by merchant (收款单位).
    var form = all.closest("form");
    var scope = all.closest("[data-bill-group]") || form;
    scope.querySelectorAll("input[name=bill]:not(:disabled)").forEach(function (box) { box.checked = all.checked; });
    // Tell htmx the selection changed once more, now that every box is set.
    form.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();
