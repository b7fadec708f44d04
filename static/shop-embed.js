// The shop for one session, embedded in an organiser's page (embed.html, in the iframe that
// embed.js makes): the same seat picker, basket and checkout as the shop, in its compact
// mode (body.embedded), with the connection badge and the language switch. It tells the
// page that embeds it its height (postMessage, only to the origin the server checked
// against the key: the `origin` parameter), so the iframe grows with its content.
import { connectionIndicator } from "./connection.js";
import { languageSwitcher } from "./i18n.js";
import { bootShop } from "./shop.js";

const params = new URLSearchParams(location.search);
const session = params.get("session");
const parentOrigin = params.get("origin");
if (/^\d+$/.test(session || "") && !location.hash.startsWith("#/session/")) {
  history.replaceState(null, "", `${location.pathname}${location.search}#/session/${session}`);
}

const live = bootShop();
const tools = document.createElement("div");
tools.className = "topbar-tools";
tools.append(connectionIndicator(live, { testid: "live-status" }), languageSwitcher());
document.querySelector(".topbar").append(tools);

let lastHeight = 0;
function tellHeight() {
  const height = Math.ceil(document.documentElement.scrollHeight);
  if (!parentOrigin || window.parent === window || height === lastHeight) return;
  lastHeight = height;
  window.parent.postMessage({ type: "guichet:height", session: Number(session), height }, parentOrigin);
}
new ResizeObserver(tellHeight).observe(document.body);
tellHeight();
