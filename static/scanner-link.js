// The scanner's WebSocket: LiveClient (reconnects, resubscribes, heartbeats) plus what a
// door needs: `auth` first on every connection, `scan` requests answered by `scan_result`
// with the same id, and the `door:<session_id>` channel (`door` and `revoked` frames).
// Without a token (`new DoorLink(null)`), `auth` carries none: the server then signs the
// connection in with the staff session cookie sent on the handshake.

import { PROTOCOL } from "./protocol.js";
import { LiveClient, wsUrl } from "./live.js";

const { SERVER, CLIENT } = PROTOCOL;
const DOOR_FRAMES = new Set(["door", "revoked"]);

export class DoorLink extends LiveClient {
  constructor(token, url = wsUrl()) {
    super(url);
    this.token = token;
    this.pending = new Map(); // scan id -> {resolve, reject, timer}
    this._scanRef = 0;
    // LiveClient announces "open" before it resubscribes: authenticate first.
    this.addEventListener("status", (event) => {
      if (event.detail.status === "open") {
        const auth = { type: CLIENT.AUTH, id: "auth" };
        if (this.token) auth.token = this.token;
        this._send(auth);
      } else {
        this._failPending("connection closed");
      }
    });
  }

  get isOpen() {
    return this.status === "open" && this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send a scan; resolves with the scan_result frame, rejects on error/close/timeout. */
  scan(request, timeoutMs = 3000) {
    const id = `scan-${++this._scanRef}`;
    return new Promise((resolve, reject) => {
      if (!this.isOpen) {
        reject(new Error("not connected"));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error("timeout"));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (!this._send({ type: CLIENT.SCAN, id, ...request })) {
        this._settle(id).reject(new Error("not connected"));
      }
    });
  }

  _settle(id) {
    const entry = this.pending.get(id);
    this.pending.delete(id);
    clearTimeout(entry.timer);
    return entry;
  }

  _failPending(reason) {
    for (const id of [...this.pending.keys()]) this._settle(id).reject(new Error(reason));
  }

  _onMessage(m) {
    if (m.type === SERVER.AUTHENTICATED) {
      this.dispatchEvent(new CustomEvent("authenticated", { detail: m }));
      return;
    }
    if (m.id === "auth" && m.type === SERVER.ERROR) {
      this.dispatchEvent(new CustomEvent("auth-error", { detail: m }));
      return;
    }
    if (typeof m.id === "string" && this.pending.has(m.id)) {
      const entry = this._settle(m.id);
      if (m.type === SERVER.SCAN_RESULT) entry.resolve(m);
      else entry.reject(Object.assign(new Error(m.message || m.code), { code: m.code }));
      return;
    }
    if (DOOR_FRAMES.has(m.type)) {
      const entry = this.channels.get(m.channel);
      if (entry) entry.handler(m);
      return;
    }
    super._onMessage(m);
  }
}
