// What the steward reads on a result: every reason code in plain words (English, French).

const LOCALES = { en: "en-GB", fr: "fr-FR" };

const TEXT = {
  en: {
    valid: "Valid — come in",
    refused: "Refused",
    row: "Row",
    seat: "Seat",
    noSeat: "Free placement",
    ticket: "Ticket",
    reasons: {
      already_entered: ({ at, door }) =>
        `Already entered${at ? ` at ${at}` : ""}${door ? ` through door ${door}` : ""}`,
      wrong_session: () => "This ticket is for another session",
      wrong_room: () => "This ticket is for another room",
      not_yet_valid: () => "Not valid yet: too early for this session",
      expired: () => "Expired: this session is over",
      refunded: () => "This ticket was refunded",
      revoked: () => "This ticket was cancelled or replaced by a newer one",
      unknown: () => "Not a ticket we know",
      forged: () => "Fake or damaged code",
      pass_not_valid_for_session: () => "This pass does not include this session",
      session_full: () => "Session full: no place left for this pass",
      no_keys: () => "Cannot check offline yet: connect once to download the keys",
      not_inside: () => "Cannot exit: this ticket is not inside",
      no_reentry: () => "No re-entry: this ticket already went out",
    },
  },
  fr: {
    valid: "Valide — entrez",
    refused: "Refusé",
    row: "Rang",
    seat: "Place",
    noSeat: "Placement libre",
    ticket: "Billet",
    reasons: {
      already_entered: ({ at, door }) =>
        `Déjà entré${at ? ` à ${at}` : ""}${door ? ` par la porte ${door}` : ""}`,
      wrong_session: () => "Ce billet est pour une autre séance",
      wrong_room: () => "Ce billet est pour une autre salle",
      not_yet_valid: () => "Pas encore valable : trop tôt pour cette séance",
      expired: () => "Expiré : cette séance est terminée",
      refunded: () => "Ce billet a été remboursé",
      revoked: () => "Ce billet a été annulé ou remplacé",
      unknown: () => "Billet inconnu",
      forged: () => "Code falsifié ou abîmé",
      pass_not_valid_for_session: () => "Ce pass ne donne pas accès à cette séance",
      session_full: () => "Séance complète : plus de place pour ce pass",
      no_keys: () => "Contrôle hors ligne impossible : connectez-vous une fois d'abord",
      not_inside: () => "Sortie impossible : ce billet n'est pas entré",
      no_reentry: () => "Pas de nouvelle entrée : ce billet est déjà sorti",
    },
  },
};

export function textFor(language) {
  const lang = language in TEXT ? language : "en";
  const t = TEXT[lang];
  const timeOf = (iso) =>
    iso
      ? new Date(iso).toLocaleTimeString(LOCALES[lang], { hour: "2-digit", minute: "2-digit" })
      : "";
  return {
    lang,
    ...t,
    timeOf,
    reason(result) {
      if (!result.reason) return "";
      const say = t.reasons[result.reason];
      if (!say) return result.reason;
      return say({ at: timeOf(result.entered_at), door: result.entered_door });
    },
  };
}
