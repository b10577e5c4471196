// The staff dashboard's only script. The pages work without it; it adds three things:
// - compose, a visit's notice and an answer in the inbox: the preview follows the text as it is typed (the
//   server computes it: the same numbers as the "Preview" button and the command line);
// - a broadcast's page: the progress section refreshes itself while the broadcast moves;
// - the broadcast list: each row not yet settled asks for its own cells again, at the pace
//   its data-poll says, and stops when the server sends a row whose data-poll is 0.
(function () {
  "use strict";

  var compose = document.querySelector("form[data-preview-url]");
  if (compose) {
    var box = document.getElementById("preview");
    var timer = null;
    var asked = 0;
    var refresh = function () {
      var mine = ++asked;
      fetch(compose.dataset.previewUrl, {method: "POST", body: new FormData(compose), credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { if (mine === asked) { box.innerHTML = html; } })
        .catch(function () { /* keep the last preview; the Preview button still works */ });
    };
    var soon = function () { clearTimeout(timer); timer = setTimeout(refresh, 250); };
    compose.addEventListener("input", soon);
    compose.addEventListener("change", soon);
  }

  // Replace the inside of `box` with the server's fragment at `url` every `data-poll` ms of
  // the fragment shown, until it says 0.
  var watch = function (box, url) {
    var poll = function () {
      var inner = box.querySelector("[data-poll]");
      var every = inner ? parseInt(inner.dataset.poll, 10) : 0;
      if (!every) { return; }
      setTimeout(function () {
        fetch(url, {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
          .then(function (html) { box.innerHTML = html; })
          .catch(function () { /* try again at the next tick */ })
          .then(poll);
      }, every);
    };
    poll();
  };

  var section = document.querySelector("[data-progress-url]");
  if (section) { watch(section, section.dataset.progressUrl); }
  document.querySelectorAll("tr[data-row-url]").forEach(function (row) { watch(row, row.dataset.rowUrl); });
}());
