// The drawing tools: their keys, and how pointer input becomes a shape.
// A gesture receives points in original pixels plus the current size of a screen
// pixel (so "a few pixels" means the same on screen at every zoom), and answers
// {draft: shape} to preview, {done: shape} to finish, {cancel: true}, or
// {refused: message} when the input is not accepted.

export const TOOLS = [
  { name: "select", key: "v", label: "Select / pan" },
  { name: "rectangle", key: "r", label: "Rectangle" },
  { name: "ellipse", key: "e", label: "Ellipse" },
  { name: "polygon", key: "p", label: "Polygon" },
  { name: "freehand", key: "f", label: "Freehand" },
  { name: "point", key: "o", label: "Point" },
  { name: "arrow", key: "a", label: "Arrow" },
  { name: "ruler", key: "m", label: "Ruler" },
  { name: "text", key: "t", label: "Text label" },
  { name: "calibrate", key: "c", label: "Calibrate" },
];

const TOO_SMALL = 3; // screen pixels: a shorter drag is a slip, not a shape
const CLOSE_TO_START = 8; // screen pixels: clicking this near the first vertex closes a polygon

function distance(a, b) {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

function box(a, b) {
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
}

const BUILDERS = {
  rectangle: (a, b) => ({ tool: "rectangle", ...box(a, b) }),
  ellipse: (a, b) => {
    const { x, y, w, h } = box(a, b);
    return { tool: "ellipse", cx: x + w / 2, cy: y + h / 2, rx: w / 2, ry: h / 2 };
  },
  arrow: (a, b) => ({ tool: "arrow", x1: a.x, y1: a.y, x2: b.x, y2: b.y }),
  ruler: (a, b) => ({ tool: "ruler", x1: a.x, y1: a.y, x2: b.x, y2: b.y }),
  calibrate: (a, b) => ({ tool: "calibrate", x1: a.x, y1: a.y, x2: b.x, y2: b.y }),
};

/** Press, drag, release: rectangle, ellipse, arrow, ruler and the calibration line. */
function dragGesture(build) {
  let start = null;
  return {
    down(p) {
      start = p;
      return { draft: build(p, p) };
    },
    move(p) {
      return start ? { draft: build(start, p) } : null;
    },
    up(p, unit) {
      if (!start) return null;
      const from = start;
      start = null;
      return distance(from, p) < TOO_SMALL * unit ? { cancel: true } : { done: build(from, p) };
    },
  };
}

/** One click: point and text label. */
function clickGesture(tool) {
  return {
    down: () => null,
    move: () => null,
    up: (p) => ({ done: { tool, cx: p.x, cy: p.y } }),
  };
}

/** Press and draw: points are kept a few screen pixels apart. */
function freehandGesture() {
  let points = null;
  const draft = () => ({ draft: { tool: "freehand", points } });
  return {
    down(p) {
      points = [[p.x, p.y]];
      return draft();
    },
    move(p, unit) {
      if (!points) return null;
      const [lx, ly] = points.at(-1);
      if (Math.hypot(p.x - lx, p.y - ly) >= 2 * unit) points.push([p.x, p.y]);
      return draft();
    },
    up() {
      const done = points && points.length >= 2 ? { done: { tool: "freehand", points } } : { cancel: true };
      points = null;
      return done;
    },
  };
}

/** Whether segments p1-p2 and p3-p4 cross (touching at an end does not count). */
function segmentsCross([p1, p2], [p3, p4]) {
  const side = (a, b, c) => Math.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]));
  return side(p1, p2, p3) * side(p1, p2, p4) < 0 && side(p3, p4, p1) * side(p3, p4, p2) < 0;
}

/** Whether a new edge would cross one of the path's edges (a polygon's area must be simple). */
function crossesPath(points, edge) {
  for (let i = 0; i + 1 < points.length; i += 1) {
    if (segmentsCross([points[i], points[i + 1]], edge)) return true;
  }
  return false;
}

/**
 * Click the vertices; close on the first vertex, double-click or Enter. A click that
 * would make two edges cross is refused ({refused: message}): the server measures a
 * crossed polygon's net area, which would be misleading.
 */
function polygonGesture() {
  let points = [];
  let hover = null;
  const draft = () => ({ draft: { tool: "freehand", points: hover ? [...points, [hover.x, hover.y]] : points } });
  const finish = (unit) => {
    // A double-click also delivers its two clicks: drop vertices that repeat.
    const apart = (p, q) => Math.hypot(p[0] - q[0], p[1] - q[1]) >= TOO_SMALL * unit;
    const kept = points.filter((p, i) => i === 0 || apart(p, points[i - 1]));
    if (kept.length < 3) {
      points = [];
      hover = null;
      return { cancel: true };
    }
    // The closing edge may only touch the first and the last edge at their shared ends.
    if (crossesPath(kept.slice(1, -1), [kept.at(-1), kept[0]])) return { refused: "Closing here would make edges cross." };
    points = [];
    hover = null;
    return { done: { tool: "polygon", points: kept } };
  };
  return {
    down(p, unit) {
      const [first] = points;
      if (points.length >= 3 && Math.hypot(p.x - first[0], p.y - first[1]) <= CLOSE_TO_START * unit) {
        return finish(unit);
      }
      // The new edge starts at the last vertex, so the last edge is left out of the check.
      if (points.length >= 2 && crossesPath(points.slice(0, -1), [points.at(-1), [p.x, p.y]])) {
        return { refused: "That point would make edges cross." };
      }
      points.push([p.x, p.y]);
      return draft();
    },
    move(p) {
      if (!points.length) return null;
      hover = p;
      return draft();
    },
    up: () => null,
    dblclick: (p, unit) => finish(unit),
    key(event, unit) {
      if (event.key === "Enter") return finish(unit);
      if (event.key === "Backspace" && points.length) {
        points.pop();
        return points.length ? draft() : { cancel: true };
      }
      return null;
    },
    get active() {
      return points.length > 0;
    },
  };
}

/** A fresh gesture for a drawing tool (not for "select"). */
export function gestureFor(tool) {
  if (tool in BUILDERS) return dragGesture(BUILDERS[tool]);
  if (tool === "point" || tool === "text") return clickGesture(tool);
  if (tool === "freehand") return freehandGesture();
  if (tool === "polygon") return polygonGesture();
  throw new Error(`No gesture for ${tool}`);
}
