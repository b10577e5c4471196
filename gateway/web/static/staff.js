// The staff dashboard's only script. The pages work without it; it adds three things:
// - compose, a visit's notice and an answer in the inbox: the preview follows the text as it is typed (the
//   server computes it: the same numbers as the "Preview" button and the command line);
// - a broadcast's page: the progress section refreshes itself while the broadcast moves;
// - the broadcast list: each row not yet settled asks for its own cells again, at the pace
//   its data-poll says, and stops when the server sends a row whose data-poll is 0;
// - an account's centres (a list of checkboxes): a filter box narrows the list as one types,
//   ticked centres stay in view, and the "chosen" count follows the ticks;
// - an invitation's page: a "Copy the link" button (the link is selectable without it).
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

  var picker = document.querySelector("[data-centre-picker]");
  if (picker) {
    var filter = picker.querySelector("[data-centre-filter]");
    var count = picker.querySelector("[data-centre-count]");
    var none = picker.querySelector("[data-centre-none]");
    var boxes = picker.querySelectorAll("input[type=checkbox]");
    var fold = function (text) {
      return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    };
    var narrow = function () {
      var words = fold(filter.value).split(/\s+/).filter(Boolean);
      var shown = 0;
      picker.querySelectorAll("[data-province]").forEach(function (group) {
        var province = fold(group.dataset.province);
        var any = false;
        group.querySelectorAll("label[data-centre-name]").forEach(function (label) {
          var text = fold(label.dataset.centreName) + " " + province;
          var match = label.querySelector("input").checked || words.every(function (w) { return text.indexOf(w) >= 0; });
          label.hidden = !match;
          any = any || match;
          shown += match ? 1 : 0;
        });
        group.hidden = !any;
      });
      none.hidden = shown > 0;
    };
    var counted = function () {
      var names = [];
      boxes.forEach(function (box) { if (box.checked) { names.push(box.parentNode.dataset.centreName); } });
      count.textContent = names.length + " chosen" + (names.length ? ": " + names.join(", ") : "");
    };
    picker.querySelector("[data-centre-tools]").hidden = false;
    filter.addEventListener("input", narrow);
    filter.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); } });
    picker.addEventListener("change", counted);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    var said = button.parentNode.querySelector("[data-copied]");
    button.hidden = false;
    button.addEventListener("click", function () {
      source.focus();
      source.select();
      var done = function () { said.textContent = "Copied."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.value).then(done, function () { said.textContent = "Select the link and copy it."; });
      } else {
        said.textContent = document.execCommand("copy") ? "Copied." : "Select the link and copy it.";
      }
    });
  });
}());
