// A reusable WebSocket client for Guichet's live channels (seats:<id>, gauge:<id>).
//
// - reconnects by itself with exponential backoff (with jitter) and resubscribes every
//   channel; seat channels resume with `since: {epoch, seq}` so only missed changes come back;
// - keeps each seat channel's position and drops stale deltas (other epoch, seq <= mine);
// - detects gaps (delta.from > seq + 1) and `resync` frames and resubscribes with `since`;
// - pings regularly and drops a connection that stays silent (half-open sockets).
//
// Usage:
//   const live = new LiveClient("/ws");
//   const sub = live.subscribe("seats:12", (msg) => { ... msg.type is "snapshot" or "delta" });
//   sub.close();   // unsubscribe
//   live.addEventListener("status", (e) => e.detail.status);  // connecting|open|closed

import { PROTOCOL } from "./protocol.js";

const { CLIENT, SERVER, CHANNEL, ERROR, SUBPROTOCOLS, SNAPSHOT_FORMAT } = PROTOCOL;

/** A snapshot's `runs` ([[state, count], ...]) as the digit string of `states`. */
export function statesOfRuns(runs) {
  return runs.map(([state, count]) => String(state).repeat(count)).join("");
}

export function wsUrl(path = "/ws") {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

export class LiveClient extends EventTarget {
  constructor(url = wsUrl(), options = {}) {
    super();
    this.url = url;
    this.minDelay = options.minDelay ?? 250;
    this.maxDelay = options.maxDelay ?? 15000;
    this.pingInterval = options.pingInterval ?? 20000;
    this.ws = null;
    this.status = "closed";
    this.attempt = 0;
    this.channels = new Map(); // channel -> {handler, epoch, seq, resyncing, since, ref}
    this._nextRef = 1;
    this._refs = new Map(); // subscribe ref -> channel
    this._timer = null;
    this._pingTimer = null;
    this._lastMessage = 0;
    this._stopped = false;
    this._onOnline = () => this.reconnectNow();
    this._onVisible = () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    };
    window.addEventListener("online", this._onOnline);
    document.addEventListener("visibilitychange", this._onVisible);
    this._connect();
  }

  // -- public API ---------------------------------------------------------------------------

  /** `extra`: the subscription's own fields (a stats channel's `period`), sent each time. */
  subscribe(channel, handler, extra = {}) {
    const entry = { handler, extra, epoch: null, seq: 0, resyncing: 0, ref: 0 };
    this.channels.set(channel, entry);
    this._sendSubscribe(channel, entry);
    return {
      close: () => {
        if (this.channels.get(channel) !== entry) return;
        this.channels.delete(channel);
        this._send({ type: CLIENT.UNSUBSCRIBE, channel });
      },
    };
  }

  /** Position of a seat channel, as last applied: {epoch, seq} or null. */
  position(channel) {
    const entry = this.channels.get(channel);
    return entry && entry.epoch !== null ? { epoch: entry.epoch, seq: entry.seq } : null;
  }

  /** Skip the backoff wait (e.g. when the browser comes back online). */
  reconnectNow() {
    if (this._stopped || this.status === "open" || this.status === "connecting") return;
    clearTimeout(this._timer);
    this._connect();
  }

  close() {
    this._stopped = true;
    clearTimeout(this._timer);
    clearInterval(this._pingTimer);
    window.removeEventListener("online", this._onOnline);
    document.removeEventListener("visibilitychange", this._onVisible);
    if (this.ws) this.ws.close(1000, "bye");
    this._setStatus("closed");
  }

  // -- connection -----------------------------------------------------------------------------

  _setStatus(status, detail = {}) {
    this.status = status;
    this.dispatchEvent(new CustomEvent("status", { detail: { status, ...detail } }));
  }

  _connect() {
    if (this._stopped) return;
    this._setStatus("connecting", { attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.url, [SUBPROTOCOLS.json]);
    } catch (err) {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this._lastMessage = Date.now();
      this._setStatus("open");
      for (const [channel, entry] of this.channels) {
        entry.resyncing = 0;
        this._sendSubscribe(channel, entry);
      }
      clearInterval(this._pingTimer);
      this._pingTimer = setInterval(() => this._heartbeat(ws), this.pingInterval);
      setTimeout(() => {
        if (this.ws === ws) this.attempt = 0; // stable for a while: next drop retries fast
      }, 3000);
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      this._lastMessage = Date.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this._onMessage(message);
    });
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this._pingTimer);
      if (!this._stopped) this._scheduleReconnect();
    });
    // "error" is always followed by "close".
  }

  _heartbeat(ws) {
    if (this.ws !== ws) return;
    if (Date.now() - this._lastMessage > this.pingInterval * 2.5) {
      ws.close(4000, "silent");  // half-open: the close handler reconnects
      return;
    }
    this._send({ type: CLIENT.PING });
  }

  _scheduleReconnect() {
    const base = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempt);
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    this.attempt += 1;
    this._setStatus("reconnecting", { delay, attempt: this.attempt });
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this._connect(), delay);
  }

  _send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  _sendSubscribe(channel, entry) {
    const ref = this._nextRef++;
    this._refs.delete(entry.ref);
    entry.ref = ref;
    this._refs.set(ref, channel);
    const message = { ...entry.extra, type: CLIENT.SUBSCRIBE, channel, id: ref };
    if (channel.startsWith(CHANNEL.SEATS + ":")) {
      message.format = SNAPSHOT_FORMAT.RUNS; // compact snapshots, expanded on arrival
      if (entry.epoch !== null) message.since = { epoch: entry.epoch, seq: entry.seq };
    }
    if (this._send(message)) entry.resyncing = Date.now();
  }

  /** Ask again for what was missed (gap, resync, other epoch); once at a time per channel. */
  _resync(channel, entry) {
    if (entry.resyncing && Date.now() - entry.resyncing < 5000) return;
    this._sendSubscribe(channel, entry);
  }

  // -- frames ---------------------------------------------------------------------------------

  _onMessage(m) {
    if (m.type === SERVER.PONG || m.type === SERVER.UNSUBSCRIBED) return;
    if (m.type === SERVER.ERROR) {
      this._onError(m);
      return;
    }
    const entry = this.channels.get(m.channel);
    if (!entry) return;
    switch (m.type) {
      case SERVER.SNAPSHOT:
        if (m.runs && m.states === undefined) m.states = statesOfRuns(m.runs);
        entry.epoch = m.epoch;
        entry.seq = m.seq;
        entry.resyncing = 0;
        this.attempt = 0;
        entry.handler(m);
        break;
      case SERVER.DELTA:
        this._onDelta(m.channel, entry, m);
        break;
      case SERVER.GAUGE:
        entry.resyncing = 0;
        this.attempt = 0;
        entry.handler(m);
        break;
      case SERVER.RESYNC:
        entry.resyncing = 0;
        this._resync(m.channel, entry);
        break;
      default: // a frame of a channel without sequence (stock, bar sales): its own handler's
        entry.handler(m);
        break;
    }
  }

  _onDelta(channel, entry, m) {
    if (entry.epoch === null) return; // the snapshot is on its way
    if (m.epoch !== entry.epoch) {
      this._resync(channel, entry);
      return;
    }
    if (m.from > entry.seq + 1) {
      this._resync(channel, entry); // gap: we missed changes
      return;
    }
    this.attempt = 0;
    if (m.seq <= entry.seq) {
      // Stale or empty ("nothing missed") answer: we are up to date.
      if (m.from === entry.seq + 1) entry.resyncing = 0;
      return;
    }
    entry.seq = m.seq;
    entry.resyncing = 0;
    entry.handler(m);
  }

  _onError(m) {
    const channel = m.id !== undefined ? this._refs.get(m.id) : undefined;
    const entry = channel !== undefined ? this.channels.get(channel) : undefined;
    if (entry && m.code === ERROR.UNAVAILABLE) {
      // The live service is down for a moment: try this subscription again later.
      setTimeout(() => {
        if (this.channels.get(channel) === entry) this._sendSubscribe(channel, entry);
      }, 1000 + Math.random() * 1000);
    }
    this.dispatchEvent(new CustomEvent("error", { detail: { ...m, channel } }));
    if (entry) entry.handler({ ...m, channel });
  }
}
