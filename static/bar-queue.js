// What the bar page keeps on the device to work through a network drop (docs/wallet.md):
// its random device id, the signed offline allowance of each bar, what it debited offline
// from each wallet (to stay within the allowance) and the queue of offline debits waiting
// for upload, each with its idempotency key. Everything is in localStorage, so a reload or a
// closed tab loses nothing; the server applies an uploaded key once, however often it comes.
//
//   deviceId()                       made once per device
//   allowanceFor(registerId, userId) the stored allowance, or null (expired, someone else's)
//   saveAllowance(userId, body)      POST /api/bars/{id}/allowance's answer
//   offlineLeft(allowance, code, at) cents this device may still debit offline from `code`
//   enqueue(sale)                    {registerId, allowance, code, debits:[{idempotency_key,
//                                    amount_cents, tax_rate_bp, taken_at}], total_cents, label}
//   queued()                         the queued sales, oldest first
//   upload(post)                     sends each bar's queue with its allowance through
//                                    `post(path, body)`; drops what the server answered
//                                    (applied, replayed or refused) and returns the results

const DEVICE_KEY = "guichet.bar.device";
const ALLOWANCE_KEY = "guichet.bar.allowances";
const QUEUE_KEY = "guichet.bar.queue";
const SPENT_KEY = "guichet.bar.spent";
const BATCH = 200;

function read(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value ?? fallback;
  } catch {
    return fallback;
  }
}

function write(key, value) {
  localStorage.setItem(key, JSON.stringify(value)); // a full store throws: the caller says so
}

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `bar-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export function deviceId() {
  let id = null;
  try {
    id = localStorage.getItem(DEVICE_KEY);
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      id = randomId();
      localStorage.setItem(DEVICE_KEY, id);
    }
  } catch {
    id = id || randomId();
  }
  return id;
}

export function allowanceFor(registerId, userId, now = Date.now()) {
  const a = read(ALLOWANCE_KEY, {})[registerId];
  if (!a || a.user_id !== userId || Date.parse(a.expires_at) <= now) return null;
  return a;
}

/** Whether the allowance should be renewed now (none, or less than an hour left). */
export function allowanceDue(registerId, userId, now = Date.now()) {
  const a = allowanceFor(registerId, userId, now);
  return !a || Date.parse(a.expires_at) - now < 3600_000;
}

export function saveAllowance(userId, body) {
  const all = read(ALLOWANCE_KEY, {});
  all[body.register_id] = { ...body, user_id: userId, issued_at: new Date().toISOString() };
  write(ALLOWANCE_KEY, all);
  return all[body.register_id];
}

/** Cents this device may still debit offline from the wallet of `code` under `allowance`. */
export function offlineLeft(allowance, code, now = Date.now()) {
  if (!allowance || Date.parse(allowance.expires_at) <= now) return 0;
  const since = now - allowance.period_s * 1000;
  const spent = (read(SPENT_KEY, {})[code] || [])
    .filter(([at, , token]) => at > since && token === allowance.token)
    .reduce((sum, [, cents]) => sum + cents, 0);
  return Math.max(0, allowance.per_wallet_cents - spent);
}

function remember(code, cents, token, now) {
  const all = read(SPENT_KEY, {});
  const week = now - 7 * 86400_000;
  for (const [c, list] of Object.entries(all)) {
    all[c] = list.filter(([at]) => at > week);
    if (!all[c].length) delete all[c];
  }
  all[code] = [...(all[code] || []), [now, cents, token]];
  write(SPENT_KEY, all);
}

export function queued() {
  return read(QUEUE_KEY, []);
}

export function enqueue(sale, now = Date.now()) {
  const list = queued();
  if (list.some((s) => s.debits[0].idempotency_key === sale.debits[0].idempotency_key)) return;
  write(QUEUE_KEY, [...list, { ...sale, queued_at: new Date(now).toISOString() }]);
  remember(sale.code, sale.total_cents, sale.allowance, now);
}

function drop(keys) {
  write(QUEUE_KEY, queued().filter((s) => !s.debits.some((d) => keys.has(d.idempotency_key))));
}

let uploading = null;

/** Upload the queue (once at a time): {results: [{sale, outcome, balance_cents, code}], error}. */
export function upload(post) {
  if (!uploading) uploading = send(post).finally(() => { uploading = null; });
  return uploading;
}

async function send(post) {
  const results = [];
  const groups = new Map(); // "<register>\n<allowance>" -> sales
  for (const sale of queued()) {
    const k = `${sale.registerId}\n${sale.allowance}`;
    groups.set(k, [...(groups.get(k) || []), sale]);
  }
  for (const sales of groups.values()) {
    for (let i = 0; i < sales.length; i += BATCH) {
      const part = sales.slice(i, i + BATCH);
      const debits = part.flatMap((s) => s.debits.map((d) => ({ ...d, code: s.code })));
      let answer;
      try {
        answer = await post(`/api/bars/${part[0].registerId}/offline-debits`,
          { allowance: part[0].allowance, debits });
      } catch (err) {
        if (err.status && err.status < 500 && err.code !== "network") {
          // the whole batch is refused (an allowance that is not valid any more): drop it, say so
          drop(new Set(debits.map((d) => d.idempotency_key)));
          for (const sale of part) results.push({ sale, outcome: "refused", code: err.code });
          continue;
        }
        return { results, error: err };
      }
      const byKey = new Map(answer.results.map((r) => [r.key, r]));
      drop(new Set(debits.map((d) => d.idempotency_key)));
      for (const sale of part) {
        const mine = sale.debits.map((d) => byKey.get(d.idempotency_key)).filter(Boolean);
        const refused = mine.find((r) => r.status === "refused");
        const last = mine[mine.length - 1];
        results.push({
          sale,
          outcome: refused ? "refused" : mine.every((r) => r.status === "replayed") ? "replayed" : "applied",
          code: refused?.code ?? null,
          balance_cents: last?.balance_cents ?? null,
          overdraft: mine.some((r) => r.overdraft),
          holder: last?.holder?.name ?? null,
        });
      }
    }
  }
  return { results, error: null };
}
