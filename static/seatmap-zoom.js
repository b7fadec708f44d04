// Zoom and pan for the SVG seat map (seatmap.js, `new SeatMap(el, { zoom: true })`): the
// e-shop on a phone, where a whole room makes seats a few pixels wide.
//
// - the map's viewBox is narrowed, so the drawing stays sharp and seats stay the click
//   targets they are (no CSS transform to undo when hit-testing);
// - two fingers pinch (pointer events); one finger or the mouse drags once zoomed in; a tap
//   that turned into a drag does not click a seat;
// - Ctrl (or ⌘) + wheel zooms at the pointer, as a laptop's trackpad pinch arrives; the plain
//   wheel keeps scrolling the page (a map never traps the page's scroll);
// - buttons + / − / "whole room" for keyboard users, and a seat focused with the arrow keys
//   is brought into view;
// - the deepest zoom makes a seat at least MIN_SEAT_PX CSS pixels wide (tap targets).

import { register, t } from "./i18n.js";

register({
  fr: {
    "zoom.group": "Zoom du plan",
    "zoom.in": "Agrandir le plan",
    "zoom.out": "Réduire le plan",
    "zoom.reset": "Voir toute la salle",
    "zoom.level": "Zoom {percent} %",
  },
  en: {
    "zoom.group": "Map zoom",
    "zoom.in": "Zoom in",
    "zoom.out": "Zoom out",
    "zoom.reset": "Show the whole room",
    "zoom.level": "Zoom {percent}%",
  },
});

export const MIN_SEAT_PX = 28; // ≥ 24 CSS px (WCAG 2.5.8), with a margin
const STEP = 1.6;
const DRAG_PX = 6; // a tap moves less than this

export class SeatZoom {
  /** `svg`: the map's root element; `seatUnits`: a seat's diameter in viewBox units. */
  constructor(svg, container, seatUnits, onChange = () => {}) {
    this.svg = svg;
    this.container = container;
    this.seatUnits = seatUnits;
    this.onChange = onChange;
    const [x, y, w, h] = svg.getAttribute("viewBox").split(/\s+/).map(Number);
    this.base = { x, y, w, h };
    this.view = { ...this.base };
    this.scale = 1;
    this.pointers = new Map();
    this.gesture = null;
    this.dragged = false;
    this.controls = this._controls();
    container.prepend(this.controls);
    svg.classList.add("zoomable");
    this._wire();
    this._render();
  }

  /** The deepest zoom: a seat is then at least MIN_SEAT_PX wide, and never less than 4×. */
  maxScale() {
    const width = this.svg.getBoundingClientRect().width || 1;
    const seatPx = (this.seatUnits * width) / this.base.w;
    return Math.min(40, Math.max(4, MIN_SEAT_PX / Math.max(seatPx, 0.5)));
  }

  zoomBy(factor, clientX, clientY) {
    const box = this.svg.getBoundingClientRect();
    const cx = clientX ?? box.left + box.width / 2;
    const cy = clientY ?? box.top + box.height / 2;
    this.setScale(this.scale * factor, cx, cy);
  }

  /** Zoom to `scale`, keeping the drawing's point under (clientX, clientY) where it is. */
  setScale(scale, clientX, clientY) {
    const next = Math.min(this.maxScale(), Math.max(1, scale));
    const p = this._toSvg(clientX, clientY);
    const k = this.scale / next;
    const w = this.base.w / next, h = this.base.h / next;
    this.view = { x: p.x - (p.x - this.view.x) * k, y: p.y - (p.y - this.view.y) * k, w, h };
    this.scale = next;
    this._render();
  }

  reset() {
    this.scale = 1;
    this.view = { ...this.base };
    this._render();
  }

  /** Pan by a distance in CSS pixels (a drag). */
  panBy(dx, dy) {
    const perPx = this.view.w / (this.svg.getBoundingClientRect().width || 1);
    this.view.x -= dx * perPx;
    this.view.y -= dy * perPx;
    this._render();
  }

  /** Bring a point of the drawing (a focused seat) into view. */
  reveal(x, y, margin) {
    if (this.scale === 1) return;
    const v = this.view;
    if (x - margin < v.x) v.x = x - margin;
    if (x + margin > v.x + v.w) v.x = x + margin - v.w;
    if (y - margin < v.y) v.y = y - margin;
    if (y + margin > v.y + v.h) v.y = y + margin - v.h;
    this._render();
  }

