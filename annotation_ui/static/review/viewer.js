// One photo in an SVG whose user space is the photo's ORIGINAL pixels: the review image
// is stretched to width x height, so every coordinate read from or written to the SVG is
// an original-pixel coordinate at any zoom. Zoom and pan change only the viewBox; the
// image element is never touched again, so the image is never reloaded.

import { h, s } from "./dom.js";
import { acceptsShortcut } from "./keyboard.js";

const MAX_ZOOM = 40; // times the fitted view
const MIN_ZOOM = 0.5;
const KEY_ZOOM = 1.25;
const KEY_PAN = 0.1; // of the visible span
const WHEEL_SENSITIVITY = 0.0015;

export class Viewer extends EventTarget {
  /**
   * @param {SVGSVGElement} svg an empty <svg> in the page
   * @param {{width: number, height: number, href: string}} photo original size and image URL
   */
  constructor(svg, { width, height, href }) {
    super();
    this.svg = svg;
    this.width = width;
    this.height = height;
    this.image = s("image", { href, x: 0, y: 0, width, height, preserveAspectRatio: "none" });
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    svg.append(this.image);
    this.box = { x: 0, y: 0, w: width, h: height };
    this.panGesture = null;
    this.apply(false);
    new ResizeObserver(() => this.updateUnit()).observe(svg);
  }

  /** A new <g> drawn above the image and the layers made before it. */
  layer(className) {
    const group = s("g", { class: className });
    this.svg.append(group);
    return group;
  }

  /** How much of the photo is visible, as a zoom factor relative to the fitted view. */
  get zoom() {
    return Math.min(this.width / this.box.w, this.height / this.box.h);
  }

  /** Image pixels per screen pixel (the "meet" fit uses the larger ratio). */
  unitsPerPixel() {
    const { clientWidth, clientHeight } = this.svg;
    if (!clientWidth || !clientHeight) return 1;
    return Math.max(this.box.w / clientWidth, this.box.h / clientHeight);
  }

  updateUnit() {
    // Stroke widths, marker sizes and label fonts in review.css multiply by --u.
    this.svg.style.setProperty("--u", String(this.unitsPerPixel()));
  }

