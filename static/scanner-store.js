// What the scanner page keeps in localStorage so it survives reloads and network loss:
// the sign-in, the scanning setup, the offline bundle per session and the upload queue.

const PREFIX = "guichet.scanner.";

function read(name, fallback) {
  try {
    const raw = localStorage.getItem(PREFIX + name);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

function write(name, value) {
  if (value === null || value === undefined) localStorage.removeItem(PREFIX + name);
  else localStorage.setItem(PREFIX + name, JSON.stringify(value));
}

function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
}

/** A nonce the server accepts (8-64 of [A-Za-z0-9_.-]); retries reuse it. */
export function newNonce() {
  return randomHex(12);
}

export const store = {
  /** {token, username, kind: "user" | "device"} or null. */
  get auth() {
    return read("auth", null);
  },
  set auth(value) {
    write("auth", value);
  },

  /** {sessionId, door, language, mode, roomId, deviceName} (any may be missing). */
  get config() {
    return read("config", {});
  },
  set config(value) {
    write("config", value);
  },

  /** This browser's device name for scans (an enrolled device uses its own name). */
  get deviceName() {
    let name = this.config.deviceName || read("device", null);
    if (!name) {
      name = "web-" + randomHex(4);
      write("device", name);
    }
    return name;
  },

  /** The last GET /api/door/keys answer for a session, kept current by the door channel. */
  bundle(sessionId) {
    return read(`bundle.${sessionId}`, null);
  },
  saveBundle(sessionId, bundle) {
    write(`bundle.${sessionId}`, bundle);
  },

  /** Entries admitted offline here and not uploaded yet: {ticket id: {door, at}}. */
  localEntered(sessionId) {
    return read(`entered.${sessionId}`, {});
  },
  saveLocalEntered(sessionId, entered) {
    write(`entered.${sessionId}`, entered);
  },

  /** Offline scans waiting for upload: [{code, nonce, door, scanned_at, session_id}]. */
  get queue() {
    return read("queue", []);
  },
  set queue(scans) {
    write("queue", scans);
  },
};
