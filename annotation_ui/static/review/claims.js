// The specialist's lease on a case: taken when the case opens, renewed while the
// page is being used, and given back on request. An idle page lets the lease lapse
// so that a forgotten tab never blocks a case for colleagues.

import * as api from "./api.js";

const RENEW_EVERY_MS = 5 * 60 * 1000;
const ACTIVITY_EVENTS = ["pointerdown", "keydown", "wheel", "input"];

/** POST the claim (it renews when already ours); rejects with ApiError 409 if held. */
export function claimCase(caseId) {
  return api.post(`/cases/${caseId}/claim`);
}

export class ClaimLease {
  constructor(caseId, { onLost }) {
    this.caseId = caseId;
    this.onLost = onLost;
    this.usedSinceRenewal = false;
    this.timer = null;
    this.markUsed = () => {
      this.usedSinceRenewal = true;
    };
  }

  /** Claim now, then keep the claim alive while the page is in use. */
  async take() {
    const claim = await claimCase(this.caseId);
    for (const type of ACTIVITY_EVENTS) document.addEventListener(type, this.markUsed, { passive: true });
    this.timer = window.setInterval(() => this.renewIfUsed(), RENEW_EVERY_MS);
    return claim;
  }

  async renewIfUsed() {
    if (!this.usedSinceRenewal) return;
    this.usedSinceRenewal = false;
    try {
      await claimCase(this.caseId);
    } catch (error) {
      this.stop();
      this.onLost(error);
    }
  }

  /** Stop renewing (the claim ended on the server, or the page is leaving the case). */
  stop() {
    window.clearInterval(this.timer);
    for (const type of ACTIVITY_EVENTS) document.removeEventListener(type, this.markUsed);
  }

  /** Return the case to its queue. */
  async release() {
    this.stop();
    await api.del(`/cases/${this.caseId}/claim`);
  }
}
