// A small, reusable SVG seat-map renderer (e-shop, cash desk...).
//
//   const map = new SeatMap(containerElement, { onSeatClick: (seat, stateName) => ... });
//   map.load(await (await fetch(`/api/sessions/${id}/seat-map`)).json());
//   map.applySnapshot("0012...");         // one digit per seat (wire order)
//   map.applyChanges([[index, state]]);   // from a delta
//   map.setMine(["hall-A-3"]);            // seats of this client's own hold
//   map.setPicked(["hall-A-9"]);          // blocked seats this client chose (desk overbooking)
//   map.setClickable(["free", "mine", "picked", "unavailable"]);  // states offered to a tap
//
// Every seat is an SVG element with data-seat-id, data-index, data-state
// (free | mine | held | sold | unavailable | picked) and data-testid="seat". Accessible seats are
// drawn as rounded squares, the others as circles; the free seats' outline is the colour
// of their category. Sold, unavailable, mine and picked seats carry a mark (GLYPHS) and held
// ones stripes, so no state is told by colour alone. The map supports the keyboard: arrows move between seats, Enter or
// Space clicks the focused seat.

import { PROTOCOL } from "./protocol.js";
import { register, t } from "./i18n.js";
import { SeatZoom } from "./seatmap-zoom.js";

const S = PROTOCOL.SEAT_STATE;
const SVG_NS = "http://www.w3.org/2000/svg";

export const STATE_NAMES = Object.freeze({
  [S.FREE]: "free",
  [S.HELD]: "held",
  [S.SOLD]: "sold",
  [S.UNAVAILABLE]: "unavailable",
});

register({
  fr: {
    "seat.free": "disponible",
    "seat.mine": "dans votre panier",
    "seat.held": "retenue par un autre acheteur",
    "seat.sold": "vendue",
    "seat.unavailable": "indisponible",
    "seat.picked": "bloquée, choisie pour la surréservation",
    "seat.name": "Rang {row} · Place {label}",
    "seat.aria": "Rang {row}, place {label}, {category} : {state}",
    "seat.wheelchair": "Accessible en fauteuil roulant",
    "seat.map": "Plan de salle",
  },
  en: {
    "seat.free": "available",
    "seat.mine": "in your basket",
    "seat.held": "held by another buyer",
    "seat.sold": "sold",
    "seat.unavailable": "not available",
    "seat.picked": "blocked, chosen for overbooking",
    "seat.name": "Row {row} · Seat {label}",
    "seat.aria": "Row {row}, seat {label}, {category}: {state}",
    "seat.wheelchair": "Wheelchair accessible",
    "seat.map": "Seat map",
  },
});

/** A seat state in words ("free", "mine", "held", "sold", "unavailable", "picked"), in the page's
 * language. */
export const stateLabel = (state) => t(`seat.${state}`);

/** The mark drawn over a seat, so that no state is told by colour alone (the legend's swatches
 * carry the same marks, style.css): sold ×, unavailable −, mine and picked ✓; a seat held by
 * another buyer is striped (its fill pattern); a free seat is plain. */
export const GLYPHS = Object.freeze({
  sold: "cross", unavailable: "bar", mine: "check", picked: "check",
});

function glyphPath(kind, x, y, r) {
  const k = r * 0.5;
  if (kind === "cross") return `M${x - k} ${y - k}L${x + k} ${y + k}M${x + k} ${y - k}L${x - k} ${y + k}`;
  if (kind === "bar") return `M${x - k * 1.25} ${y}L${x + k * 1.25} ${y}`;
  return `M${x - k} ${y + k * 0.05}L${x - k * 0.3} ${y + k * 0.7}L${x + k} ${y - k * 0.65}`;
}

const MAX_RADIUS = 8;

/** A seat radius that suits the plan's spacing (median nearest-neighbour distance). */
function seatRadius(seats) {
  if (seats.length < 2) return MAX_RADIUS;
  const step = Math.max(1, Math.floor(seats.length / 150));
  const nearest = [];
  for (let i = 0; i < seats.length; i += step) {
    let best = Infinity;
    for (const b of seats) {
      if (b === seats[i]) continue;
      const d = Math.hypot(b.x - seats[i].x, b.y - seats[i].y);
      if (d > 0 && d < best) best = d;
    }
    if (best < Infinity) nearest.push(best);
  }
  nearest.sort((a, b) => a - b);
  const median = nearest[Math.floor(nearest.length / 2)] || 20;
  return Math.round(Math.max(2, Math.min(MAX_RADIUS, median * 0.4)) * 100) / 100;
}

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

