// Passes (abonnements) at the desk: sell a pass of a type (holder's first and last name, a
// photo from the tablet's camera or a file, paid with the payment panel) with
// POST /api/register-sessions/{id}/passes, then print the receipt with the pass card and its
// QR code; find passes (GET /api/passes?q=&status=&pass_type_id=); book a session on a pass
// from a search result (POST /api/passes/{id}/bookings) or by its code, typed or scanned
// with a wedge scanner that ends with Enter (POST /api/pass-bookings). docs/passes.md.

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { everything } from "./paging.js";
import { paymentPanel } from "./pos-pay.js";
import { receiptPaper, showDoc } from "./pos-receipt.js";
import { dateTime, money, percent, randomKey } from "./pos-util.js";
import { api, errorText, notify } from "./session.js";

register({
  fr: {
    "ps.sell": "Vendre un abonnement",
    "ps.type": "Type d'abonnement",
    "ps.noTypes": "Aucun type d'abonnement en vente.",
    "ps.first": "Prénom",
    "ps.last": "Nom",
    "ps.photo": "Photo",
    "ps.camera": "Prendre une photo",
    "ps.shoot": "Déclencher",
    "ps.stopCamera": "Fermer la caméra",
    "ps.file": "Choisir un fichier",
    "ps.noPhoto": "Pas de photo",
    "ps.removePhoto": "Retirer la photo",
    "ps.photoOf": "Photo de {name}",
    "ps.cameraFailed": "Caméra indisponible : {error}. Choisissez un fichier.",
    "ps.badImage": "Cette image n'a pas pu être lue.",
    "ps.needNames": "Saisissez le prénom et le nom du titulaire.",
    "ps.period": "du {from} au {until}",
    "ps.sessions": "{n} séance(s)",
    "ps.max": "{n} séance(s) au plus",
    "ps.sold": "Abonnement n° {id} vendu",
    "ps.card": "Abonnement",
    "ps.holder": "Titulaire",
    "ps.validity": "Validité",
    "ps.qrAlt": "Code QR de l'abonnement n° {id}",
    "ps.find": "Rechercher un abonnement",
    "ps.query": "Nom, prénom ou n°",
    "ps.status": "État",
    "ps.any": "Tous",
    "ps.search": "Rechercher",
    "ps.none": "Aucun abonnement trouvé.",
    "ps.more": "Suivants",
    "ps.st.active": "✓ Actif",
    "ps.st.refunded": "↩ Remboursé",
    "ps.st.cancelled": "✕ Annulé",
    "ps.bookingsN": "{n} réservation(s)",
    "ps.book": "Réserver une séance",
    "ps.session": "Séance",
    "ps.bookIt": "Réserver",
    "ps.byCode": "Réserver par code",
    "ps.code": "Code de l'abonnement (scanné ou saisi)",
    "ps.booked": "Réservé : {session}{seat}",
    "ps.already": "Déjà réservé : {session}{seat}",
    "ps.seat": ", place {seat}",
    "ps.bookings": "Séances réservées",
    "ps.noBookings": "Aucune séance réservée.",
    "ps.entered": "entré",
  },
  en: {
    "ps.sell": "Sell a pass",
    "ps.type": "Pass type",
    "ps.noTypes": "No pass type on sale.",
    "ps.first": "First name",
    "ps.last": "Last name",
    "ps.photo": "Photo",
    "ps.camera": "Take a photo",
    "ps.shoot": "Shoot",
    "ps.stopCamera": "Close the camera",
    "ps.file": "Choose a file",
    "ps.noPhoto": "No photo",
    "ps.removePhoto": "Remove the photo",
    "ps.photoOf": "Photo of {name}",
    "ps.cameraFailed": "Camera unavailable: {error}. Choose a file.",
    "ps.badImage": "This image could not be read.",
    "ps.needNames": "Type the holder's first and last name.",
    "ps.period": "from {from} to {until}",
    "ps.sessions": "{n} session(s)",
    "ps.max": "at most {n} session(s)",
    "ps.sold": "Pass no. {id} sold",
    "ps.card": "Pass",
    "ps.holder": "Holder",
    "ps.validity": "Valid",
    "ps.qrAlt": "QR code of pass no. {id}",
    "ps.find": "Find a pass",
    "ps.query": "Name, first name or no.",
    "ps.status": "Status",
    "ps.any": "Any",
    "ps.search": "Search",
    "ps.none": "No pass found.",
    "ps.more": "More",
    "ps.st.active": "✓ Active",
    "ps.st.refunded": "↩ Refunded",
    "ps.st.cancelled": "✕ Cancelled",
    "ps.bookingsN": "{n} booking(s)",
    "ps.book": "Book a session",
    "ps.session": "Session",
    "ps.bookIt": "Book",
    "ps.byCode": "Book by code",
    "ps.code": "Pass code (scanned or typed)",
    "ps.booked": "Booked: {session}{seat}",
    "ps.already": "Already booked: {session}{seat}",
    "ps.seat": ", seat {seat}",
    "ps.bookings": "Sessions booked",
    "ps.noBookings": "No session booked.",
    "ps.entered": "entered",
  },
});

