// The live incident timeline: on a page with
// <ol id="timeline" data-incident="N" data-after="LAST_ID"
// data-after-event="LAST_EVENT_ID">, new timeline entries and new
// ingested events arrive from /incidents/N/live (server-sent events) and
// are added to the list as they come, so nobody has to reload. Without
// this script (or without EventSource) the page is the same, only as of
// its loading. Nothing on the page is drawn twice (entries are deduped by
// data-id, events by data-event-id), and what is there keeps its markup
// (a pinned "key moment" stays). A new line goes where its time puts it
// (at the same instant an event before an entry, as the page orders
// them). With data-moments="1" (the key-moments view) only pinned entries
// and milestones are added.
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

  // The two kinds of line: which attribute names a line, and which
  // attribute of the list holds the last one the page has.
  var ENTRY = { attr: "data-id", after: "data-after", rank: 1 };
  var EVENT = { attr: "data-event-id", after: "data-after-event", rank: 0 };

  function kindOf(li) {
    return li.hasAttribute(EVENT.attr) ? EVENT : ENTRY;
  }

  function number(value) {
    var n = parseInt(value, 10);
    return isNaN(n) ? 0 : n;
  }

  function lastId(kind) {
    var last = number(list.getAttribute(kind.after));
    var items = list.querySelectorAll("li[" + kind.attr + "]");
    for (var i = 0; i < items.length; i++) {
      last = Math.max(last, number(items[i].getAttribute(kind.attr)));
    }
    return last;
  }

  // Milliseconds since the epoch of the line's <time datetime> (RFC 3339,
  // the fraction of a second kept); NaN when there is none.
  function timeOf(li) {
    var t = li.querySelector("time[datetime]");
    var m = t && /^(.+T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.exec(t.getAttribute("datetime"));
    if (!m) {
      return NaN;
    }
    return Date.parse(m[1] + m[3]) + (m[2] ? parseFloat("0" + m[2]) * 1000 : 0);
  }

  function keyOf(li) {
    var kind = kindOf(li);
    return { at: timeOf(li), rank: kind.rank, id: number(li.getAttribute(kind.attr)) };
  }

  // Whether a comes before b, oldest first.
  function earlier(a, b) {
    if (a.at !== b.at) {
      return a.at < b.at;
    }
    if (a.rank !== b.rank) {
      return a.rank < b.rank;
    }
    return a.id < b.id;
  }

  function parse(html) {
    var t = document.createElement("template");
    t.innerHTML = String(html || "").trim();
    var li = t.content.firstElementChild;
    return li && li.tagName === "LI" ? li : null;
  }

  // Keeps the list in time order, whichever way it runs; a line whose time
  // cannot be read goes at the newest end.
  function place(li) {
    var key = keyOf(li);
    if (!isNaN(key.at)) {
      var items = list.querySelectorAll("li[data-id], li[data-event-id]");
      for (var i = 0; i < items.length; i++) {
        var other = keyOf(items[i]);
        if (isNaN(other.at)) {
          continue;
        }
        if (newestFirst ? earlier(other, key) : earlier(key, other)) {
          list.insertBefore(li, items[i]);
          return;
        }
      }
      list.appendChild(li);
      return;
    }
    if (newestFirst) {
      list.insertBefore(li, list.firstChild);
    } else {
      list.appendChild(li);
    }
  }

  function add(entry) {
    if (!entry) {
      return;
    }
    var isEvent = entry.event_id !== undefined && entry.event_id !== null;
    var kind = isEvent ? EVENT : ENTRY;
    var id = parseInt(isEvent ? entry.event_id : entry.id, 10);
    if (isNaN(id) || list.querySelector("li[" + kind.attr + '="' + id + '"]')) {
      return;
    }
    if (momentsOnly && !entry.pinned && !entry.milestone) {
      return;
    }
    var li = parse(entry.html);
    if (!li) {
      return;
    }
    place(li);
    if (id > number(list.getAttribute(kind.after))) {
      list.setAttribute(kind.after, String(id));
    }
    list.hidden = false;
    var empty = document.getElementById("timeline-empty");
    if (empty) {
      empty.hidden = true;
    }
  }

  var url =
    "/incidents/" +
    encodeURIComponent(incident) +
    "/live?after=" +
    lastId(ENTRY) +
    "&after_event=" +
    lastId(EVENT);
  var source = new EventSource(url);
  source.addEventListener("entry", function (ev) {
    try {
      add(JSON.parse(ev.data));
    } catch (e) {
      // A malformed event is skipped; the next reload shows everything.
    }
  });
})();
