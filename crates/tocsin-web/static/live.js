// The live incident timeline: on a page with
// <ol id="timeline" data-incident="N" data-after="LAST_ID">, new entries
// arrive from /incidents/N/live (server-sent events) and are added to the
// list as they are written, so nobody has to reload. Without this script
// (or without EventSource) the page is the same, only as of its loading.
// Entries already on the page are never drawn twice (dedupe by data-id),
// and those there keep their markup (a pinned "key moment" stays). With
// data-moments="1" (the key-moments view) only pinned entries and
// milestones are added.
(function () {
  "use strict";
  var list = document.querySelector("ol#timeline[data-incident]");
  if (!list || typeof window.EventSource !== "function") {
    return;
  }
  var incident = list.getAttribute("data-incident");
  var newestFirst = list.getAttribute("data-order") === "newest-first";
  // The key-moments view lists only pinned entries and milestones.
  var momentsOnly = list.getAttribute("data-moments") === "1";
  if (!list.hasAttribute("aria-live")) {
    list.setAttribute("aria-live", "polite");
    list.setAttribute("aria-relevant", "additions");
  }

  function idOf(li) {
    var n = parseInt(li.getAttribute("data-id"), 10);
    return isNaN(n) ? 0 : n;
  }

  function lastId() {
    var last = parseInt(list.getAttribute("data-after"), 10) || 0;
    var items = list.querySelectorAll("li[data-id]");
    for (var i = 0; i < items.length; i++) {
      last = Math.max(last, idOf(items[i]));
    }
    return last;
  }

  function parse(html) {
    var t = document.createElement("template");
    t.innerHTML = String(html || "").trim();
    var li = t.content.firstElementChild;
    return li && li.tagName === "LI" ? li : null;
  }

  // Keeps the list in id order, whichever way it runs.
  function place(li, id) {
    var items = list.querySelectorAll("li[data-id]");
    for (var i = 0; i < items.length; i++) {
      var other = idOf(items[i]);
      if (newestFirst ? other < id : other > id) {
        list.insertBefore(li, items[i]);
        return;
      }
    }
    list.appendChild(li);
  }

  function add(entry) {
    var id = parseInt(entry && entry.id, 10);
    if (isNaN(id) || list.querySelector('li[data-id="' + id + '"]')) {
      return;
    }
    if (momentsOnly && !entry.pinned && !entry.milestone) {
      return;
    }
    var li = parse(entry.html);
    if (!li) {
      return;
    }
    place(li, id);
    if (id > (parseInt(list.getAttribute("data-after"), 10) || 0)) {
      list.setAttribute("data-after", String(id));
    }
    list.hidden = false;
    var empty = document.getElementById("timeline-empty");
    if (empty) {
      empty.hidden = true;
    }
  }

  var url = "/incidents/" + encodeURIComponent(incident) + "/live?after=" + lastId();
  var source = new EventSource(url);
  source.addEventListener("entry", function (ev) {
    try {
      add(JSON.parse(ev.data));
    } catch (e) {
      // A malformed event is skipped; the next reload shows everything.
    }
  });
})();
