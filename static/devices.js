import { everything } from "./paging.js";
// Admin page: create a scanner device and show its one-time configuration QR code.

const $ = (id) => document.getElementById(id);
const TOKEN = "guichet.admin.token";

async function api(method, path, body) {
  const headers = {};
  const token = localStorage.getItem(TOKEN);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    localStorage.removeItem(TOKEN);
    show("signin");
    throw new Error("Sign in as an admin first.");
  }
  const isJson = response.headers.get("content-type")?.includes("json");
  const data = isJson ? await response.json() : await response.text();
  if (!response.ok) throw new Error(data?.error?.message || `HTTP ${response.status}`);
  return data;
}

function message(text, kind = "error") {
  const box = document.createElement("div");
  box.className = `msg msg-${kind}`;
  box.textContent = text;
  $("messages").append(box);
  setTimeout(() => box.remove(), 6000);
}

function show(name) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
}

async function loadRooms() {
  const { venues } = await everything((path) => api("GET", path), "/api/venues", "venues");
  for (const venue of venues) {
    for (const room of venue.rooms) {
      $("device-room").append(new Option(`${venue.name} · ${room.name}`, String(room.id)));
    }
  }
}

async function signIn(event) {
  event.preventDefault();
  try {
    const data = await api("POST", "/api/auth/login", {
      username: $("username").value,
      password: $("password").value,
    });
    if (!data.user.roles.includes("admin")) throw new Error("This account is not an admin.");
    localStorage.setItem(TOKEN, data.token);
    show("devices");
    await loadRooms();
  } catch (err) {
    message(err.message);
  }
}

async function createDevice(event) {
  event.preventDefault();
  const room = $("device-room").value;
  try {
    const created = await api("POST", "/api/devices", {
      name: $("device-name").value,
      room_id: room ? Number(room) : null,
      language: $("device-language").value,
      mode: document.querySelector('input[name="mode"]:checked').value,
    });
    // the SVG comes from our own server (segno); inline it so it needs no token in a URL
    $("enrolment-qr").innerHTML = await api("GET", created.qr_url);
    $("enrolment-link").href = created.config_url;
    $("enrolment-link").textContent = created.config_url;
    $("enrolment-expiry").textContent = new Date(
      created.device.enrolment_expires_at,
    ).toLocaleTimeString();
    $("enrolment").hidden = false;
    message(`Device “${created.device.name}” created.`, "success");
  } catch (err) {
    message(err.message);
  }
}

$("signin-form").addEventListener("submit", signIn);
$("device-form").addEventListener("submit", createDevice);
if (localStorage.getItem(TOKEN)) {
  show("devices");
  loadRooms().catch((err) => message(err.message));
} else {
  show("signin");
}
