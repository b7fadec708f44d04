// Users (permission users.manage): list with search and paging, create, edit roles / points
// of sale / display name / language, disable or enable, reset a password. API errors are
// shown as their code and message (cannot_grant, not_yourself, weak_password…).

import { i18n, locale, register, t } from "./i18n.js";
import { ROLES } from "./roles-text.js";
import { h } from "./dom.js";
import { api, errorText, notify, requireSession } from "./session.js";

const $ = (id) => document.getElementById(id);
const PAGE = 20;
const state = { me: null, q: "", offset: 0, total: 0, users: [], pos: [], editing: null };

register({
  fr: {
    "users.title": "Utilisateurs",
    "users.list": "Comptes",
    "users.search": "Rechercher",
    "users.searchHint": "nom d'utilisateur ou nom affiché",
    "users.searchGo": "Chercher",
    "users.paging": "Pages de la liste",
    "users.create": "Nouvel utilisateur",
    "users.createSubmit": "Créer le compte",
    "users.username": "Nom d'utilisateur",
    "users.displayName": "Nom affiché",
    "users.password": "Mot de passe (8 caractères au moins)",
    "users.roles": "Rôles",
    "users.pos": "Points de vente",
    "users.noPos": "Aucun point de vente n'est défini.",
    "users.language": "Langue",
    "users.reset": "Nouveau mot de passe",
    "users.resetSubmit": "Remplacer le mot de passe",
    "users.resetDone": "Mot de passe de {name} remplacé ; ses sessions ont été fermées.",
    "users.created": "Compte {name} créé.",
    "users.saved": "Compte {name} enregistré.",
    "users.edit": "Modifier",
    "users.editTitle": "Modifier {name}",
    "users.disable": "Désactiver",
    "users.enable": "Réactiver",
    "users.disabled": "Désactivé",
    "users.disabledDone": "{name} est désactivé : ses pages ouvertes sont fermées.",
    "users.enabledDone": "{name} est réactivé.",
    "users.none": "Aucun utilisateur ne correspond.",
    "users.count": ({ total }) => `${total} compte${total > 1 ? "s" : ""}`,
    "users.lastSignIn": "Dernière connexion : {when}",
    "users.never": "Jamais connecté",
    "users.noRoles": "aucun rôle",
    "users.you": "vous",
    "users.missing": "Saisissez un nom d'utilisateur et un mot de passe.",
    "pos.kind.desk": "guichet",
    "pos.kind.bar": "bar",
    "pos.kind.eshop": "boutique en ligne",
    "pos.kind.kiosk": "borne",
  },
  en: {
    "users.title": "Users",
    "users.list": "Accounts",
    "users.search": "Search",
    "users.searchHint": "username or display name",
    "users.searchGo": "Search",
    "users.paging": "List pages",
    "users.create": "New user",
    "users.createSubmit": "Create the account",
    "users.username": "Username",
    "users.displayName": "Display name",
    "users.password": "Password (at least 8 characters)",
    "users.roles": "Roles",
    "users.pos": "Points of sale",
    "users.noPos": "No point of sale is defined.",
    "users.language": "Language",
    "users.reset": "New password",
    "users.resetSubmit": "Replace the password",
    "users.resetDone": "{name}'s password replaced; their sessions were signed out.",
    "users.created": "Account {name} created.",
    "users.saved": "Account {name} saved.",
    "users.edit": "Edit",
    "users.editTitle": "Edit {name}",
    "users.disable": "Disable",
    "users.enable": "Enable",
    "users.disabled": "Disabled",
    "users.disabledDone": "{name} is disabled: their open pages are closed.",
    "users.enabledDone": "{name} is enabled again.",
    "users.none": "No user matches.",
    "users.count": ({ total }) => `${total} account${total === 1 ? "" : "s"}`,
    "users.lastSignIn": "Last sign-in: {when}",
    "users.never": "Never signed in",
    "users.noRoles": "no role",
    "users.you": "you",
    "users.missing": "Enter a username and a password.",
    "pos.kind.desk": "desk",
    "pos.kind.bar": "bar",
    "pos.kind.eshop": "e-shop",
    "pos.kind.kiosk": "kiosk",
  },
});

