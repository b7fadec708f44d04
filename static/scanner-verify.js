// Offline verification of Guichet ticket codes (format GQ v1, see docs/ticket-codes.md).
//
// code = "GQ" + base45(payload[27] || Ed25519 signature[64]); the signature covers
// CONTEXT || payload. Fields (big-endian): version u8, key id u8, scope u8 (1 session,
// 2 pass), ticket id u48, scope id u32, valid from u32, valid until u32 (unix s), seed[6].
//
// The offline decision mirrors scanning/decision.py in the order a scanner can check
// without the server: unknown/forged, revoked, wrong_session, not_yet_valid/expired,
// already_entered. Pure except for WebCrypto; no DOM.

export const CONTEXT = new TextEncoder().encode("guichet/ticket-code\0");
export const PREFIX = "GQ";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));
const PAYLOAD_LENGTH = 27;
const RAW_LENGTH = 91;
const SCOPES = { 1: "session", 2: "pass" };

export class CodeError extends Error {
  constructor(reason, detail) {
    super(`${reason}: ${detail}`);
    this.reason = reason; // "unknown" | "forged"
  }
}

/** Strict RFC 9285 base45 decoding: throws on bad characters, length or range. */
export function base45Decode(text) {
  if (text.length % 3 === 1) throw new CodeError("unknown", "invalid base45 length");
  const out = new Uint8Array(Math.floor(text.length / 3) * 2 + (text.length % 3 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < text.length; i += 3) {
    const digits = [...text.slice(i, i + 3)].map((c) => {
      const d = INDEX.get(c);
      if (d === undefined) throw new CodeError("unknown", "invalid base45 character");
      return d;
    });
    if (digits.length === 3) {
      const n = digits[0] + digits[1] * 45 + digits[2] * 2025;
      if (n > 0xffff) throw new CodeError("unknown", "base45 triplet out of range");
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      const n = digits[0] + digits[1] * 45;
      if (n > 0xff) throw new CodeError("unknown", "base45 pair out of range");
      out[o++] = n;
    }
  }
  return out;
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text) {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

/** Decode a code's text into its claims (signature not checked yet). Throws CodeError. */
export function parseCode(text) {
  const clean = String(text).replace(/[\r\n]+$/, "");
  if (!clean.startsWith(PREFIX)) throw new CodeError("unknown", "missing scheme tag");
  const raw = base45Decode(clean.slice(PREFIX.length));
  if (raw.length < 3 || raw[0] !== 1) throw new CodeError("unknown", "unsupported version");
  if (raw.length !== RAW_LENGTH) throw new CodeError("unknown", "bad length");
  const scope = SCOPES[raw[2]];
  if (!scope) throw new CodeError("unknown", "unknown scope");
  const payload = raw.subarray(0, PAYLOAD_LENGTH);
  const view = new DataView(raw.buffer, raw.byteOffset, PAYLOAD_LENGTH);
  const ticketId = view.getUint16(3) * 2 ** 32 + view.getUint32(5);
  const seedHex = hex(payload.subarray(21, 27));
  return {
    keyId: raw[1],
    scope,
    ticketId,
    scopeId: view.getUint32(9),
    validFrom: view.getUint32(13),
    validUntil: view.getUint32(17),
    seedHex,
    codeRef: `${ticketId}:${seedHex}`,
    payload,
    signature: raw.subarray(PAYLOAD_LENGTH),
  };
}

/** Import the public keys of GET /api/door/keys ({key id: hex}) as WebCrypto keys. */
export async function importKeys(publicKeysHex) {
  const keys = new Map();
  for (const [id, keyHex] of Object.entries(publicKeysHex || {})) {
    const key = await crypto.subtle.importKey("raw", unhex(keyHex), { name: "Ed25519" }, false, [
      "verify",
    ]);
    keys.set(Number(id), key);
  }
  return keys;
}

/** Authenticity only: the claims, or a CodeError ("unknown" / "forged"). */
export async function verifyCode(text, keys) {
  const claims = parseCode(text);
  const key = keys.get(claims.keyId);
  if (!key) throw new CodeError("forged", `unknown key id ${claims.keyId}`);
  const message = new Uint8Array(CONTEXT.length + PAYLOAD_LENGTH);
  message.set(CONTEXT);
  message.set(claims.payload, CONTEXT.length);
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, claims.signature, message);
  if (!ok) throw new CodeError("forged", "bad signature");
  return claims;
}

/**
 * The offline decision for a code at a door.
 * ctx: {sessionId, now (unix seconds), revoked: Set of code refs, entered: Map ticket id ->
 * {door, at}, passes: optional Map pass id -> {holder_name, allowed, ticket_id, seed} (from
 * the keys bundle)}. Returns {result, reason, ticket_id, session_id, entered_at,
 * entered_door} and, for a pass, pass_id and holder. A pass admitted offline is remembered
 * as the entered key `pass:<id>`; once booked online, as its booking's ticket id.
 */
export async function decideOffline(text, keys, ctx) {
  let claims;
  try {
    claims = await verifyCode(text, keys);
  } catch (err) {
    if (err instanceof CodeError) return refused(err.reason, null);
    throw err;
  }
  const base = { ticket_id: claims.ticketId, session_id: ctx.sessionId };
  if (ctx.revoked.has(claims.codeRef)) return refused("revoked", base);
  if (claims.scope === "pass") return decidePass(claims, ctx, base);
  if (claims.scope === "session" && claims.scopeId !== ctx.sessionId) {
    return refused("wrong_session", { ...base, session_id: claims.scopeId });
  }
  if (ctx.now < claims.validFrom) return refused("not_yet_valid", base);
  if (ctx.now > claims.validUntil) return refused("expired", base);
  const entry = ctx.entered.get(claims.ticketId);
  if (entry) {
    return { ...refused("already_entered", base), entered_at: entry.at, entered_door: entry.door };
  }
  return { result: "valid", reason: null, ...base };
}

/** A pass offline: the bundle says whether it may attend this session and who holds it
 * (without a bundle's pass list, only its signature, window and local entries count). */
function decidePass(claims, ctx, base) {
  const pass = ctx.passes ? ctx.passes.get(claims.scopeId) : undefined;
  const key = `pass:${claims.scopeId}`;
  const info = { ...base, ticket_id: key, pass_id: claims.scopeId };
  if (pass) info.holder = { name: pass.holder_name };
  if (ctx.passes && (!pass || !pass.allowed)) return refused("pass_not_valid_for_session", info);
  if (pass && pass.seed !== claims.seedHex) return refused("revoked", info);
  if (ctx.now < claims.validFrom) return refused("not_yet_valid", info);
  if (ctx.now > claims.validUntil) return refused("expired", info);
  const entry = ctx.entered.get(key) || (pass?.ticket_id != null && ctx.entered.get(pass.ticket_id));
  if (entry) {
    return { ...refused("already_entered", info), entered_at: entry.at, entered_door: entry.door };
  }
  return { result: "valid", reason: null, ...info };
}

function refused(reason, base) {
  return { result: "refused", reason, ticket_id: null, session_id: null, ...(base || {}) };
}
