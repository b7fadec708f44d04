// French and English for the staff pages. Festivals are French-speaking: French is the
// default whenever nothing better is known.
//
// Which language: the signed-in user's (`language` from /api/auth/me, passed to
// `useLanguage`), else this device's choice (localStorage), else the browser's
// (navigator.language), else French.
//
// API
//   register({ fr: {key: "texte", ...}, en: {key: "text", ...} })
//       add a page's strings (call at module load, before `applyTranslations`). A value is a
//       string with `{name}` placeholders, or a function `(params) => string` (plurals).
//   t(key, params)            the string in the current language (English, then the key, if missing)
//   language()                "fr" or "en"
//   locale()                  "fr-FR" or "en-GB", for Intl / toLocale*String
//   useLanguage(lang, {remember})   switch (and remember on this device); re-applies the
//                             document's translations and fires `languagechange` on `i18n`
//   applyTranslations(root)   fill every `data-i18n="key"` (textContent) and
//                             `data-i18n-attr="placeholder:key;aria-label:key"` under root
//   languageSwitcher(onChange)  a labelled <select> (Français / English); onChange(lang) is
//                             called after the switch (e.g. to save it on the user)
//   i18n                      an EventTarget: "languagechange" (detail: {language})

export const LANGUAGES = Object.freeze(["fr", "en"]);
const LOCALES = { fr: "fr-FR", en: "en-GB" };
const DEVICE_KEY = "guichet.language";
const STRINGS = { fr: {}, en: {} };

export const i18n = new EventTarget();
let current = guess();

function guess() {
  let stored = null;
  try {
    stored = localStorage.getItem(DEVICE_KEY);
  } catch {
    stored = null;
  }
  if (LANGUAGES.includes(stored)) return stored;
  for (const tag of navigator.languages || [navigator.language || ""]) {
    const base = String(tag).toLowerCase().slice(0, 2);
    if (LANGUAGES.includes(base)) return base;
  }
  return "fr";
}

export function register(table) {
  for (const lang of LANGUAGES) Object.assign(STRINGS[lang], table[lang] || {});
}

export function language() {
  return current;
}

export function locale() {
  return LOCALES[current];
}

export function t(key, params = {}) {
  const value = STRINGS[current][key] ?? STRINGS.en[key];
  if (value === undefined) return key;
  if (typeof value === "function") return value(params);
  return value.replace(/\{(\w+)\}/g, (all, name) => (name in params ? String(params[name]) : all));
}

export function useLanguage(lang, { remember = true } = {}) {
  if (!LANGUAGES.includes(lang)) return;
  if (remember) {
    try {
      localStorage.setItem(DEVICE_KEY, lang);
    } catch {
      // private mode: the choice lasts for this page only
    }
  }
  const changed = lang !== current;
  current = lang;
  applyTranslations(document);
  if (changed) i18n.dispatchEvent(new CustomEvent("languagechange", { detail: { language: lang } }));
}

export function applyTranslations(root = document) {
  if (root === document) document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

export function languageSwitcher(onChange = () => {}) {
  const label = document.createElement("label");
  label.className = "lang-switch";
  const text = document.createElement("span");
  text.className = "sr-only";
  text.dataset.i18n = "lang.label";
  text.textContent = t("lang.label");
  const select = document.createElement("select");
  select.dataset.testid = "language";
  for (const [value, name] of [["fr", "Français"], ["en", "English"]]) {
    const option = new Option(name, value, false, value === current);
    option.lang = value;
    select.append(option);
  }
  select.addEventListener("change", () => {
    useLanguage(select.value);
    onChange(select.value);
  });
  i18n.addEventListener("languagechange", () => {
    select.value = current;
  });
  label.append(text, select);
  return label;
}

// Strings every staff page shares: header, session, connection, common errors.
register({
  fr: {
    "lang.label": "Langue",
    "header.home": "Accueil du personnel",
    "header.signedInAs": "Connecté en tant que {name}",
    "header.signOut": "Se déconnecter",
    "header.password": "Changer de mot de passe",
    "skip": "Aller au contenu",
    "loading": "Chargement…",
    "close": "Fermer",
    "dismiss": "Masquer",
    "retry": "Réessayer",
    "save": "Enregistrer",
    "cancel": "Annuler",
    "previous": "Précédent",
    "next": "Suivant",
    "page.range": "{from}–{to} sur {total}",
    "conn.open": "En direct",
    "conn.connecting": "Connexion…",
    "conn.reconnecting": "Reconnexion…",
    "conn.closed": "Hors ligne",
    "conn.titleOpen": "Les chiffres se mettent à jour en direct",
    "conn.titleDown": "Les chiffres affichés peuvent ne plus être à jour ; reconnexion en cours",
    "denied.title": "Accès refusé",
    "denied.body": "Votre compte ne permet pas d'ouvrir cette page (droit requis : {needs}).",
    "denied.home": "Retour à l'accueil du personnel",
    "error.network": "Le serveur ne répond pas. Vérifiez la connexion et réessayez.",
    "error.generic": "Erreur {code} : {message}",
    "signedOut": "Votre session a pris fin : reconnectez-vous.",
  },
  en: {
    "lang.label": "Language",
    "header.home": "Staff home",
    "header.signedInAs": "Signed in: {name}",
    "header.signOut": "Sign out",
    "header.password": "Change password",
    "skip": "Skip to content",
    "loading": "Loading…",
    "close": "Close",
    "dismiss": "Dismiss",
    "retry": "Retry",
    "save": "Save",
    "cancel": "Cancel",
    "previous": "Previous",
    "next": "Next",
    "page.range": "{from}–{to} of {total}",
    "conn.open": "Live",
    "conn.connecting": "Connecting…",
    "conn.reconnecting": "Reconnecting…",
    "conn.closed": "Offline",
    "conn.titleOpen": "Figures update live",
    "conn.titleDown": "The figures shown may be out of date; reconnecting",
    "denied.title": "Not allowed",
    "denied.body": "Your account may not open this page (it needs: {needs}).",
    "denied.home": "Back to the staff home",
    "error.network": "The server cannot be reached. Check the connection and try again.",
    "error.generic": "Error {code}: {message}",
    "signedOut": "Your session has ended: please sign in again.",
  },
});