  /**
   * Show `box` (in image pixels), within the zoom limits.
   * byUser marks changes the user made here; linked viewers follow only those,
   * so a follower's own update never echoes back to its leader.
   */
  setViewBox(box, { byUser = false } = {}) {
    const zoom = Math.min(this.width / box.w, this.height / box.h);
    const limited = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, zoom));
    const scale = zoom / limited;
    const w = box.w * scale;
    const h = box.h * scale;
    const cx = clamp(box.x + box.w / 2, 0, this.width);
    const cy = clamp(box.y + box.h / 2, 0, this.height);
    this.box = { x: cx - w / 2, y: cy - h / 2, w, h };
    this.apply(byUser);
  }

  apply(byUser) {
    const { x, y, w, h } = this.box;
    this.svg.setAttribute("viewBox", [x, y, w, h].map((n) => round(n)).join(" "));
    this.updateUnit();
    this.dispatchEvent(new CustomEvent("viewchange", { detail: { box: { ...this.box }, byUser } }));
  }

  /** Zoom by `factor` keeping the image point (cx, cy) where it is on screen. */
  zoomBy(factor, center = null, options = {}) {
    const { x, y, w, h } = this.box;
    const cx = center ? center.x : x + w / 2;
    const cy = center ? center.y : y + h / 2;
    const nw = w / factor;
    const nh = h / factor;
    const box = { x: cx - ((cx - x) / w) * nw, y: cy - ((cy - y) / h) * nh, w: nw, h: nh };
    this.setViewBox(box, options);
  }

  /** Move the view by a fraction of the visible span. */
  panByFraction(fx, fy, options = {}) {
    const { x, y, w, h } = this.box;
    this.setViewBox({ x: x + fx * w, y: y + fy * h, w, h }, options);
  }

  fit(options = {}) {
    this.setViewBox({ x: 0, y: 0, w: this.width, h: this.height }, options);
  }

  /** The image-pixel point under a screen position. */
  toImage(clientX, clientY) {
    const point = new DOMPoint(clientX, clientY).matrixTransform(this.svg.getScreenCTM().inverse());
    return { x: point.x, y: point.y };
  }

  /** The point clamped into the photo (annotations never leave it). */
  toImageInside(clientX, clientY) {
    const p = this.toImage(clientX, clientY);
    return { x: clamp(p.x, 0, this.width), y: clamp(p.y, 0, this.height) };
  }

  /**
   * Wheel zoom, drag-to-pan, and zoom/pan keys while the SVG has focus.
   * panWith(event) says whether a pointer press pans; other presses go to onPointer.
   */
  enableNavigation({ panWith = () => true, onPointer = null } = {}) {
    const svg = this.svg;
    svg.addEventListener("wheel", (event) => this.onWheel(event), { passive: false });
    svg.addEventListener("pointerdown", (event) => {
      svg.focus({ preventScroll: true });
      if (panWith(event)) this.startPan(event);
      else onPointer?.("down", event);
    });
    svg.addEventListener("pointermove", (event) => {
      if (this.panGesture) this.continuePan(event);
      else onPointer?.("move", event);
    });
    const finish = (event) => {
      if (this.panGesture) this.endPan(event);
      else onPointer?.("up", event);
    };
    svg.addEventListener("pointerup", finish);
    svg.addEventListener("pointercancel", finish);
    svg.addEventListener("dblclick", (event) => onPointer?.("dblclick", event));
    svg.addEventListener("keydown", (event) => this.onKey(event));
  }

  onWheel(event) {
    event.preventDefault();
    const factor = Math.exp(-event.deltaY * WHEEL_SENSITIVITY);
    this.zoomBy(factor, this.toImage(event.clientX, event.clientY), { byUser: true });
  }

  startPan(event) {
    this.svg.setPointerCapture(event.pointerId);
    this.svg.classList.add("panning");
    this.panGesture = { x: event.clientX, y: event.clientY };
  }

  continuePan(event) {
    const unit = this.unitsPerPixel();
    const dx = (event.clientX - this.panGesture.x) * unit;
    const dy = (event.clientY - this.panGesture.y) * unit;
    this.panGesture = { x: event.clientX, y: event.clientY };
    const { x, y, w, h } = this.box;
    this.setViewBox({ x: x - dx, y: y - dy, w, h }, { byUser: true });
  }

  endPan(event) {
    if (this.svg.hasPointerCapture(event.pointerId)) this.svg.releasePointerCapture(event.pointerId);
    this.svg.classList.remove("panning");
    this.panGesture = null;
  }

  onKey(event) {
    const pans = { ArrowLeft: [-KEY_PAN, 0], ArrowRight: [KEY_PAN, 0], ArrowUp: [0, -KEY_PAN], ArrowDown: [0, KEY_PAN] };
    if (event.key in pans && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      this.panByFraction(...pans[event.key], { byUser: true });
      return;
    }
    if (!acceptsShortcut(event)) return;
    const actions = {
      "+": () => this.zoomBy(KEY_ZOOM, null, { byUser: true }),
      "=": () => this.zoomBy(KEY_ZOOM, null, { byUser: true }),
      "-": () => this.zoomBy(1 / KEY_ZOOM, null, { byUser: true }),
      0: () => this.fit({ byUser: true }),
    };
    if (event.key in actions) {
      event.preventDefault();
      actions[event.key]();
    }
  }
}

/** Zoom-in, zoom-out and fit buttons for a viewer, with a readout of the zoom. */
export function zoomControls(viewer) {
  const readout = h("span", { class: "hint" });
  const show = () => {
    readout.textContent = `Zoom ${Math.round(viewer.zoom * 100)}%`;
  };
  viewer.addEventListener("viewchange", show);
  show();
  const button = (text, label, action) =>
    h("button", { type: "button", "aria-label": label, onclick: () => action() }, text);
  return [
    button("+", "Zoom in", () => viewer.zoomBy(KEY_ZOOM, null, { byUser: true })),
    button("−", "Zoom out", () => viewer.zoomBy(1 / KEY_ZOOM, null, { byUser: true })),
    button("Fit", "Fit the photo", () => viewer.fit({ byUser: true })),
    readout,
  ];
}

function clamp(value, low, high) {
  return Math.max(low, Math.min(high, value));
}

function round(value) {
  return Math.round(value * 100) / 100;
}
