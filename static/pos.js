// The cash desk's sale page (permission `sell`): the shop's seat-map sale run by a signed-in
// cashier. Orders carry the cashier's session cookie (and CSRF token), so the server books
// them as desk sales. Registers, payments and receipts are a later piece of work.

import { register } from "./i18n.js";
import { DoorLink } from "./scanner-link.js";
import {
  addConnectionIndicator, goToSignIn, requireSession, sessionHeaders, watchSession,
} from "./session.js";
import { bootShop } from "./shop.js";

register({
  fr: {
    "pos.note": "Page de vente du guichet : le plan de salle de la boutique, vendu par un "
      + "caissier connecté (la vente est enregistrée comme vente au guichet). Caisses, "
      + "encaissements et reçus viendront plus tard.",
  },
  en: {
    "pos.note": "Cash desk sale page: the shop's seat map, sold by a signed-in cashier (the "
      + "order is recorded as a desk sale). Registers, payments and receipts come later.",
  },
});

const user = await requireSession(["sell"]);
if (user) {
  // The seat map's socket signs in with the cookie, so a disabled cashier is told at once.
  const client = new DoorLink(null);
  watchSession(client);
  bootShop({ headers: sessionHeaders, onUnauthorized: () => goToSignIn(), client });
  addConnectionIndicator(client);
}
