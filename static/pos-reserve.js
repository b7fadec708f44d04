// Unpaid reservations at the desk (stub, filled in next).
import { h } from "./dom.js";

export function reserveBox() {
  return { element: null, update() {} };
}

export function reservationFinder() {
  return h("div", {});
}
