// SLA clocks in words. The server decides the state (it knows working days); the
// page only says how long is left or overdue, and always in text, not colour alone.

import { formatDuration } from "./dom.js";

const STATE_LABELS = { breached: "Breached", due_soon: "Due soon", ok: "On time" };

/** {state, label, text} for a case's SLA at time `now`. */
export function slaClock(slaState, dueAt, now = Date.now()) {
  const state = STATE_LABELS[slaState] ? slaState : "ok";
  if (!dueAt) return { state, label: STATE_LABELS[state], text: "no due time" };
  const left = new Date(dueAt).getTime() - now;
  const text = left < 0 ? `overdue by ${formatDuration(left)}` : `due in ${formatDuration(left)}`;
  return { state, label: STATE_LABELS[state], text };
}