function showError(id, err) {
  const box = $(id);
  box.hidden = !err;
  box.textContent = err ? (typeof err === "string" ? err : errorText(err)) : "";
  box.dataset.code = err?.code || "";
}

const checked = (fieldset) =>
  [...fieldset.querySelectorAll("input:checked")].map((input) => input.value);

// -- choices (roles, points of sale) ------------------------------------------------------------

function renderRoles(fieldset, selected) {
  const legend = fieldset.querySelector("legend");
  const prefix = fieldset.id;
  fieldset.replaceChildren(legend, ...ROLES.map((role) => h("label", { class: "choice" },
    h("input", { type: "checkbox", value: role, checked: selected.includes(role),
      "data-testid": `role-${role}`, id: `${prefix}-${role}` }),
    h("span", {}, h("strong", {}, role), h("small", {}, t(`role.${role}`))))));
}

function renderPos(fieldset, selected) {
  const legend = fieldset.querySelector("legend");
  const items = state.pos.length
    ? state.pos.map((p) => h("label", { class: "choice" },
      h("input", { type: "checkbox", value: String(p.id), checked: selected.includes(p.id),
        "data-testid": `pos-${p.id}` }),
      h("span", {}, p.name, h("small", {}, t(`pos.kind.${p.kind}`)))))
    : [h("p", { class: "muted small" }, t("users.noPos"))];
  fieldset.replaceChildren(legend, ...items);
}

// -- list ---------------------------------------------------------------------------------------

function when(iso) {
  return new Date(iso).toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" });
}

function userRow(user) {
  const name = user.display_name || user.username;
  const self = user.id === state.me.id;
  return h("li", { class: "record", "data-testid": "user-row", "data-username": user.username,
    "data-disabled": user.disabled ? "true" : "false" },
  h("div", { class: "record-head" },
    h("h3", {}, name, self ? ` (${t("users.you")})` : ""),
    user.disabled ? h("span", { class: "tag tag-off", "data-testid": "user-disabled" },
      t("users.disabled")) : null),
  h("p", { class: "muted small" }, user.username, " · ", user.language === "en" ? "English" : "Français",
    " · ", user.last_sign_in_at ? t("users.lastSignIn", { when: when(user.last_sign_in_at) })
      : t("users.never")),
  h("p", { "data-testid": "user-roles" }, (user.roles || []).length
    ? user.roles.map((r) => h("span", { class: "tag", title: t(`role.${r}`) }, r))
    : h("span", { class: "muted small" }, t("users.noRoles"))),
  (user.points_of_sale || []).length
    ? h("p", { class: "small" }, user.points_of_sale.map((p) => h("span", { class: "tag" }, p.name)))
    : null,
  h("div", { class: "row-actions" },
    h("button", { type: "button", class: "btn btn-small", "data-testid": "user-edit",
      onclick: () => openEditor(user) }, t("users.edit")),
    h("button", { type: "button", class: "btn btn-small", "data-testid": "user-toggle",
      onclick: () => toggle(user) }, t(user.disabled ? "users.enable" : "users.disable"))));
}

function renderList() {
  const list = $("users");
  list.replaceChildren(...state.users.map(userRow));
  if (!state.users.length) list.append(h("li", { class: "muted" }, t("users.none")));
  const from = state.total ? state.offset + 1 : 0;
  const to = state.offset + state.users.length;
  $("list-status").textContent = `${t("users.count", { total: state.total })}`
    + (state.total > PAGE ? ` · ${t("page.range", { from, to, total: state.total })}` : "");
  $("prev").disabled = state.offset === 0;
  $("next").disabled = to >= state.total;
}

async function loadUsers() {
  const query = new URLSearchParams({ q: state.q, limit: String(PAGE), offset: String(state.offset) });
  try {
    const data = await api("GET", `/api/users?${query}`);
    state.users = data.items || [];
    state.total = data.total ?? state.users.length;
    renderList();
  } catch (err) {
    notify(errorText(err));
  }
}

async function loadPointsOfSale() {
  try {
    const data = await api("GET", "/api/points-of-sale");
    state.pos = data.items || [];
  } catch (err) {
    state.pos = [];
    if (err.status !== 404) notify(errorText(err));
  }
}

