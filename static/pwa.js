// The installable shop (manifest.webmanifest) and its service worker (sw.js): registered by
// the shop and the order page. `keepForOffline(urls)` asks the worker to keep an order's data
// and QR codes for the door; it resolves true once they are cached (false without a worker).

export function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return null;
  return navigator.serviceWorker.register("/sw.js").catch(() => null);
}

export async function keepForOffline(urls) {
  if (!("serviceWorker" in navigator) || !(await registerServiceWorker())) return false;
  const registration = await navigator.serviceWorker.ready;
  const worker = registration.active;
  if (!worker) return false;
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event) => resolve(Boolean(event.data?.ok));
    worker.postMessage({ type: "keep", urls }, [channel.port2]);
    setTimeout(() => resolve(false), 10000);
  });
}
