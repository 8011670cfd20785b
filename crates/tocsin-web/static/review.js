// The review editor, enhanced: blameless-language advice under each
// section while it is written (the server shows the same advice after
// every save, so nothing depends on this), and a warning before leaving
// the page with unsaved text. When the check endpoint is missing or
// refuses, the advice shown by the server simply stays.
(function () {
  "use strict";
  var form = document.getElementById("review");
  if (!form || typeof window.fetch !== "function") {
    return;
  }
  var url = form.getAttribute("data-check-url");
  var csrfField = form.querySelector('input[name="csrf"]');
  var csrf = csrfField ? csrfField.value : "";
  var areas = form.querySelectorAll("textarea[data-check]");
  var dirty = false;
  var WAIT_MS = 600;

  // The answer may be a list of findings or an object holding one.
  function findingsOf(body) {
    if (Array.isArray(body)) {
      return body;
    }
    if (body && Array.isArray(body.findings)) {
      return body.findings;
    }
    return null;
  }

  function show(box, findings) {
    while (box.firstChild) {
      box.removeChild(box.firstChild);
    }
    if (findings.length === 0) {
      return;
    }
    var ul = document.createElement("ul");
    findings.forEach(function (f) {
      var li = document.createElement("li");
      var label = document.createElement("strong");
      label.textContent = "Advice:";
      var q = document.createElement("q");
      q.textContent = String(f.phrase || "");
      var em = document.createElement("em");
      em.textContent = "Try instead: " + String(f.suggestion || "");
      li.appendChild(label);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(q);
      li.appendChild(
        document.createTextNode(
          " may read as " + String(f.category || "blame") + ". " + String(f.why || "") + " "
        )
      );
      li.appendChild(em);
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  // The line above the form: how many phrases are flagged now.
  function recount() {
    var overall = document.getElementById("advice-overall");
    if (!overall) {
      return;
    }
    var n = form.querySelectorAll(".advice li").length;
    overall.textContent =
      n === 0
        ? "No phrases flagged for blame or hindsight"
        : n +
          (n === 1 ? " phrase may read as blame or hindsight — see the suggestion" : " phrases may read as blame or hindsight — see the suggestions") +
          "; saving is not blocked";
  }

  function check(area) {
    var box = document.getElementById("advice-" + area.id);
    if (!box || !url) {
      return;
    }
    var text = area.value;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRF-Token": csrf
      },
      body: JSON.stringify({ text: text })
    })
      .then(function (res) {
        return res.ok ? res.json() : null;
      })
      .then(function (body) {
        var findings = findingsOf(body);
        // Only if the text is still what was checked.
        if (findings && area.value === text) {
          show(box, findings);
          recount();
        }
      })
      .catch(function () {
        // Advice is a help, not a need: keep what the server showed.
      });
  }

  Array.prototype.forEach.call(areas, function (area) {
    var timer = null;
    area.addEventListener("input", function () {
      dirty = true;
      if (timer) {
        clearTimeout(timer);
      }
      timer = setTimeout(function () {
        check(area);
      }, WAIT_MS);
    });
  });
  var moments = document.getElementById("key_moments");
  if (moments) {
    moments.addEventListener("input", function () {
      dirty = true;
    });
  }
  form.addEventListener("submit", function () {
    dirty = false;
  });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty) {
      ev.preventDefault();
      ev.returnValue = "";
    }
  });
})();
