// The fifteen roles (docs/roles.md) in the order an administrator thinks of them, each with
// what it lets a person do, in French and English (keys `role.<name>`).

import { register } from "./i18n.js";

export const ROLES = [
  "admin", "pos", "on-site", "partner", "overbooker", "refund", "transfer", "ticket_editor",
  "accred", "wallet_cashier", "wallet_manager", "waiter", "entry_check", "stats", "accounting",
];

register({
  fr: {
    "role.admin": "Organisateur : accès complet",
    "role.pos": "Caissier : vend et enregistre des réservations",
    "role.on-site": "Caissier de l'équipe sur place (avec « pos »)",
    "role.partner": "Caissier d'un partenaire (avec « pos »)",
    "role.overbooker": "Peut vendre au-delà de la jauge (avec « pos »)",
    "role.refund": "Rembourse les ventes de sa propre caisse",
    "role.transfer": "Déplace des billets vers une autre séance ou place",
    "role.ticket_editor": "Modifie les données d'un billet",
    "role.accred": "Active les accréditations",
    "role.wallet_cashier": "Débite les porte-monnaie hors point de vente",
    "role.wallet_manager": "Crédite les porte-monnaie électroniques",
    "role.waiter": "Ventes au bar et au restaurant",
    "role.entry_check": "Contrôle d'entrée : scanne les billets à la porte",
    "role.stats": "Consulte les statistiques et le tableau de bord",
    "role.accounting": "Consulte la comptabilité",
  },
  en: {
    "role.admin": "Organiser: full access",
    "role.pos": "Cashier: sells and books reservations",
    "role.on-site": "Cashier of the on-site team (with “pos”)",
    "role.partner": "Cashier of a partner's team (with “pos”)",
    "role.overbooker": "May sell beyond capacity (with “pos”)",
    "role.refund": "Refunds the sales of their own register",
    "role.transfer": "Moves tickets to another session or seat",
    "role.ticket_editor": "Changes a ticket's data",
    "role.accred": "Activates accreditations",
    "role.wallet_cashier": "Debits cashless wallets outside a point of sale",
    "role.wallet_manager": "Credits cashless wallets",
    "role.waiter": "Bar and restaurant sales",
    "role.entry_check": "Entry check: scans tickets at the door",
    "role.stats": "Reads statistics and the dashboard",
    "role.accounting": "Reads accounting data",
  },
});
