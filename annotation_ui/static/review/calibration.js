// Calibration turns pixel measurements into millimetres: the specialist draws a line
// over something of known length (a ruler in the photo) and types its length.

import * as api from "./api.js";

export function calibrate(photo, line, lengthMm) {
  return api.put(`/photos/${photo.id}/calibration`, { line, length_mm: lengthMm });
}

export function removeCalibration(photo) {
  return api.del(`/photos/${photo.id}/calibration`);
}

/** The calibration in words. */
export function calibrationText(calibration) {
  if (!calibration) return "Not calibrated: measurements are in pixels.";
  const perPixel = Number(calibration.mm_per_pixel).toPrecision(3);
  return `Calibrated: ${perPixel} mm per pixel (from a ${calibration.length_mm} mm line).`;
}

/** A typed length in mm, or null when it is not a positive number. */
export function parseLength(text) {
  const value = Number(String(text).replace(",", "."));
  return Number.isFinite(value) && value > 0 ? value : null;
}