// -- create, edit, disable, reset ---------------------------------------------------------------

async function create(event) {
  event.preventDefault();
  const username = $("new-username").value.trim();
  const password = $("new-password").value;
  if (!username || !password) {
    showError("create-error", t("users.missing"));
    return;
  }
  const body = {
    username, password,
    roles: checked($("new-roles")),
    points_of_sale: checked($("new-pos")).map(Number),
    language: $("new-language").value,
  };
  const displayName = $("new-display-name").value.trim();
  if (displayName) body.display_name = displayName;
  try {
    const user = await api("POST", "/api/users", body);
    showError("create-error", null);
    $("create-form").reset();
    notify(t("users.created", { name: user.username }), "success");
    // Show the new account whatever page it would fall on: the list filtered to it.
    state.q = user.username;
    state.offset = 0;
    $("search").value = user.username;
    await loadUsers();
  } catch (err) {
    showError("create-error", err);
  }
}

function openEditor(user) {
  state.editing = user;
  $("edit-title").textContent = t("users.editTitle", { name: user.username });
  $("edit-display-name").value = user.display_name || "";
  $("edit-language").value = user.language || "fr";
  renderRoles($("edit-roles"), user.roles || []);
  renderPos($("edit-pos"), (user.points_of_sale || []).map((p) => p.id));
  $("reset-password").value = "";
  showError("edit-error", null);
  $("editor").showModal();
}

async function save(event) {
  event.preventDefault();
  const user = state.editing;
  if (!user) return;
  // Only what changed: one's own roles may not change, a display name may not be blank.
  const body = {};
  const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));
  const displayName = $("edit-display-name").value.trim();
  if (displayName && displayName !== user.display_name) body.display_name = displayName;
  if ($("edit-language").value !== user.language) body.language = $("edit-language").value;
  const pos = checked($("edit-pos")).map(Number);
  if (!sameSet(pos, (user.points_of_sale || []).map((p) => p.id))) body.points_of_sale = pos;
  const roles = checked($("edit-roles"));
  if (!sameSet(roles, user.roles || [])) body.roles = roles;
  if (!Object.keys(body).length) {
    $("editor").close();
    return;
  }
  try {
    await api("PATCH", `/api/users/${user.id}`, body);
    $("editor").close();
    notify(t("users.saved", { name: user.username }), "success");
    await loadUsers();
  } catch (err) {
    showError("edit-error", err);
  }
}

async function resetPassword(event) {
  event.preventDefault();
  const user = state.editing;
  if (!user) return;
  try {
    await api("POST", `/api/users/${user.id}/password`, { password: $("reset-password").value });
    $("reset-password").value = "";
    showError("edit-error", null);
    notify(t("users.resetDone", { name: user.username }), "success");
  } catch (err) {
    showError("edit-error", err);
  }
}

async function toggle(user) {
  const verb = user.disabled ? "enable" : "disable";
  try {
    await api("POST", `/api/users/${user.id}/${verb}`);
    notify(t(user.disabled ? "users.enabledDone" : "users.disabledDone", { name: user.username }),
      "success");
    await loadUsers();
  } catch (err) {
    notify(errorText(err));
  }
}

// -- start --------------------------------------------------------------------------------------

function wire() {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.q = $("search").value.trim();
    state.offset = 0;
    loadUsers();
  });
  $("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE);
    loadUsers();
  });
  $("next").addEventListener("click", () => {
    state.offset += PAGE;
    loadUsers();
  });
  $("create-form").addEventListener("submit", create);
  $("edit-form").addEventListener("submit", save);
  $("edit-cancel").addEventListener("click", () => $("editor").close());
  $("reset-form").addEventListener("submit", resetPassword);
  i18n.addEventListener("languagechange", () => {
    renderRoles($("new-roles"), checked($("new-roles")));
    renderPos($("new-pos"), checked($("new-pos")).map(Number));
    renderList();
  });
}

const me = await requireSession(["users.manage"]);
if (me) {
  state.me = me;
  wire();
  renderRoles($("new-roles"), []);
  await loadPointsOfSale();
  renderPos($("new-pos"), []);
  await loadUsers();
}
