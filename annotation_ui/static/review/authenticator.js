// Setting up the authenticator app that signing a prescription needs (GET /me/mfa,
// POST /me/mfa/totp, POST /me/mfa/totp/confirm). The QR code is the server's SVG, shown
// as an image from a data: URI: an <img> never runs scripts or reaches into the page.

import * as api from "./api.js";
import { alertNow, announce } from "./announce.js";
import { byId } from "./dom.js";

/** The SVG text as an image address. */
function svgAddress(svg) {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

export class AuthenticatorSetup extends EventTarget {
  constructor() {
    super();
    this.panel = byId("rx-mfa");
    this.enrolled = false;
    byId("rx-mfa-start").addEventListener("click", () => this.start());
    byId("rx-mfa-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.confirm();
    });
  }

  /** Read the status; the panel shows only while no app is confirmed. */
  async load() {
    const status = await api.get("/me/mfa");
    this.show(status);
    return status;
  }

  show(status) {
    this.enrolled = Boolean(status.enrolled);
    this.panel.hidden = this.enrolled;
    byId("rx-mfa-start").textContent = status.pending
      ? "Start the set-up again (new QR code)"
      : "Set up an authenticator app";
  }

  async start() {
    const button = byId("rx-mfa-start");
    button.disabled = true;
    try {
      const enrolment = await api.post("/me/mfa/totp");
      byId("rx-mfa-qr").src = svgAddress(enrolment.qr_svg);
      byId("rx-mfa-secret").textContent = enrolment.secret;
      byId("rx-mfa-kind").textContent =
        ` (time-based, ${enrolment.digits} digits every ${enrolment.period} seconds, ${enrolment.algorithm})`;
      byId("rx-mfa-enrol").hidden = false;
      byId("rx-mfa-start").hidden = true;
      this.setError("");
      byId("rx-mfa-code").focus();
      announce("QR code and key shown. Add them to your authenticator app, then enter its code.");
    } catch (error) {
      if (error.status === 409) {
        await this.load();
        this.changed();
      } else {
        alertNow(`The set-up could not start: ${error.message}`);
      }
    } finally {
      button.disabled = false;
    }
  }

  async confirm() {
    const code = byId("rx-mfa-code").value.trim();
    if (!/^\d{3} ?\d{3}$/.test(code)) {
      this.setError("Enter the 6-digit code shown by your authenticator app.");
      byId("rx-mfa-code").focus();
      return;
    }
    const button = byId("rx-mfa-confirm");
    button.disabled = true;
    try {
      const status = await api.post("/me/mfa/totp/confirm", { code });
      this.setError("");
      byId("rx-mfa-enrol").hidden = true;
      byId("rx-mfa-secret").textContent = "";
      byId("rx-mfa-qr").removeAttribute("src");
      byId("rx-mfa-code").value = "";
      byId("rx-mfa-start").hidden = false;
      this.show(status);
      announce("Authenticator app set up. You can now sign prescriptions with its codes.");
      this.changed();
    } catch (error) {
      const messages = error.errors?.code || [error.message];
      this.setError([].concat(messages).join(" "));
      byId("rx-mfa-code").focus();
    } finally {
      button.disabled = false;
    }
  }

  setError(text) {
    const slot = byId("rx-mfa-code-error");
    slot.textContent = text;
    slot.hidden = !text;
    byId("rx-mfa-code").setAttribute("aria-invalid", String(Boolean(text)));
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }
}
