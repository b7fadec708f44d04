/*
 * Guichet's seat picker in an organiser's page. Paste where the picker goes:
 *
 *   <script src="https://tickets.example/embed.js" data-session="42" data-key="gk_…"></script>
 *
 * It puts an iframe of the shop's page for that session (in its compact mode) right after
 * the script tag (or in the element whose id is in data-target), and grows it to its
 * content: the frame posts its height, and only messages from Guichet's origin and from
 * that very frame are taken. The key must list this page's origin (docs/website-api.md).
 * A classic script (not a module), so it runs on any page without a build step.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src, location.href).origin;
  var session = script.getAttribute("data-session") || "";
  var key = script.getAttribute("data-key") || "";
  if (!/^\d{1,18}$/.test(session) || !key) {
    console.error("Guichet embed: data-session (a number) and data-key are required");
    return;
  }
  var frame = document.createElement("iframe");
  frame.src = base + "/embed.html?session=" + session + "&key=" + encodeURIComponent(key) +
    "&origin=" + encodeURIComponent(location.origin) + "#/session/" + session;
  frame.title = script.getAttribute("data-title") || "Choix des places · Seat picker";
  frame.setAttribute("data-guichet-session", session);
  frame.style.cssText = "display:block;width:100%;min-height:480px;border:0;";
  var target = document.getElementById(script.getAttribute("data-target") || "");
  if (target) target.appendChild(frame);
  else script.parentNode.insertBefore(frame, script.nextSibling);

  window.addEventListener("message", function (event) {
    if (event.origin !== base || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.type !== "guichet:height" || typeof data.height !== "number") return;
    var height = Math.max(200, Math.min(20000, Math.ceil(data.height)));
    frame.style.height = height + "px";
    frame.setAttribute("data-height", String(height));
  });
})();
