// Registration geometry for the comparison. An alignment's 3x3 homography H maps
// MOVING original pixels to FIXED original pixels. SVG's transform="matrix(a b c d e f)"
// is affine only, so the display uses H linearised at the moving photo's centre: exact
// there, and close nearby for the small perspective changes of repeat photos.

/** H's affine approximation around (x0, y0), as SVG's [a, b, c, d, e, f]. */
export function affineAt(H, x0, y0) {
  const [[h00, h01, h02], [h10, h11, h12], [h20, h21, h22]] = H;
  const w = h20 * x0 + h21 * y0 + h22;
  const u = (h00 * x0 + h01 * y0 + h02) / w;
  const v = (h10 * x0 + h11 * y0 + h12) / w;
  // The Jacobian of (x, y) -> H(x, y) at (x0, y0).
  const a = (h00 - u * h20) / w;
  const c = (h01 - u * h21) / w;
  const b = (h10 - v * h20) / w;
  const d = (h11 - v * h21) / w;
  return [a, b, c, d, u - a * x0 - c * y0, v - b * x0 - d * y0];
}

/** Scale one photo's frame onto another's: shown together, but not registered. */
export function stretch(fromWidth, fromHeight, toWidth, toHeight) {
  return [toWidth / fromWidth, 0, 0, toHeight / fromHeight, 0, 0];
}

function applyAffine([a, b, c, d, e, f], x, y) {
  return { x: a * x + c * y + e, y: b * x + d * y + f };
}

export function invertAffine([a, b, c, d, e, f]) {
  const det = a * d - b * c;
  return [d / det, -b / det, -c / det, a / det, (c * f - d * e) / det, (b * e - a * f) / det];
}

/** The bounding box of a box's corners after an affine map. */
export function mapBox(m, { x, y, w, h }) {
  const corners = [applyAffine(m, x, y), applyAffine(m, x + w, y), applyAffine(m, x, y + h), applyAffine(m, x + w, y + h)];
  const xs = corners.map((p) => p.x);
  const ys = corners.map((p) => p.y);
  const left = Math.min(...xs);
  const top = Math.min(...ys);
  return { x: left, y: top, w: Math.max(...xs) - left, h: Math.max(...ys) - top };
}

export function svgMatrix(m) {
  return `matrix(${m.map((n) => Number(n.toFixed(6))).join(" ")})`;
}
