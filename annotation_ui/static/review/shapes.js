// Shapes are plain objects in original-pixel coordinates, one kind per tool:
//   rectangle {x, y, w, h}          ellipse {cx, cy, rx, ry}
//   polygon / freehand {points: [[x, y], ...]}
//   point / text {cx, cy}           arrow / ruler / calibrate {x1, y1, x2, y2}
// This module draws them in SVG and moves them; it knows nothing of the API.

import { s } from "./dom.js";

function pointsText(points) {
  return points.map(([x, y]) => `${x},${y}`).join(" ");
}

/** The marker definitions one SVG needs, with ids unique to that SVG. */
export function markerDefs(prefix) {
  const arrow = s(
    "marker",
    {
      id: `${prefix}-arrow`,
      viewBox: "0 0 10 10",
      refX: 9,
      refY: 5,
      markerWidth: 5,
      markerHeight: 5,
      orient: "auto-start-reverse",
    },
    s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }),
  );
  const tick = s(
    "marker",
    { id: `${prefix}-tick`, viewBox: "0 0 2 10", refX: 1, refY: 5, markerWidth: 1, markerHeight: 5, orient: "auto" },
    s("rect", { x: 0, y: 0, width: 2, height: 10, class: "arrow-head" }),
  );
  return { defs: s("defs", {}, arrow, tick), arrow: `url(#${prefix}-arrow)`, tick: `url(#${prefix}-tick)` };
}

/** The SVG element that draws a shape (class "shape", or "marker" for point-like ones). */
export function shapeElement(shape, markers) {
  switch (shape.tool) {
    case "rectangle":
      return s("rect", { class: "shape", x: shape.x, y: shape.y, width: shape.w, height: shape.h });
    case "ellipse":
      return s("ellipse", { class: "shape", cx: shape.cx, cy: shape.cy, rx: shape.rx, ry: shape.ry });
    case "polygon":
      return s("polygon", { class: "shape", points: pointsText(shape.points) });
    case "freehand":
      return s("polyline", { class: "shape open", points: pointsText(shape.points) });
    case "point":
    case "text":
      return s("circle", { class: "marker", cx: shape.cx, cy: shape.cy });
    case "arrow":
      return lineElement(shape, { "marker-end": markers.arrow });
    case "ruler":
    case "calibrate":
      return lineElement(shape, { "marker-start": markers.tick, "marker-end": markers.tick });
    default:
      throw new Error(`Unknown tool ${shape.tool}`);
  }
}

function lineElement(shape, extra) {
  const { x1, y1, x2, y2 } = shape;
  return s("line", { class: "shape", x1, y1, x2, y2, ...extra });
}

/** Where a shape's label sits: above its top, or beside a point. */
function labelAnchor(shape) {
  switch (shape.tool) {
    case "rectangle":
      return { x: shape.x, y: shape.y };
    case "ellipse":
      return { x: shape.cx - shape.rx, y: shape.cy - shape.ry };
    case "polygon":
    case "freehand": {
      const top = shape.points.reduce((best, p) => (p[1] < best[1] ? p : best));
      return { x: top[0], y: top[1] };
    }
    case "point":
    case "text":
      return { x: shape.cx, y: shape.cy, beside: true };
    default:
      return { x: (shape.x1 + shape.x2) / 2, y: (shape.y1 + shape.y2) / 2 };
  }
}

/** A label drawn in SVG; font size and offsets are in em so they follow the zoom. */
export function labelElement(shape, text) {
  const anchor = labelAnchor(shape);
  return s("text", {
    class: "label",
    x: anchor.x,
    y: anchor.y,
    dx: anchor.beside ? "0.6em" : 0,
    dy: anchor.beside ? "0.35em" : "-0.5em",
    text,
  });
}

/** The same shape moved by (dx, dy). */
export function translateShape(shape, dx, dy) {
  const moved = { ...shape };
  for (const key of ["x", "cx", "x1", "x2"]) if (key in moved) moved[key] += dx;
  for (const key of ["y", "cy", "y1", "y2"]) if (key in moved) moved[key] += dy;
  if (shape.points) moved.points = shape.points.map(([x, y]) => [x + dx, y + dy]);
  return moved;
}

/** The same shape with every coordinate kept inside a width x height photo. */
export function clampShape(shape, width, height) {
  const clampX = (v) => Math.max(0, Math.min(width, v));
  const clampY = (v) => Math.max(0, Math.min(height, v));
  const kept = { ...shape };
  for (const key of ["x", "cx", "x1", "x2"]) if (key in kept) kept[key] = clampX(kept[key]);
  for (const key of ["y", "cy", "y1", "y2"]) if (key in kept) kept[key] = clampY(kept[key]);
  if ("w" in kept) kept.w = Math.min(kept.w, width - kept.x);
  if ("h" in kept) kept.h = Math.min(kept.h, height - kept.y);
  if (shape.points) kept.points = shape.points.map(([x, y]) => [clampX(x), clampY(y)]);
  return kept;
}
