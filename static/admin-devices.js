// Scanner devices (permission devices.manage): the list, enrolment of a new scanner with its
// one-time configuration QR code, a fresh code for an existing one, and revocation.

import { i18n, locale, register, t } from "./i18n.js";
import { h } from "./dom.js";
import { api, errorText, notify, requireSession } from "./session.js";
import { everything } from "./paging.js";

const $ = (id) => document.getElementById(id);
const state = { devices: [], rooms: new Map(), qrUrl: null };

register({
  fr: {
    "devices.title": "Appareils de contrôle",
    "devices.list": "Appareils enregistrés",
    "devices.none": "Aucun appareil.",
    "devices.create": "Enregistrer un scanner",
    "devices.name": "Nom de l'appareil",
    "devices.nameHelp": "Lettres sans accent, chiffres, « _ », « . » ou « - ».",
    "devices.room": "Limiter à une salle",
    "devices.allRooms": "Toutes les salles",
    "devices.language": "Langue de l'appareil",
    "devices.mode": "Mode",
    "devices.entry": "Entrée",
    "devices.exit": "Sortie",
    "devices.createSubmit": "Créer et afficher son code QR",
    "devices.orOpen": "Ou ouvrez ce lien sur l'appareil :",
    "devices.scanThis": "Scannez ce code avec « {name} »",
    "devices.qrAlt": "Code QR de configuration de {name}",
    "devices.validUntil": "Valable une seule fois, jusqu'à {when}.",
    "devices.created": "Appareil « {name} » créé.",
    "devices.newCode": "Nouveau code QR",
    "devices.revoke": "Révoquer",
    "devices.revokeAsk": "Révoquer « {name} » ? Il ne pourra plus scanner.",
    "devices.revoked": "Révoqué",
    "devices.revokedDone": "« {name} » est révoqué.",
    "devices.since": "Créé le {when}",
    "devices.lastSeen": "Vu pour la dernière fois : {when}",
    "devices.neverSeen": "Jamais vu",
    "devices.badName": "Le nom : 1 à 40 lettres sans accent, chiffres, « _ », « . » ou « - ».",
  },
  en: {
    "devices.title": "Scanner devices",
    "devices.list": "Enrolled devices",
    "devices.none": "No device.",
    "devices.create": "Enrol a scanner",
    "devices.name": "Device name",
    "devices.nameHelp": "Letters without accents, digits, “_”, “.” or “-”.",
    "devices.room": "Room filter",
    "devices.allRooms": "All rooms",
    "devices.language": "Device language",
    "devices.mode": "Mode",
    "devices.entry": "Entry",
    "devices.exit": "Exit",
    "devices.createSubmit": "Create and show its QR code",
    "devices.orOpen": "Or open this link on the device:",
    "devices.scanThis": "Scan this with “{name}”",
    "devices.qrAlt": "Configuration QR code of {name}",
    "devices.validUntil": "Valid once, until {when}.",
    "devices.created": "Device “{name}” created.",
    "devices.newCode": "New QR code",
    "devices.revoke": "Revoke",
    "devices.revokeAsk": "Revoke “{name}”? It will not scan any more.",
    "devices.revoked": "Revoked",
    "devices.revokedDone": "“{name}” is revoked.",
    "devices.since": "Created {when}",
    "devices.lastSeen": "Last seen: {when}",
    "devices.neverSeen": "Never seen",
    "devices.badName": "The name: 1 to 40 letters without accents, digits, “_”, “.” or “-”.",
  },
});

const when = (iso) =>
  new Date(iso).toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" });

