// spotcheck pages: the one script file (no inline script anywhere; the
// Content-Security-Policy allows none). Pages work without it.
"use strict";

// A form with data-confirm asks before it is sent.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  var msg = form.getAttribute && form.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    ev.preventDefault();
  }
});

// A button with data-copy copies the text of the element it names.
document.addEventListener("click", function (ev) {
  var btn = ev.target.closest && ev.target.closest("[data-copy]");
  if (!btn || !navigator.clipboard) {
    return;
  }
  var el = document.getElementById(btn.getAttribute("data-copy"));
  if (el) {
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      btn.textContent = "已复制";
    });
  }
});
