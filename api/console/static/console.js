// The console's small behaviours: the contact-within-1-hour clocks tick every second, htmx errors
// are said out loud instead of failing silently, and 409/422 answers (a refused ticket move, an
// empty note) are swapped in like any other answer so the agent reads the reason.
(function () {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }

  function tickClocks() {
    var now = Date.now();
    document.querySelectorAll(".clock[data-due]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - now) / 1000);
      var s = Math.abs(left);
      var text = (s >= 3600 ? Math.floor(s / 3600) + ":" : "") + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
      el.textContent = text + " " + (left >= 0 ? el.dataset.left : el.dataset.over);
      el.classList.toggle("late", left < 0);
      var row = el.closest("tr");
      if (row && left < 0) { row.classList.add("breached"); }
    });
  }

  function showToast(message) {
    var toast = document.getElementById("toast");
    if (!toast) { return; }
    toast.textContent = message;
    toast.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(function () { toast.hidden = true; }, 8000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    tickClocks();
    setInterval(tickClocks, 1000);
    if (window.htmx) {
      htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "409|422", swap: true, error: false },
        { code: "[45]..", swap: false, error: true },
      ];
    }
  });

  document.addEventListener("htmx:afterSwap", tickClocks);
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : "?";
    var lang = document.body.dataset.lang;
    showToast(lang === "ko" ? "요청을 처리하지 못했습니다 (" + status + "). 잠시 후 다시 시도하세요."
                            : "The request failed (" + status + "). Try again shortly.");
  });
  document.addEventListener("htmx:sendError", function () {
    var lang = document.body.dataset.lang;
    showToast(lang === "ko" ? "서버에 연결할 수 없습니다." : "The server cannot be reached.");
  });
})();
