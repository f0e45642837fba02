// The cashier's hand-over to a payment company, kept out of the templates so that the
// pages run under a Content-Security-Policy without inline script.
(function () {
  "use strict";

  // A form the company's page receives (UnionPay's front transaction): post it at once.
  // The page keeps a button for a browser that does not run this.
  var form = document.querySelector("form[data-autosubmit]");
  if (form) {
    form.submit();
  }

  // WeChat's payment sheet, inside WeChat: WeixinJSBridge is there, or comes with the
  // WeixinJSBridgeReady event. Whatever the sheet answers (paid, cancelled, failed), the
  // order page shows what happened: it asks the channel itself.
  var wx = document.getElementById("wxpay");
  // The demo's fake WeChat Pay: WeChat's sheet would refuse its parameters; the page links
  // to the fake's page that plays the sheet.
  if (!wx || wx.hasAttribute("data-demo")) {
    return;
  }
  var done = wx.getAttribute("data-done");
  var params;
  try {
    params = JSON.parse(wx.getAttribute("data-params"));
  } catch (e) {
    params = null;
  }
  var started = false;
  function pay() {
    if (started || !params || !window.WeixinJSBridge) {
      return;
    }
    started = true;
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function () {
      window.location.replace(done);
    });
  }
  function absent() {
    if (started) {
      return;
    }
    wx.querySelector("[data-wxpay-waiting]").hidden = true;
    wx.querySelector("[data-wxpay-absent]").hidden = false;
  }
  if (window.WeixinJSBridge) {
    pay();
  } else {
    document.addEventListener("WeixinJSBridgeReady", pay, false);
    window.setTimeout(absent, 3000);
  }
})();
