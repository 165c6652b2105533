// Newswire console: live updates by polling, actions without reloading, keyboard navigation. No framework.
(function () {
  "use strict";
  var body = document.body;
  var every = parseInt(body.getAttribute("data-refresh") || "0", 10) * 1000;
  var paused = false;
  var status = document.getElementById("live-status");

  function say(text, bad) {
    if (!status) return;
    status.textContent = text;
    status.className = bad ? "bad" : "";
  }

  function notice(text, bad) {
    var box = document.querySelector(".notice");
    if (!box) {
      box = document.createElement("p");
      box.className = "notice";
      box.setAttribute("role", "status");
      document.querySelector("main").before(box);
    }
    box.textContent = text;
    box.classList.toggle("bad", !!bad);
  }

  // -- live regions: fetch this page again and swap every [data-live] region by id --------------------
  function refresh() {
    if (paused || document.hidden) return Promise.resolve();
    return fetch(location.href, {headers: {"X-Console-Live": "1"}, credentials: "same-origin"})
      .then(function (response) {
        if (response.redirected && response.url.indexOf("/console/login") >= 0) { location.href = response.url; return; }
        if (!response.ok) { say("update failed: HTTP " + response.status, true); return; }
        return response.text().then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll("[data-live][id]").forEach(function (region) {
            var next = fresh.getElementById(region.id);
            if (!next || region.contains(document.activeElement) && document.activeElement !== document.body) return;
            var checked = Array.prototype.map.call(region.querySelectorAll("input[type=checkbox]:checked"),
              function (box) { return box.value; });
            var current = region.querySelector("tr.current");
            var currentKey = current && (current.getAttribute("data-id") || current.getAttribute("data-stage"));
            region.innerHTML = next.innerHTML;
            checked.forEach(function (value) {
              var box = region.querySelector('input[type=checkbox][value="' + value + '"]');
              if (box) box.checked = true;
            });
            if (currentKey) {
              var again = region.querySelector('tr[data-id="' + currentKey + '"], tr[data-stage="' + currentKey + '"]');
              if (again) again.classList.add("current");
            }
          });
          say("updated " + new Date().toLocaleTimeString());
        });
      })
      .catch(function (error) { say("update failed: " + error, true); });
  }
  if (every > 0) setInterval(refresh, every);

  // -- actions: post the form with the console's header, show the answer, refresh --------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-action")) return;
    event.preventDefault();
    var submitter = event.submitter;
    var action = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action");
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
    var data = new URLSearchParams(new FormData(form));
    if (submitter) submitter.disabled = true;
    fetch(action, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-Requested-With": "newswire-console", "Content-Type": "application/x-www-form-urlencoded"}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok) {
          notice("Refused (" + response.status + "): " + (answer.detail || response.statusText), true);
        } else if (answer.count !== undefined) {
          var refused = Object.keys(answer.failed || {}).length;
          notice(answer.count + " done" + (refused ? ", " + refused + " refused: " +
            Object.values(answer.failed).join("; ") : "") + (answer.more_remain ? " (more remain: run again)" : ""));
        } else {
          notice("Done: " + JSON.stringify(answer));
        }
        return refresh();
      });
    }).catch(function (error) { notice("Failed: " + error, true); })
      .finally(function () { if (submitter) submitter.disabled = false; });
  });

  // -- keyboard -----------------------------------------------------------------------------------------
  var pending = null;
  var jumps = {o: "/console", s: "/console/sources", t: "/console/targets", d: "/console/dead-letters", h: "/console/hooks", a: "/console/audit"};

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-rows] tbody tr")); }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.findIndex(function (row) { return row.classList.contains("current"); });
    if (index >= 0) all[index].classList.remove("current");
    index = Math.max(0, Math.min(all.length - 1, index + step));
    all[index].classList.add("current");
    all[index].scrollIntoView({block: "nearest"});
  }

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var help = document.getElementById("help");
    if (pending === "g" && jumps[event.key]) { location.href = jumps[event.key]; pending = null; return; }
    pending = null;
    var current = document.querySelector("[data-rows] tbody tr.current");
    switch (event.key) {
      case "g": pending = "g"; break;
      case "/": event.preventDefault(); var search = document.getElementById("story-search"); if (search) search.focus(); break;
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter":
        if (current) {
          var link = current.getAttribute("data-href") || (current.querySelector("a") || {}).href;
          if (link) location.href = link;
        }
        break;
      case "x":
        if (current) { var box = current.querySelector("input[type=checkbox]"); if (box) box.checked = !box.checked; }
        break;
      case "p": paused = !paused; say(paused ? "live updates paused (p to resume)" : "live updates on"); break;
      case "?": if (help) help.hidden = !help.hidden; break;
      case "Escape": if (help) help.hidden = true; break;
      default: return;
    }
  });
})();