  _toSvg(clientX, clientY) {
    const ctm = this.svg.getScreenCTM();
    if (!ctm) return { x: this.view.x + this.view.w / 2, y: this.view.y + this.view.h / 2 };
    return new DOMPoint(clientX, clientY).matrixTransform(ctm.inverse());
  }

  _render() {
    const { base, view } = this;
    view.x = Math.min(Math.max(view.x, base.x), base.x + base.w - view.w);
    view.y = Math.min(Math.max(view.y, base.y), base.y + base.h - view.h);
    this.svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
    this.svg.classList.toggle("zoomed", this.scale > 1.001);
    this.svg.dataset.zoom = this.scale.toFixed(2);
    const [out, , reset] = this.controls.querySelectorAll("button");
    const inButton = this.controls.querySelector("[data-zoom='in']");
    out.disabled = this.scale <= 1.001;
    reset.disabled = this.scale <= 1.001;
    inButton.disabled = this.scale >= this.maxScale() - 0.001;
    this.level.textContent = t("zoom.level", { percent: Math.round(this.scale * 100) });
    this.onChange();
  }

  _controls() {
    const button = (key, text, label, action) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "btn btn-small";
      b.textContent = text;
      b.dataset.zoom = key;
      b.setAttribute("data-testid", `zoom-${key}`);
      b.setAttribute("aria-label", label);
      b.title = label;
      b.addEventListener("click", action);
      return b;
    };
    const box = document.createElement("div");
    box.className = "seatmap-zoom";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", t("zoom.group"));
    this.level = document.createElement("span");
    this.level.className = "sr-only";
    this.level.setAttribute("aria-live", "polite");
    box.append(
      button("out", "−", t("zoom.out"), () => this.zoomBy(1 / STEP)),
      button("in", "+", t("zoom.in"), () => this.zoomBy(STEP)),
      button("reset", "⤢", t("zoom.reset"), () => this.reset()),
      this.level,
    );
    return box;
  }

  _wire() {
    const svg = this.svg;
    svg.addEventListener("wheel", (e) => {
      if (!e.ctrlKey && !e.metaKey) return; // the page scrolls
      e.preventDefault();
      this.zoomBy(Math.exp(-e.deltaY / 200), e.clientX, e.clientY);
    }, { passive: false });
    svg.addEventListener("pointerdown", (e) => this._down(e));
    svg.addEventListener("pointermove", (e) => this._move(e));
    for (const type of ["pointerup", "pointercancel"]) {
      svg.addEventListener(type, (e) => this._up(e));
    }
    // A drag or a pinch is not a tap: its click never reaches a seat.
    svg.addEventListener("click", (e) => {
      if (!this.dragged) return;
      this.dragged = false;
      e.stopImmediatePropagation();
      e.preventDefault();
    }, true);
  }

  _down(e) {
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    this.dragged = false;
    if (this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()];
      this.gesture = { kind: "pinch", dist: Math.hypot(a.x - b.x, a.y - b.y) || 1, scale: this.scale };
    } else {
      this.gesture = { kind: "tap", x: e.clientX, y: e.clientY };
    }
  }

  _move(e) {
    const last = this.pointers.get(e.pointerId);
    if (!last || !this.gesture) return;
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    const g = this.gesture;
    if (g.kind === "pinch" && this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()];
      const dist = Math.hypot(a.x - b.x, a.y - b.y);
      this.dragged = true;
      this.setScale(g.scale * (dist / g.dist), (a.x + b.x) / 2, (a.y + b.y) / 2);
      e.preventDefault();
      return;
    }
    if (g.kind === "tap" && this.scale > 1.001
        && Math.hypot(e.clientX - g.x, e.clientY - g.y) > DRAG_PX) {
      g.kind = "pan";
      this.dragged = true;
      this.svg.setPointerCapture?.(e.pointerId);
    }
    if (g.kind === "pan") {
      this.panBy(e.clientX - last.x, e.clientY - last.y);
      e.preventDefault();
    }
  }

  _up(e) {
    this.pointers.delete(e.pointerId);
    if (this.pointers.size === 0) this.gesture = null;
    else if (this.gesture?.kind === "pinch") this.gesture = { kind: "pan-end" };
  }
}
