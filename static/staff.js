// Staff home: the pages the signed-in user's permissions open, and nothing else.

import { i18n, register, t } from "./i18n.js";
import { can, requireSession } from "./session.js";

// [page, path, permissions (any one suffices)]
export const STAFF_PAGES = [
  ["pos", "/pos.html", ["sell"]],
  ["bar", "/bar.html", ["wallet.debit", "bar.sell"]],
  ["scanner", "/scanner.html", ["door.scan"]],
  ["dashboard", "/dashboard.html", ["stats.read", "door.manage"]],
  ["accounting", "/accounting.html", ["accounting.read"]],
  ["stats", "/stats.html", ["stats.read"]],
  ["events", "/admin-events.html", ["catalog.manage"]],
  ["rooms", "/admin-rooms.html", ["catalog.manage"]],
  ["users", "/admin-users.html", ["users.manage"]],
  ["devices", "/admin-devices.html", ["devices.manage"]],
  ["audit", "/admin-audit.html", ["admin"]],
  ["apikeys", "/admin-api-keys.html", ["admin"]],
];

register({
  fr: {
    "home.title": "Accueil du personnel",
    "home.who": "Bonjour {name}. Vos rôles : {roles}.",
    "home.none": "Aucune page n'est ouverte à votre compte. Adressez-vous à l'administrateur.",
    "page.pos": "Caisse",
    "page.pos.about": "Ouvrir sa caisse, vendre au guichet (vente rapide ou sur plan), encaisser, rembourser, clôturer.",
    "page.bar": "Bar",
    "page.bar.about": "Encaisser les boissons sur le porte-monnaie électronique en scannant le billet ou l'abonnement.",
    "page.scanner": "Contrôle d'entrée",
    "page.scanner.about": "Scanner les billets à la porte.",
    "page.dashboard": "Tableau de bord",
    "page.dashboard.about": "Remplissage et entrées des séances, en direct.",
    "page.accounting": "Comptabilité",
    "page.accounting.about": "Relevés des ventes, de caisse et comptable, en CSV ou Excel.",
    "page.stats": "Statistiques",
    "page.stats.about": "Entrées, recettes, remplissage des salles et absents, en graphiques qui bougent en direct.",
    "page.events": "Événements et séances",
    "page.events.about": "Programmer les événements, leurs séances et leurs tarifs.",
    "page.rooms": "Lieux et salles",
    "page.rooms.about": "Lieux, salles et plans de salle.",
    "page.users": "Utilisateurs",
    "page.users.about": "Comptes du personnel, rôles et points de vente.",
    "page.devices": "Appareils de contrôle",
    "page.devices.about": "Enregistrer un scanner par code QR, révoquer un appareil.",
    "page.audit": "Journal d'audit",
    "page.audit.about": "Qui a fait quoi, et quand.",
    "page.apikeys": "Clés d'API des sites web",
    "page.apikeys.about": "Clés des sites de l'organisateur, code d'intégration du plan de salle, révocation.",
  },
  en: {
    "home.title": "Staff home",
    "home.who": "Hello {name}. Your roles: {roles}.",
    "home.none": "No page is open to your account. Ask the administrator.",
    "page.pos": "Cash desk",
    "page.pos.about": "Open your register, sell at the desk (quick or on the seat map), take payment, refund, close.",
    "page.bar": "Bar",
    "page.bar.about": "Take drinks from the cashless wallet by scanning the ticket or pass.",
    "page.scanner": "Entry check",
    "page.scanner.about": "Scan tickets at the door.",
    "page.dashboard": "Dashboard",
    "page.dashboard.about": "Sessions' fill and entries, live.",
    "page.accounting": "Accounting",
    "page.accounting.about": "Sales, register and accounting statements, as CSV or Excel.",
    "page.stats": "Statistics",
    "page.stats.about": "Entries, revenue, room occupancy and no-shows, in charts that move live.",
    "page.events": "Events and sessions",
    "page.events.about": "Schedule events, their sessions and tariffs.",
    "page.rooms": "Venues and rooms",
    "page.rooms.about": "Venues, rooms and seat plans.",
    "page.users": "Users",
    "page.users.about": "Staff accounts, roles and points of sale.",
    "page.devices": "Scanner devices",
    "page.devices.about": "Enrol a scanner by QR code, revoke a device.",
    "page.audit": "Audit log",
    "page.audit.about": "Who did what, and when.",
    "page.apikeys": "Website API keys",
    "page.apikeys.about": "Keys of the organiser's websites, the seat picker's embed code, revocation.",
  },
});

function tile(page, path) {
  const link = document.createElement("a");
  link.className = "tile";
  link.href = path;
  link.dataset.testid = `page-${page}`;
  const name = document.createElement("strong");
  name.textContent = t(`page.${page}`);
  const about = document.createElement("span");
  about.className = "muted small";
  about.textContent = t(`page.${page}.about`);
  link.append(name, about);
  const item = document.createElement("li");
  item.append(link);
  return item;
}

function render(user) {
  const open = STAFF_PAGES.filter(([, , perms]) => can(user, ...perms));
  document.getElementById("tiles").replaceChildren(...open.map(([page, path]) => tile(page, path)));
  document.getElementById("home-none").hidden = open.length > 0;
  document.getElementById("home-who").textContent = t("home.who", {
    name: user.display_name || user.username,
    roles: (user.roles || []).join(", ") || "—",
  });
}

const user = await requireSession();
if (user) {
  render(user);
  i18n.addEventListener("languagechange", () => render(user));
}
