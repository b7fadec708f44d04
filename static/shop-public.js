// The public e-shop (index.html): the shop as any buyer sees it, in French or English (the
// browser's language, or the one chosen in the top bar, kept on this device).
// The connection badge (connection.js) says live, reconnecting or offline, in words.
import { connectionIndicator } from "./connection.js";
import { languageSwitcher } from "./i18n.js";
import { registerServiceWorker } from "./pwa.js";
import { bootShop } from "./shop.js";

const live = bootShop();
const tools = document.createElement("div");
tools.className = "topbar-tools";
tools.append(connectionIndicator(live, { testid: "live-status" }), languageSwitcher());
document.querySelector(".topbar").append(tools);
registerServiceWorker(); // installable; the order page's QR codes then open offline