const PHOTO_MAX_CHARS = 60_000; // the server takes 64 KiB (check_photo); keep a margin
const PHOTO_SIDES = [320, 240, 160];

/** An image (video frame, bitmap) drawn small as a JPEG data URL under the photo limit. */
export function photoDataUrl(source, width, height) {
  for (const side of PHOTO_SIDES) {
    const scale = Math.min(1, side / Math.max(width, height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
    for (const quality of [0.8, 0.6, 0.4]) {
      const url = canvas.toDataURL("image/jpeg", quality);
      if (url.length <= PHOTO_MAX_CHARS) return url;
    }
  }
  return null;
}

async function fileToPhoto(file) {
  const bitmap = await createImageBitmap(file);
  try {
    return photoDataUrl(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

function statusTag(status) {
  const cls = status === "active" ? "tag" : "tag tag-off";
  return h("span", { class: cls, "data-testid": "pass-status", "data-status": status }, t(`ps.st.${status}`));
}

export function mountPasses(ctx, root) {
  let types = [];
  let sessions = [];
  let photo = null;
  let stream = null;
  let key = null;
  let offset = 0;
  const sessionName = (id) => {
    const s = sessions.find((x) => x.id === id);
    return s ? `${s.event_name} · ${dateTime(s.starts_at)}` : `#${id}`;
  };

  // -- selling -------------------------------------------------------------------------------
  const typeSelect = h("select", { id: "ps-type", "data-testid": "pass-type", onchange: () => priceChanged() });
  const first = h("input", { id: "ps-first", "data-testid": "pass-first", autocomplete: "off", maxlength: 100 });
  const last = h("input", { id: "ps-last", "data-testid": "pass-last", autocomplete: "off", maxlength: 100 });
  const typeInfo = h("p", { class: "small muted", "data-testid": "pass-type-info" });
  const preview = h("img", { class: "pass-photo", "data-testid": "pass-photo-preview", hidden: true, alt: "" });
  const noPhoto = h("span", { class: "muted small" }, t("ps.noPhoto"));
  const video = h("video", { class: "pass-camera", autoplay: true, playsinline: true, muted: true, hidden: true });
  const fileInput = h("input", { type: "file", accept: "image/*", capture: "user", class: "sr-only",
    id: "ps-file", "data-testid": "pass-photo-file", onchange: () => photoFromFile() });
  const shoot = h("button", { type: "button", class: "btn", hidden: true, "data-testid": "pass-shoot",
    onclick: () => shootPhoto() }, t("ps.shoot"));
  const cameraBtn = h("button", { type: "button", class: "btn", "data-testid": "pass-camera",
    onclick: () => (stream ? stopCamera() : startCamera()) }, `📷 ${t("ps.camera")}`);
  const removePhoto = h("button", { type: "button", class: "btn btn-small", hidden: true,
    onclick: () => setPhoto(null) }, t("ps.removePhoto"));
  const formError = h("p", { class: "form-error", role: "alert", hidden: true });
  const pay = paymentPanel({ currency: ctx.currency(), onPay: (payments) => sell(payments) });

  const sellBox = h("section", { class: "pass-sell", "aria-labelledby": "ps-sell-title" },
    h("h2", { id: "ps-sell-title" }, t("ps.sell")),
    h("div", { class: "form-grid" },
      h("label", { class: "field field-wide", for: "ps-type" }, h("span", {}, t("ps.type")), typeSelect),
      typeInfo,
      h("label", { class: "field", for: "ps-first" }, h("span", {}, t("ps.first")), first),
      h("label", { class: "field", for: "ps-last" }, h("span", {}, t("ps.last")), last)),
    h("fieldset", { class: "pass-photo-box" }, h("legend", {}, t("ps.photo")),
      h("div", { class: "row-actions" }, cameraBtn, shoot,
        h("label", { class: "btn", for: "ps-file" }, `🖼 ${t("ps.file")}`), fileInput, removePhoto),
      video, preview, noPhoto),
    formError, pay.element);

  function selectedType() {
    return types.find((x) => String(x.id) === typeSelect.value) || null;
  }

  function priceChanged() {
    const type = selectedType();
    pay.setTotal(type ? type.price_cents : 0);
    if (!type) {
      typeInfo.textContent = t("ps.noTypes");
      return;
    }
    const scope = type.valid_from
      ? t("ps.period", { from: dateTime(type.valid_from), until: dateTime(type.valid_until) })
      : t("ps.sessions", { n: type.session_ids.length });
    const max = type.max_sessions ? ` · ${t("ps.max", { n: type.max_sessions })}` : "";
    typeInfo.textContent = `${money(type.price_cents, type.currency)} · ${percent(type.tax_rate_bp)} · ${scope}${max}`;
  }

  function setPhoto(url) {
    photo = url;
    preview.hidden = !url;
    noPhoto.hidden = Boolean(url);
    removePhoto.hidden = !url;
    if (url) preview.src = url;
    else preview.removeAttribute("src");
    key = null; // another sale
  }

  async function startCamera() {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: 640 } });
    } catch (err) {
      notify(t("ps.cameraFailed", { error: err?.name || String(err) }));
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    shoot.hidden = false;
    cameraBtn.textContent = t("ps.stopCamera");
  }

  function stopCamera() {
    for (const track of stream?.getTracks() || []) track.stop();
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    shoot.hidden = true;
    cameraBtn.textContent = `📷 ${t("ps.camera")}`;
  }

  function shootPhoto() {
    if (!video.videoWidth) return;
    setPhoto(photoDataUrl(video, video.videoWidth, video.videoHeight));
    stopCamera();
  }

  async function photoFromFile() {
    const file = fileInput.files?.[0];
    if (!file) return;
    try {
      const url = await fileToPhoto(file);
      if (!url) throw new Error("too large");
      setPhoto(url);
    } catch {
      notify(t("ps.badImage"));
    } finally {
      fileInput.value = "";
    }
  }

  async function sell(payments) {
    const rs = ctx.registerSession();
    const type = selectedType();
    formError.hidden = true;
    if (!rs || !type) return;
    if (!first.value.trim() || !last.value.trim()) {
      formError.textContent = t("ps.needNames");
      formError.hidden = false;
      (first.value.trim() ? last : first).focus();
      return;
    }
    key = key || randomKey();
    pay.setBusy(true);
    try {
      const sold = await api("POST", `/api/register-sessions/${rs.id}/passes`, {
        idempotency_key: key, pass_type_id: type.id, holder_first_name: first.value.trim(),
        holder_last_name: last.value.trim(), photo: photo || undefined, payments,
      });
      key = null;
      first.value = "";
      last.value = "";
      setPhoto(null);
      pay.reset();
      await showSold(sold.pass, sold.receipt, type);
    } catch (err) {
      if (err.status !== 0 && err.status !== 503) key = null; // a network retry keeps its key
      pay.showError(errorText(err), err.code);
      notify(errorText(err));
    } finally {
      pay.setBusy(false);
    }
  }

  /** The receipt with the pass card: holder, photo, validity and the QR code of its code. */
  async function showSold(pass, receipt, type) {
    const qr = h("img", { class: "pass-qr", "data-testid": "pass-qr", alt: t("ps.qrAlt", { id: pass.id }) });
    try {
      const r = await fetch(`/api/passes/${pass.id}/code?format=svg`, { credentials: "same-origin" });
      if (r.ok) qr.src = URL.createObjectURL(await r.blob());
    } catch {
      // the code is printed as text below
    }
    const card = h("section", { class: "pass-card", "data-testid": "pass-card", "data-pass-id": pass.id },
      h("h2", {}, `${t("ps.card")} n° ${pass.id} · ${type?.name ?? ""}`),
      pass.holder.photo ? h("img", { class: "pass-photo", src: pass.holder.photo,
        alt: t("ps.photoOf", { name: pass.holder.name }) }) : null,
      h("p", {}, h("strong", {}, `${t("ps.holder")} : `), h("span", { "data-testid": "pass-holder" }, pass.holder.name)),
      h("p", {}, h("strong", {}, `${t("ps.validity")} : `),
        t("ps.period", { from: dateTime(pass.valid_from), until: dateTime(pass.valid_until) })),
      qr, h("p", { class: "pass-code small", "data-testid": "pass-code" }, pass.code));
    const paper = receiptPaper(ctx, receipt);
    paper.append(card);
    showDoc(ctx, { title: t("ps.sold", { id: pass.id }), paper });
  }

  // -- search and bookings ---------------------------------------------------------------------
  const query = h("input", { id: "ps-q", type: "search", "data-testid": "pass-query", maxlength: 100 });
  const statusSelect = h("select", { id: "ps-status", "data-testid": "pass-status-filter" },
    h("option", { value: "" }, t("ps.any")),
    ...["active", "refunded", "cancelled"].map((s) => h("option", { value: s }, t(`ps.st.${s}`))));
  const typeFilter = h("select", { id: "ps-type-filter", "data-testid": "pass-type-filter" });
  const results = h("ul", { class: "records", "data-testid": "pass-results" });
  const more = h("button", { type: "button", class: "btn btn-small", hidden: true,
    onclick: () => search(offset) }, t("ps.more"));
  const searchForm = h("form", { class: "form-grid", onsubmit: (e) => {
    e.preventDefault();
    search(0);
  } },
  h("label", { class: "field", for: "ps-q" }, h("span", {}, t("ps.query")), query),
  h("label", { class: "field", for: "ps-status" }, h("span", {}, t("ps.status")), statusSelect),
  h("label", { class: "field", for: "ps-type-filter" }, h("span", {}, t("ps.type")), typeFilter),
  h("button", { type: "submit", class: "btn btn-primary", "data-testid": "pass-search" }, t("ps.search")));

  const codeInput = h("input", { id: "ps-code", "data-testid": "pass-code-input", autocomplete: "off",
    spellcheck: "false", maxlength: 500 });
  const codeSession = sessionSelect("ps-code-session", "pass-code-session");
  const codeResult = h("div", { "data-testid": "pass-code-result", "aria-live": "polite" });
  // A wedge scanner types the code and Enter: the form's submit books.
  const codeForm = h("form", { class: "form-grid", onsubmit: (e) => {
    e.preventDefault();
    bookByCode();
  } },
  h("label", { class: "field", for: "ps-code-session" }, h("span", {}, t("ps.session")), codeSession),
  h("label", { class: "field field-wide", for: "ps-code" }, h("span", {}, t("ps.code")), codeInput),
  h("button", { type: "submit", class: "btn btn-primary", "data-testid": "pass-code-book" }, t("ps.bookIt")));

  function sessionSelect(id, testid) {
    return h("select", { id, "data-testid": testid });
  }

  function fillSessions(select) {
    const now = Date.now();
    const kept = select.value;
    select.replaceChildren(...sessions.filter((s) => Date.parse(s.ends_at) > now)
      .map((s) => h("option", { value: s.id }, sessionName(s.id))));
    if (kept) select.value = kept;
  }

  async function search(from) {
    const params = new URLSearchParams({ limit: "20", offset: String(from) });
    if (query.value.trim()) params.set("q", query.value.trim());
    if (statusSelect.value) params.set("status", statusSelect.value);
    if (typeFilter.value) params.set("pass_type_id", typeFilter.value);
    try {
      const page = await api("GET", `/api/passes?${params}`);
      const items = page.passes.map(resultItem);
      if (from === 0) results.replaceChildren(...(items.length ? items : [h("li", { class: "muted" }, t("ps.none"))]));
      else results.append(...items);
      offset = page.next_offset ?? 0;
      more.hidden = page.next_offset === null;
    } catch (err) {
      notify(errorText(err));
    }
  }

  function resultItem(p) {
    const box = h("div", { class: "pass-bookings", "data-testid": "pass-bookings" });
    const select = sessionSelect(`ps-s-${p.id}`, "pass-book-session");
    fillSessions(select);
    const book = h("form", { class: "row-actions", onsubmit: async (e) => {
      e.preventDefault();
      await bookOn(p.id, Number(select.value), box);
    } },
    h("label", { class: "inline-field", for: `ps-s-${p.id}` }, h("span", {}, t("ps.session")), select),
    h("button", { type: "submit", class: "btn btn-small", "data-testid": "pass-book" }, t("ps.book")));
    return h("li", { class: "record", "data-testid": "pass-result", "data-pass-id": p.id },
      h("div", { class: "record-head" },
        h("h3", {}, `n° ${p.id} · ${p.holder_name}`), statusTag(p.status)),
      h("p", { class: "small muted" }, [p.pass_type, t("ps.bookingsN", { n: p.bookings }),
        t("ps.period", { from: dateTime(p.valid_from), until: dateTime(p.valid_until) })].filter(Boolean).join(" · ")),
      p.status === "active" ? book : null, box);
  }

  function bookingText(body) {
    const b = body.booking;
    const seat = b.seat ? t("ps.seat", { seat: [b.row, b.seat].filter(Boolean).join("-") }) : "";
    return t(body.created ? "ps.booked" : "ps.already", { session: sessionName(b.session_id), seat });
  }

  /** The pass's bookings, read back (session, seat, entered or not). */
  async function showBookings(passId, box, message) {
    let pass;
    try {
      pass = await api("GET", `/api/passes/${passId}`);
    } catch (err) {
      box.replaceChildren(h("p", { role: "status" }, message), h("p", { class: "form-error" }, errorText(err)));
      return;
    }
    const items = pass.bookings.map((b) => h("li", { "data-testid": "pass-booking", "data-session-id": b.session_id },
      sessionName(b.session_id), b.seat ? ` · ${[b.row, b.seat].filter(Boolean).join("-")}` : "",
      b.entered_at ? ` · ✓ ${t("ps.entered")}` : ""));
    box.replaceChildren(h("p", { role: "status", "data-testid": "pass-booked" }, "✓ ", message),
      h("h4", {}, `${t("ps.bookings")} (${pass.holder.name})`),
      items.length ? h("ul", {}, items) : h("p", { class: "muted" }, t("ps.noBookings")));
  }

  async function bookOn(passId, sessionId, box) {
    if (!sessionId) return;
    try {
      const body = await api("POST", `/api/passes/${passId}/bookings`, { session_id: sessionId });
      await showBookings(passId, box, bookingText(body));
    } catch (err) {
      box.replaceChildren(h("p", { class: "form-error", role: "alert", "data-testid": "pass-book-error" },
        "✕ ", errorText(err)));
    }
  }

  async function bookByCode() {
    const code = codeInput.value.trim();
    const sessionId = Number(codeSession.value);
    if (!code || !sessionId) return;
    try {
      const body = await api("POST", "/api/pass-bookings", { code, session_id: sessionId });
      codeInput.value = "";
      await showBookings(body.pass_id, codeResult, bookingText(body));
    } catch (err) {
      codeResult.replaceChildren(h("p", { class: "form-error", role: "alert", "data-testid": "pass-book-error" },
        "✕ ", errorText(err)));
    }
    codeInput.focus();
  }

  root.replaceChildren(h("div", { class: "sell-layout" },
    h("div", {},
      h("section", { "aria-labelledby": "ps-code-title", class: "pass-code-box" },
        h("h2", { id: "ps-code-title" }, t("ps.byCode")), codeForm, codeResult),
      h("section", { "aria-labelledby": "ps-find-title" },
        h("h2", { id: "ps-find-title" }, t("ps.find")), searchForm, results, more)),
    h("aside", { class: "basket" }, sellBox)));

  async function load() {
    try {
      const [kinds, listed] = await Promise.all([api("GET", "/api/pass-types"),
        everything((p) => api("GET", p), "/api/sessions", "sessions")]);
      types = kinds.pass_types.filter((x) => x.currency === ctx.currency());
      sessions = listed.sessions;
    } catch (err) {
      notify(errorText(err));
    }
    typeSelect.replaceChildren(...types.map((x) => h("option", { value: x.id },
      `${x.name} · ${money(x.price_cents, x.currency)}`)));
    typeFilter.replaceChildren(h("option", { value: "" }, t("ps.any")),
      ...types.map((x) => h("option", { value: x.id }, x.name)));
    fillSessions(codeSession);
    priceChanged();
  }
  load();
  return { close: () => stopCamera(), reload: load };
}