export class SeatMap extends EventTarget {
  constructor(container, options = {}) {
    super();
    this.container = container;
    this.onSeatClick = options.onSeatClick || null;
    this.label = options.label || t("seat.map");
    this.tooltipExtra = options.tooltipExtra || null; // (seat, stateName) => string
    this.zoomable = Boolean(options.zoom); // pinch, Ctrl+wheel, +/− buttons (seatmap-zoom.js)
    this.zoom = null;
    this.seats = [];
    this.byId = new Map();
    this.states = new Uint8Array(0);
    this.mine = new Set(); // seat indices
    this.pending = new Set();
    this.picked = new Set(); // unavailable (blocked) seats chosen by this client: overbooking
    this.clickable = new Set(["free", "mine"]); // states announced as actionable (aria-disabled)
    this.elements = [];
    this.svg = null;
    this.tooltip = null;
    this.tooltipIndex = -1;
    this.focusIndex = -1;
  }

  // -- building -------------------------------------------------------------------------------

  load(map) {
    this.container.replaceChildren();
    this.seats = map.seats.map(([id, label, row, zone, category, x, y, accessible], index) => ({
      index, id, label, row, zone, category, x, y, accessible,
    }));
    this.byId = new Map(this.seats.map((s) => [s.id, s.index]));
    this.multiZone = new Set(this.seats.map((s) => s.zone)).size > 1;
    this.states = new Uint8Array(this.seats.length);
    this.mine = new Set([...this.mine].filter((i) => i < this.seats.length));
    this.picked = new Set([...this.picked].filter((i) => i < this.seats.length));
    const colours = new Map((map.categories || []).map((c) => [c.name, c.color]));
    this.categories = map.categories || [];
    const { width, height } = map.size || { width: 100, height: 100 };

    const root = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      class: "seatmap-svg",
      role: "group",
      "aria-label": this.label,
      "data-testid": "seat-map",
      preserveAspectRatio: "xMidYMin meet",
    });
    root.style.aspectRatio = `${width} / ${height}`;
    const defs = svg("defs");
    const pattern = svg("pattern", {
      id: "seat-held-pattern",
      patternUnits: "userSpaceOnUse",
      width: 4,
      height: 4,
      patternTransform: "rotate(45)",
    });
    pattern.append(svg("rect", { width: 4, height: 4, class: "seat-held-bg" }));
    pattern.append(svg("rect", { width: 2, height: 4, class: "seat-held-stripe" }));
    defs.append(pattern);
    root.append(defs);

    const RADIUS = seatRadius(this.seats);
    this.radius = RADIUS;
    const fontSize = (RADIUS * 1.15).toFixed(1);
    if (this.seats.length) {
      let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
      for (const s of this.seats) {
        minX = Math.min(minX, s.x); maxX = Math.max(maxX, s.x);
        minY = Math.min(minY, s.y); maxY = Math.max(maxY, s.y);
      }
      // The stage/screen is at the top of the plan (small y).
      const stageY = minY - 4.25 * RADIUS;
      // Crop the drawing to the seats, the row labels and the stage.
      const left = minX - 4.25 * RADIUS, top = stageY - RADIUS;
      const w = maxX - left + 2 * RADIUS, hgt = maxY - top + 2 * RADIUS;
      root.setAttribute("viewBox", `${left} ${top} ${w} ${hgt}`);
      root.style.aspectRatio = `${w} / ${hgt}`;
      const stage = svg("g", { class: "seatmap-stage", "aria-hidden": "true" });
      stage.append(svg("rect", {
        x: minX - RADIUS, y: stageY, width: maxX - minX + 2 * RADIUS, height: 1.75 * RADIUS,
        rx: RADIUS / 3,
      }));
      const stageText = svg("text", {
        x: (minX + maxX) / 2, y: stageY + 1.3 * RADIUS, "font-size": fontSize,
      });
      stageText.textContent = "STAGE";
      stage.append(stageText);
      root.append(stage);

      // Row labels, left of the first seat of each row (per zone).
      const rows = new Map();
      for (const s of this.seats) {
        const key = `${s.zone}\u0000${s.row}`;
        const r = rows.get(key);
        if (!r || s.x < r.x) rows.set(key, { x: s.x, y: s.y, row: s.row });
      }
      const labels = svg("g", { class: "seatmap-rows", "aria-hidden": "true" });
      for (const r of rows.values()) {
        const t = svg("text", {
          x: r.x - 1.6 * RADIUS, y: r.y + 0.42 * RADIUS, "font-size": fontSize,
        });
        t.textContent = r.row;
        labels.append(t);
      }
      root.append(labels);
    }

    const group = svg("g", { class: "seatmap-seats" });
    this.elements = this.seats.map((s) => {
      const el = s.accessible
        ? svg("rect", {
          x: s.x - RADIUS, y: s.y - RADIUS, width: 2 * RADIUS, height: 2 * RADIUS,
          rx: RADIUS / 3,
        })
        : svg("circle", { cx: s.x, cy: s.y, r: RADIUS });
      el.setAttribute("class", "seat");
      el.style.setProperty("--sw", (RADIUS / 5).toFixed(2));
      el.setAttribute("data-testid", "seat");
      el.setAttribute("data-seat-id", s.id);
      el.setAttribute("data-index", String(s.index));
      el.setAttribute("role", "button");
      el.setAttribute("tabindex", "-1");
      const colour = colours.get(s.category);
      if (colour) el.style.setProperty("--cat", colour);
      group.append(el);
      return el;
    });
    root.append(group);
    this.glyphLayer = svg("g", { class: "seatmap-glyphs", "aria-hidden": "true" });
    this.glyphs = new Array(this.seats.length).fill(null);
    root.append(this.glyphLayer);
    this.svg = root;
    this.tooltip = document.createElement("div");
    this.tooltip.className = "seat-tooltip";
    this.tooltip.setAttribute("role", "tooltip");
    this.tooltip.hidden = true;
    this.container.append(root, this.tooltip);
    for (let i = 0; i < this.seats.length; i++) this._paint(i);
    if (this.seats.length) this._setFocusable(0);
    this._wire(root);
    this.zoom = this.zoomable
      ? new SeatZoom(root, this.container, 2 * RADIUS, () => this._hideTooltip())
      : null;
  }

  _wire(root) {
    root.addEventListener("click", (e) => {
      const i = this._indexOf(e.target);
      if (i >= 0) this._click(i);
    });
    // A finger's tap would leave the tooltip over the seats around: only a hovering mouse (or
    // pen) and the keyboard's focus show it.
    root.addEventListener("pointerover", (e) => {
      const i = this._indexOf(e.target);
      if (i >= 0 && e.pointerType !== "touch") this._showTooltip(i);
    });
    root.addEventListener("pointerdown", (e) => {
      if (e.pointerType === "touch") this._hideTooltip();
    });
    root.addEventListener("pointerout", (e) => {
      if (this._indexOf(e.target) >= 0) this._hideTooltip();
    });
    root.addEventListener("focusin", (e) => {
      const i = this._indexOf(e.target);
      if (i < 0) return;
      this._setFocusable(i);
      const seat = this.seats[i];
      this.zoom?.reveal(seat.x, seat.y, 3 * this.radius);
      if (e.target.matches(":focus-visible")) this._showTooltip(i); // not after a tap
    });
    root.addEventListener("focusout", () => this._hideTooltip());
    root.addEventListener("keydown", (e) => {
      const i = this._indexOf(e.target);
      if (i < 0) return;
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        this._click(i);
        return;
      }
      const dirs = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      const d = dirs[e.key];
      if (!d) return;
      e.preventDefault();
      const next = this._neighbour(i, d[0], d[1]);
      if (next >= 0) this.elements[next].focus();
    });
  }

  _indexOf(target) {
    if (!(target instanceof Element) || !target.classList.contains("seat")) return -1;
    return Number(target.getAttribute("data-index"));
  }

  _click(i) {
    if (this.onSeatClick) this.onSeatClick(this.seats[i], this.stateName(i));
  }

  _setFocusable(i) {
    if (this.focusIndex >= 0 && this.elements[this.focusIndex]) {
      this.elements[this.focusIndex].setAttribute("tabindex", "-1");
    }
    this.focusIndex = i;
    this.elements[i].setAttribute("tabindex", "0");
  }

  /** Nearest seat in a direction, preferring seats in line with the current one. */
  _neighbour(i, dx, dy) {
    const a = this.seats[i];
    let best = -1, bestScore = Infinity;
    for (const b of this.seats) {
      const ex = b.x - a.x, ey = b.y - a.y;
      const along = ex * dx + ey * dy;
      if (along <= 0.5) continue;
      const across = Math.abs(ex * dy) + Math.abs(ey * dx);
      const score = along + across * 3;
      if (score < bestScore) {
        bestScore = score;
        best = b.index;
      }
    }
    return best;
  }

  _showTooltip(i) {
    this.tooltipIndex = i;
    const seat = this.seats[i];
    const state = this.stateName(i);
    const name = t("seat.name", { row: seat.row, label: seat.label });
    const lines = [`${this.multiZone ? `${seat.zone} · ` : ""}${name}`, `${seat.category} · ${stateLabel(state)}`];
    if (seat.accessible) lines.push(t("seat.wheelchair"));
    const extra = this.tooltipExtra ? this.tooltipExtra(seat, state) : "";
    if (extra) lines.push(extra);
    this.tooltip.textContent = lines.join("\n");
    this.tooltip.hidden = false;
    const box = this.elements[i].getBoundingClientRect();
    const host = this.container.getBoundingClientRect();
    let left = box.left - host.left + box.width / 2;
    const half = 90;
    left = Math.min(Math.max(left, half), Math.max(host.width - half, half));
    this.tooltip.style.left = `${left}px`;
    this.tooltip.style.top = `${box.top - host.top + this.container.scrollTop}px`;
  }

  _hideTooltip() {
    if (this.tooltip) this.tooltip.hidden = true;
    this.tooltipIndex = -1;
  }

  // -- states ---------------------------------------------------------------------------------

  indexOf(seatId) {
    return this.byId.has(seatId) ? this.byId.get(seatId) : -1;
  }

  seat(index) {
    return this.seats[index];
  }

  stateName(index) {
    const code = this.states[index];
    if (code === S.HELD && this.mine.has(index)) return "mine";
    if (code === S.UNAVAILABLE && this.picked.has(index)) return "picked";
    return STATE_NAMES[code] || "unavailable";
  }

  stateOf(seatId) {
    const i = this.indexOf(seatId);
    return i < 0 ? null : this.stateName(i);
  }

  applySnapshot(states) {
    const n = Math.min(states.length, this.states.length);
    for (let i = 0; i < n; i++) {
      const code = states.charCodeAt(i) - 48;
      if (this.states[i] !== code) {
        this.states[i] = code;
        this._paint(i);
      }
    }
    this._changed();
  }

  applyChanges(pairs) {
    for (const [index, code] of pairs) {
      if (index < 0 || index >= this.states.length) continue;
      this.states[index] = code;
      this._paint(index);
    }
    this._changed();
  }

  /** The seats of this client's own hold (ids or indices); they show as "mine" while held. */
  setMine(seats) {
    const next = new Set();
    for (const s of seats) {
      const i = typeof s === "number" ? s : this.indexOf(s);
      if (i >= 0) next.add(i);
    }
    const touched = new Set([...this.mine, ...next]);
    this.mine = next;
    for (const i of touched) this._paint(i);
    this._changed();
  }

  /** Blocked seats this client chose (ids); they show as "picked" while still blocked. */
  setPicked(seats) {
    const next = new Set(seats.map((s) => this.indexOf(s)).filter((i) => i >= 0));
    const touched = new Set([...this.picked, ...next]);
    this.picked = next;
    for (const i of touched) this._paint(i);
    this._changed();
  }

  /** The states a tap acts on (the others are announced as disabled). */
  setClickable(states) {
    this.clickable = new Set(states);
    for (let i = 0; i < this.seats.length; i++) this._paint(i, true);
  }

  /** Mark a seat as waiting for the server (a request is in flight). */
  setPending(seatId, pending) {
    const i = this.indexOf(seatId);
    if (i < 0) return;
    if (pending) this.pending.add(i);
    else this.pending.delete(i);
    this.elements[i]?.classList.toggle("pending", pending);
  }

  counts() {
    const c = { free: 0, mine: 0, held: 0, sold: 0, unavailable: 0, picked: 0 };
    for (let i = 0; i < this.states.length; i++) c[this.stateName(i)] += 1;
    return c;
  }

  _paint(i, force = false) {
    const el = this.elements[i];
    if (!el) return;
    const state = this.stateName(i);
    if (!force && el.getAttribute("data-state") === state) return;
    el.setAttribute("data-state", state);
    const seat = this.seats[i];
    this._glyph(i, seat, state);
    const zone = this.multiZone ? `${seat.zone}, ` : "";
    el.setAttribute("aria-label", zone + t("seat.aria",
      { row: seat.row, label: seat.label, category: seat.category, state: stateLabel(state) }));
    el.setAttribute("aria-pressed", state === "mine" || state === "picked" ? "true" : "false");
    el.setAttribute("aria-disabled", this.clickable.has(state) ? "false" : "true");
    if (this.tooltipIndex === i && this.tooltip && !this.tooltip.hidden) this._showTooltip(i);
  }

  _glyph(i, seat, state) {
    const kind = GLYPHS[state] || null;
    let mark = this.glyphs[i];
    if (!kind) {
      if (mark) mark.remove();
      this.glyphs[i] = null;
      return;
    }
    if (!mark) {
      mark = svg("path", { class: "seat-glyph", "data-testid": "seat-glyph" });
      mark.style.setProperty("--sw", (this.radius / 3).toFixed(2));
      this.glyphLayer.append(mark);
      this.glyphs[i] = mark;
    }
    mark.setAttribute("data-seat-id", seat.id);
    mark.setAttribute("data-glyph", kind);
    mark.setAttribute("data-state", state);
    mark.setAttribute("d", glyphPath(kind, seat.x, seat.y, this.radius));
  }

  _changed() {
    this.dispatchEvent(new Event("change"));
  }
}