function deviceRow(device) {
  const revoked = Boolean(device.revoked || device.revoked_at);
  const room = device.room_id ? state.rooms.get(device.room_id) || `#${device.room_id}` : t("devices.allRooms");
  const lastSeen = device.last_seen_at || device.last_seen;
  return h("li", { class: "record", "data-testid": "device-row", "data-device": device.name },
    h("div", { class: "record-head" }, h("h3", {}, device.name),
      revoked ? h("span", { class: "tag tag-off", "data-testid": "device-revoked" },
        t("devices.revoked")) : null),
    h("p", { class: "small" }, room, " · ", t(device.mode === "exit" ? "devices.exit" : "devices.entry"),
      " · ", device.language === "en" ? "English" : "Français"),
    h("p", { class: "muted small" }, t("devices.since", { when: when(device.created_at) }),
      ` · ${lastSeen ? t("devices.lastSeen", { when: when(lastSeen) }) : t("devices.neverSeen")}`),
    revoked ? null : h("div", { class: "row-actions" },
      h("button", { type: "button", class: "btn btn-small", "data-testid": "device-code",
        onclick: () => newCode(device) }, t("devices.newCode")),
      h("button", { type: "button", class: "btn btn-small", "data-testid": "device-revoke",
        onclick: () => revoke(device) }, t("devices.revoke"))));
}

function renderDevices() {
  $("devices").replaceChildren(...state.devices.map(deviceRow));
  $("devices-none").hidden = state.devices.length > 0;
}

async function loadDevices() {
  try {
    const data = await everything((path) => api("GET", path), "/api/devices", "devices");
    state.devices = data.devices;
    renderDevices();
  } catch (err) {
    notify(errorText(err));
  }
}

async function loadRooms() {
  try {
    const { venues } = await everything((path) => api("GET", path), "/api/venues", "venues");
    for (const venue of venues) {
      for (const room of venue.rooms) {
        const name = `${venue.name} · ${room.name}`;
        state.rooms.set(room.id, name);
        $("device-room").append(new Option(name, String(room.id)));
      }
    }
  } catch (err) {
    notify(errorText(err));
  }
}

async function showEnrolment(created) {
  const name = created.device.name;
  $("enrolment-title").textContent = t("devices.scanThis", { name });
  // The SVG is fetched with the session and shown as an image: nothing of it runs.
  const response = await fetch(created.qr_url, { credentials: "same-origin" });
  if (state.qrUrl) URL.revokeObjectURL(state.qrUrl);
  state.qrUrl = URL.createObjectURL(new Blob([await response.text()], { type: "image/svg+xml" }));
  $("enrolment-qr").replaceChildren(h("img", { src: state.qrUrl, alt: t("devices.qrAlt", { name }),
    "data-testid": "enrolment-qr" }));
  $("enrolment-link").href = created.config_url;
  $("enrolment-link").textContent = created.config_url;
  $("enrolment-expiry").textContent = created.device.enrolment_expires_at
    ? t("devices.validUntil", { when: when(created.device.enrolment_expires_at) }) : "";
  $("enrolment").hidden = false;
}

async function createDevice(event) {
  event.preventDefault();
  const box = $("device-error");
  if (!$("device-name").checkValidity()) {
    box.textContent = t("devices.badName");
    box.hidden = false;
    return;
  }
  const room = $("device-room").value;
  try {
    const created = await api("POST", "/api/devices", {
      name: $("device-name").value,
      room_id: room ? Number(room) : null,
      language: $("device-language").value,
      mode: document.querySelector('input[name="mode"]:checked').value,
    });
    box.hidden = true;
    await showEnrolment(created);
    notify(t("devices.created", { name: created.device.name }), "success");
    await loadDevices();
  } catch (err) {
    box.textContent = errorText(err);
    box.dataset.code = err.code || "";
    box.hidden = false;
  }
}

async function newCode(device) {
  try {
    await showEnrolment(await api("POST", `/api/devices/${device.id}/enrolment`));
    $("enrolment").scrollIntoView({ block: "nearest" });
  } catch (err) {
    notify(errorText(err));
  }
}

async function revoke(device) {
  if (!window.confirm(t("devices.revokeAsk", { name: device.name }))) return;
  try {
    await api("POST", `/api/devices/${device.id}/revoke`);
    notify(t("devices.revokedDone", { name: device.name }), "success");
    await loadDevices();
  } catch (err) {
    notify(errorText(err));
  }
}

const user = await requireSession(["devices.manage"]);
if (user) {
  $("device-form").addEventListener("submit", createDevice);
  i18n.addEventListener("languagechange", renderDevices);
  await loadRooms();
  await loadDevices();
}
