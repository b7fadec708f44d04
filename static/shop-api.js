// The e-shop's requests and what it keeps on this device: `api()` (JSON over fetch, with the
// caller's extra headers and 401 handler, set by `configureApi`), `NetworkError`, the
// purchase's idempotency key, and the hold token and chosen tariffs per session
// (sessionStorage).

export class NetworkError extends Error {}

const options = { headers: async () => ({}), onUnauthorized: () => {} };

/** `headers(method)`: extra request headers (may be async); `onUnauthorized(error)`: on any 401. */
export function configureApi({ headers, onUnauthorized } = {}) {
  if (headers) options.headers = headers;
  if (onUnauthorized) options.onUnauthorized = onUnauthorized;
}

export async function api(method, path, body) {
  let response;
  const headers = { ...(await options.headers(method)) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new NetworkError(String(err));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  const error = (data && data.error) || (response.ok ? null : { code: "http_" + response.status });
  if (response.status === 401) options.onUnauthorized(error);
  return { ok: response.ok, status: response.status, data, error };
}

export function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// -- storage ----------------------------------------------------------------------------------

export const store = {
  token: (sid) => sessionStorage.getItem(`guichet.hold.${sid}`),
  setToken: (sid, token) => sessionStorage.setItem(`guichet.hold.${sid}`, token),
  forget: (sid) => {
    sessionStorage.removeItem(`guichet.hold.${sid}`);
    sessionStorage.removeItem(`guichet.tariffs.${sid}`);
  },
  tariffs: (sid) => {
    try {
      return JSON.parse(sessionStorage.getItem(`guichet.tariffs.${sid}`)) || {};
    } catch {
      return {};
    }
  },
  setTariffs: (sid, value) => sessionStorage.setItem(`guichet.tariffs.${sid}`, JSON.stringify(value)),
};
