// The one staff sign-in page (/signin.html?next=/path), and the password change
// (/signin.html#password) for a signed-in user.

import { applyTranslations, languageSwitcher, register, t, useLanguage } from "./i18n.js";
import { api, errorText, me, remember, safeNext } from "./session.js";

const $ = (id) => document.getElementById(id);

register({
  fr: {
    "signin.title": "Connexion du personnel",
    "signin.username": "Nom d'utilisateur",
    "signin.password": "Mot de passe",
    "signin.submit": "Se connecter",
    "signin.busy": "Connexion…",
    "signin.help": "Les comptes sont créés par l'administrateur de la billetterie.",
    "signin.missing": "Saisissez votre nom d'utilisateur et votre mot de passe.",
    "signin.bad_credentials": "Nom d'utilisateur ou mot de passe incorrect.",
    "signin.user_disabled":
      "Ce compte est désactivé. Adressez-vous au responsable de la billetterie.",
    "signin.too_many_attempts": ({ seconds }) =>
      `Trop de tentatives. Réessayez dans ${seconds} seconde${seconds > 1 ? "s" : ""}.`,
    "password.title": "Changer de mot de passe",
    "password.who": "Compte : {name}",
    "password.current": "Mot de passe actuel",
    "password.new": "Nouveau mot de passe (8 caractères au moins)",
    "password.repeat": "Nouveau mot de passe, une seconde fois",
    "password.submit": "Changer le mot de passe",
    "password.done": "Mot de passe changé. Vos autres sessions ont été fermées.",
    "password.mismatch": "Les deux nouveaux mots de passe ne sont pas identiques.",
    "password.short": "Le nouveau mot de passe doit compter au moins 8 caractères.",
    "password.bad_credentials": "Le mot de passe actuel est incorrect.",
  },
  en: {
    "signin.title": "Staff sign-in",
    "signin.username": "Username",
    "signin.password": "Password",
    "signin.submit": "Sign in",
    "signin.busy": "Signing in…",
    "signin.help": "Accounts are created by the box office administrator.",
    "signin.missing": "Enter your username and your password.",
    "signin.bad_credentials": "Wrong username or password.",
    "signin.user_disabled": "This account is disabled. Ask the box office manager.",
    "signin.too_many_attempts": ({ seconds }) =>
      `Too many attempts. Try again in ${seconds} second${seconds === 1 ? "" : "s"}.`,
    "password.title": "Change password",
    "password.who": "Account: {name}",
    "password.current": "Current password",
    "password.new": "New password (at least 8 characters)",
    "password.repeat": "New password again",
    "password.submit": "Change password",
    "password.done": "Password changed. Your other sessions were signed out.",
    "password.mismatch": "The two new passwords differ.",
    "password.short": "The new password must have at least 8 characters.",
    "password.bad_credentials": "The current password is wrong.",
  },
});

function destination() {
  const next = safeNext(new URLSearchParams(window.location.search).get("next"));
  if (!next) return "/staff.html";
  // The server's 303 cannot see a page's #fragment; the browser keeps it on this page.
  const hash = window.location.hash === "#password" ? "" : window.location.hash;
  return next.includes("#") ? next : next + hash;
}

function showError(id, text) {
  const box = $(id);
  box.textContent = text;
  box.hidden = !text;
}

let waitTimer = null;

function tooManyAttempts(err) {
  let seconds = Math.max(1, Math.ceil(Number(err.details.retry_after) || 30));
  const button = $("signin-button");
  button.disabled = true;
  clearInterval(waitTimer);
  const tick = () => {
    showError("signin-error", t("signin.too_many_attempts", { seconds }));
    $("signin-error").dataset.code = "too_many_attempts";
    seconds -= 1;
    if (seconds < 0) {
      clearInterval(waitTimer);
      button.disabled = false;
    }
  };
  tick();
  waitTimer = setInterval(tick, 1000);
}

async function signIn(event) {
  event.preventDefault();
  const username = $("username").value.trim();
  const password = $("password").value;
  const box = $("signin-error");
  if (!username || !password) {
    box.dataset.code = "missing";
    showError("signin-error", t("signin.missing"));
    return;
  }
  const button = $("signin-button");
  button.disabled = true;
  button.textContent = t("signin.busy");
  try {
    const data = await api("POST", "/api/auth/session", { username, password },
      { redirect: false });
    remember({ ...data.user, csrf: data.csrf, expires_at: data.expires_at });
    if (data.user.language) useLanguage(data.user.language);
    window.location.assign(destination());
    return;
  } catch (err) {
    $("password").value = "";
    box.dataset.code = err.code;
    if (err.code === "too_many_attempts") {
      tooManyAttempts(err);
      return;
    }
    const known = ["bad_credentials", "user_disabled"].includes(err.code);
    showError("signin-error", known ? t(`signin.${err.code}`) : errorText(err));
    $("password").focus();
  } finally {
    button.textContent = t("signin.submit");
    if (!waitTimer || $("signin-error").dataset.code !== "too_many_attempts") {
      button.disabled = false;
    }
  }
}

async function changePassword(event) {
  event.preventDefault();
  $("password-ok").hidden = true;
  const current = $("current-password").value;
  const fresh = $("new-password").value;
  if (fresh !== $("repeat-password").value) {
    showError("password-error", t("password.mismatch"));
    return;
  }
  if (fresh.length < 8) {
    showError("password-error", t("password.short"));
    return;
  }
  try {
    const data = await api("POST", "/api/auth/password", { current, new: fresh },
      { redirect: false });
    showError("password-error", "");
    for (const id of ["current-password", "new-password", "repeat-password"]) $(id).value = "";
    $("password-ok").hidden = false;
    if (data?.csrf) me({ refresh: true }).catch(() => {});
  } catch (err) {
    $("password-error").dataset.code = err.code;
    if (err.code === "bad_credentials") showError("password-error", t("password.bad_credentials"));
    else if (err.code === "weak_password") showError("password-error", t("password.short"));
    else if (err.status === 401) route(); // signed out meanwhile: the sign-in form
    else showError("password-error", errorText(err));
  }
}

async function route() {
  const wantsPassword = window.location.hash === "#password";
  let user = null;
  if (wantsPassword) {
    try {
      user = await me({ refresh: true });
    } catch {
      user = null;
    }
  }
  const password = wantsPassword && Boolean(user?.id);
  $("view-signin").hidden = password;
  $("view-password").hidden = !password;
  if (password) {
    if (user.language) useLanguage(user.language, { remember: false });
    $("password-who").textContent = t("password.who", { name: user.display_name || user.username });
    $("current-password").focus();
  } else {
    $("username").focus();
  }
}

applyTranslations(document);
$("signin-tools").append(languageSwitcher());
$("signin-form").addEventListener("submit", signIn);
$("password-form").addEventListener("submit", changePassword);
window.addEventListener("hashchange", route);
route();
