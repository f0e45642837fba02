// Receipt printing: a form marked data-print-count first tells the platform that the
// receipts it lists are being printed (one request for a whole batch), writes the answer's
// reprint labels (第 N 次打印（补打）) into the receipts' copy slots, and only then opens the
// print dialog. Without script the form posts and the page comes back.
(function () {
  "use strict";
  if (window.campuspayReceipts) { return; }
  window.campuspayReceipts = true;

  function flash(message) {
    var box = document.getElementById("flash");
    if (!box) { window.alert(message); return; }
    var alert = document.createElement("div");
    alert.className = "alert alert-error";
    alert.setAttribute("role", "alert");
    alert.textContent = message;
    box.replaceChildren(alert);
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-print-count]")) { return; }
    e.preventDefault();
    var button = form.querySelector("[type=submit]");
    if (button) { button.disabled = true; button.classList.add("is-loading"); }
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (resp) {
      if (!resp.ok) { throw new Error("status " + resp.status); }
      return resp.json();
    }).then(function (data) {
      (data.receipts || []).forEach(function (r) {
        var slot = document.getElementById("copy-" + r.no);
        if (slot) { slot.textContent = r.label; }
      });
      var total = form.querySelector("[data-print-total]");
      if (total && data.receipts && data.receipts.length === 1) { total.textContent = "已打印 " + data.receipts[0].count + " 次"; }
      window.print();
    }).catch(function () {
      flash("未能记录打印次数，请刷新页面后重试。");
    }).finally(function () {
      if (button) { button.disabled = false; button.classList.remove("is-loading"); }
    });
  });
})();
