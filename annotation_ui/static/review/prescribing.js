// The Prescriptions section of the case page: the case's prescriptions, the form to
// write one, the draft's safety review (blocks refuse; each warning needs a reason) and
// signing with the authenticator code. Everything goes through the prescribing API.

import * as api from "./api.js";
import { alertNow, announce } from "./announce.js";
import { AuthenticatorSetup } from "./authenticator.js";
import { askValue, openDialog } from "./dialog.js";
import { byId, h, humanize } from "./dom.js";
import { MedicinePicker } from "./medicine-picker.js";
import { medicineLine, renderPrescriptions } from "./prescription-list.js";

// Each field the API may name: the control that takes focus, and its label.
const FIELDS = {
  formulary_id: ["rx-medicine", "Medicine"],
  form: ["rx-form-route", "Form and route"],
  strength: ["rx-strength", "Strength"],
  dosage: ["rx-amount", "Dose instructions"],
  quantity: ["rx-quantity", "Quantity"],
  supply_days: ["rx-supply-days", "Supply (days)"],
  repeats: ["rx-repeats", "Repeats"],
  substitution_allowed: ["rx-substitution", "Generic substitution"],
  patient_weight_kg: ["rx-weight", "Patient's weight"],
  pregnancy_tests: ['#rx-tests input[name="date"]', "Pregnancy tests"],
};
const ALIASES = { route: "form" }; // the form and the route are one choice here

const TEST_TITLES = ["Earlier test", "Most recent test"];
const REASON_MIN = 5; // as the API's override schema asks
const UNQUANTIFIED = ["thin_layer", "as_needed"]; // "units" that are no amount (topicals)
const PREVIEW_DELAY_MS = 250;

/** Messages of a problem's `errors` value, nested keys named ("amount: ..."). */
function describe(value, prefix = "") {
  if (Array.isArray(value)) return value.flatMap((item) => describe(item, prefix));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([key, inner]) => {
      const name = /^\d+$/.test(key) ? TEST_TITLES[Number(key)] || `Item ${Number(key) + 1}` : humanize(key);
      return describe(inner, `${prefix}${name}: `);
    });
  }
  return value ? [`${prefix}${value}`] : [];
}

function control(field) {
  const target = FIELDS[field][0];
  return target.startsWith("#") ? document.querySelector(target) : byId(target);
}

function number(id) {
  const text = byId(id).value.trim();
  return text === "" ? null : Number(text);
}

/** The counted unit a form is usually given in, if any ("capsule" for capsules). */
function unitOf(form) {
  const name = form?.form || "";
  if (/capsule/.test(name)) return "capsule";
  if (/tablet/.test(name)) return "tablet";
  if (/pen/.test(name)) return "pen";
  if (/solution|suspension/.test(name) && form.route === "oral") return "mL";
  if (form?.route === "topical") return "thin_layer";
  return "";
}

/** The dosage as the API takes it, from the structured fields. */
function dosageOf() {
  const unit = byId("rx-unit").value;
  const amount = UNQUANTIFIED.includes(unit) ? { unquantified: unit } : { value: number("rx-amount"), unit };
  const [times, per] = byId("rx-frequency").value.split("/");
  const frequency = {};
  if (times === "every") frequency.every_hours = Number(per);
  else if (times) Object.assign(frequency, { times: Number(times), per });
  if (byId("rx-as-needed").checked || !times) {
    frequency.as_needed = true;
    frequency.max_per_day = number("rx-max-per-day");
  }
  const durationUnit = byId("rx-duration-unit").value;
  const duration = durationUnit === "until_review"
    ? { until_review: true }
    : { value: number("rx-duration-value"), unit: durationUnit };
  const timing = [...document.querySelectorAll('#rx-dosage input[name="timing"]:checked')].map((box) => box.value);
  const note = byId("rx-note").value.trim();
  return { amount, frequency, duration, timing, ...(note ? { note } : {}) };
}

/** Show field errors beside their fields and a summary that takes focus (empty clears). */
function showErrors(summary, errors, slots) {
  const items = [];
  for (const [field, { slot, inputs, label, focus }] of Object.entries(slots)) {
    const text = describe(errors[field]).join(" ");
    slot.textContent = text;
    slot.hidden = !text;
    for (const input of inputs) input.setAttribute("aria-invalid", String(Boolean(text)));
    if (text) {
      const link = h("a", { href: "#", text: `${label}: ${text}` });
      link.addEventListener("click", (event) => {
        event.preventDefault();
        focus();
      });
      items.push(h("li", {}, link));
    }
  }
  for (const [field, value] of Object.entries(errors)) {
    if (!(field in slots)) items.push(h("li", { text: describe(value).join(" ") }));
  }
  summary.querySelector("ul").replaceChildren(...items);
  summary.hidden = items.length === 0;
  if (items.length) summary.focus();
}

export class PrescribingSection {
  /** @param options {caseId} */
  constructor({ caseId }) {
    this.caseId = caseId;
    this.root = byId("prescribing");
    this.draft = null;
    this.nominated = undefined; // the patient's nomination, once a draft has shown it
    this.pharmacies = [];
    this.previewTimer = null;
    this.previewed = 0; // the latest preview asked for: older answers are dropped
    this.authenticator = new AuthenticatorSetup();
    this.authenticator.addEventListener("change", () => this.updateSignButton());
    this.picker = new MedicinePicker(byId("rx-medicine"), byId("rx-medicine-options"), byId("rx-medicine-hint"));
    this.picker.addEventListener("change", () => this.onMedicine());
    this.bindForm();
    this.bindReview();
  }

  /** Load the authenticator status, the case's prescriptions and the pharmacies. */
  async start() {
    try {
      await Promise.all([this.authenticator.load(), this.refresh(), this.loadPharmacies()]);
    } catch (error) {
      alertNow(`Prescriptions could not be loaded: ${error.message}`);
    } finally {
      this.root.setAttribute("aria-busy", "false");
      this.root.dataset.ready = "true";
    }
  }

  async refresh() {
    const items = await api.get(`/cases/${this.caseId}/prescriptions`);
    renderPrescriptions(byId("rx-list"), byId("rx-list-empty"), items, {
      onReview: (prescription) => this.resume(prescription),
      onDiscard: (prescription) => this.discard(prescription),
      onCancel: (prescription) => this.cancel(prescription),
    });
    return items;
  }

  async loadPharmacies() {
    this.pharmacies = await api.get("/pharmacies");
  }

  // ------------------------------------------------------------------ the form

  bindForm() {
    byId("rx-form-route").addEventListener("change", () => this.onFormRoute());
    byId("rx-strength").addEventListener("change", () => this.onStrength());
    byId("rx-dosage").addEventListener("input", () => this.onDosage());
    byId("rx-dosage").addEventListener("change", () => this.onDosage());
    byId("rx-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.check();
    });
  }

  selectedForm() {
    const medicine = this.picker.value();
    const index = byId("rx-form-route").value;
    return medicine && index !== "" ? medicine.forms[Number(index)] : null;
  }

  onMedicine() {
    const medicine = this.picker.value();
    const select = byId("rx-form-route");
    select.replaceChildren(
      ...(medicine?.forms || []).map((form, index) =>
        h("option", { value: String(index), text: `${humanize(form.form)} (${form.route})` }),
      ),
    );
    select.disabled = !medicine;
    const programme = Boolean(medicine?.pregnancy_prevention_programme);
    byId("rx-tests").hidden = !programme;
    byId("rx-weight-field").hidden = !programme && !byId("rx-weight").value;
    this.onFormRoute();
  }

  onFormRoute() {
    const form = this.selectedForm();
    const select = byId("rx-strength");
    select.replaceChildren(...(form?.strengths || []).map((strength) => h("option", { value: strength, text: strength })));
    select.disabled = !form;
    this.onStrength();
  }

  onStrength() {
    const unit = unitOf(this.selectedForm());
    if (unit && byId("rx-amount").value === "") byId("rx-unit").value = unit;
    this.onDosage();
  }

  /** Show or hide what depends on other choices, then preview the text soon. */
  onDosage() {
    const unquantified = UNQUANTIFIED.includes(byId("rx-unit").value);
    byId("rx-amount").disabled = unquantified;
    const whenNeeded = byId("rx-as-needed").checked || byId("rx-frequency").value === "";
    byId("rx-max-field").hidden = !whenNeeded;
    byId("rx-duration-value").disabled = byId("rx-duration-unit").value === "until_review";
    clearTimeout(this.previewTimer);
    this.previewTimer = setTimeout(() => this.preview(), PREVIEW_DELAY_MS);
  }

  /** The text the server will print for the dosage as it stands (one source of truth). */
  async preview() {
    const form = this.selectedForm();
    const output = byId("rx-dosage-text");
    const total = byId("rx-dose-total");
    if (!form) {
      output.textContent = "Choose the medicine and its form first.";
      total.textContent = "";
      return;
    }
    const asked = ++this.previewed;
    const body = {
      route: form.route,
      strength: byId("rx-strength").value,
      dosage: dosageOf(),
      ...(this.picker.value() ? { formulary_id: this.picker.value().id } : {}),
    };
    try {
      const answer = await api.post("/prescriptions/dosage-preview", body);
      if (asked !== this.previewed) return;
      output.textContent = answer.text;
      output.classList.remove("rx-incomplete");
      total.textContent = answer.dose ? `(in all: ${answer.dose.amount} ${answer.dose.unit} per ${answer.dose.per})` : "(no quantified total)";
    } catch (error) {
      if (asked !== this.previewed) return;
      const problems = describe(error.errors?.dosage || error.errors || []);
      output.textContent = `Not complete yet: ${problems.join(" ") || error.message}`;
      output.classList.add("rx-incomplete");
      total.textContent = "";
    }
  }

  pregnancyTests() {
    if (byId("rx-tests").hidden) return [];
    return [...document.querySelectorAll("#rx-tests .rx-test")]
      .map((row) => {
        const value = (name) => row.querySelector(`[name="${name}"]`).value.trim();
        return {
          date: value("date"),
          negative: value("negative") === "true",
          source: value("source"),
          documented_by: value("documented_by"),
        };
      })
      .filter((test) => test.date || test.documented_by);
  }

  body() {
    const medicine = this.picker.value();
    const form = this.selectedForm();
    const body = {
      formulary_id: medicine?.id || "",
      form: form?.form || "",
      route: form?.route || "",
      strength: byId("rx-strength").value,
      dosage: dosageOf(),
      quantity: byId("rx-quantity").value.trim(),
      supply_days: number("rx-supply-days"),
      repeats: number("rx-repeats") ?? 0,
      substitution_allowed: byId("rx-substitution").checked,
      pregnancy_tests: this.pregnancyTests(),
    };
    const weight = number("rx-weight");
    if (!byId("rx-weight-field").hidden && weight !== null) body.patient_weight_kg = weight;
    return body;
  }

  /** What is plainly missing, as the API would report it. */
  missing(body) {
    const errors = {};
    if (!body.formulary_id) errors.formulary_id = ["Search the formulary and pick a medicine from the list."];
    else if (!body.form) errors.form = ["Choose the form and route."];
    const { amount, frequency, duration } = body.dosage;
    if (!amount.unquantified && !(amount.value > 0)) errors.dosage = ["Enter the amount each time, more than 0."];
    else if (frequency.as_needed && !(frequency.max_per_day >= 1)) errors.dosage = ["Enter at most how many times a day when needed."];
    else if (!duration.until_review && !(duration.value >= 1)) errors.dosage = ["Enter for how long, 1 or more."];
    if (!body.quantity) errors.quantity = ["Enter the quantity to supply, e.g. 56 capsules."];
    if (!Number.isInteger(body.supply_days) || body.supply_days < 1) errors.supply_days = ["Enter the days the supply lasts, 1 or more."];
    if (!Number.isInteger(body.repeats) || body.repeats < 0) errors.repeats = ["Enter the number of repeats, 0 or more."];
    for (const [index, test] of body.pregnancy_tests.entries()) {
      if (!test.date || test.documented_by.length < 2) {
        errors.pregnancy_tests = [`${TEST_TITLES[index] || "A test"}: give its date and who documented it.`];
      }
    }
    return errors;
  }

  formSlots() {
    return Object.fromEntries(
      Object.entries(FIELDS).map(([field, [, label]]) => {
        const inputs = field === "pregnancy_tests"
          ? [...document.querySelectorAll("#rx-tests input, #rx-tests select")]
          : field === "dosage" ? [...document.querySelectorAll("#rx-dosage input, #rx-dosage select")] : [control(field)];
        return [field, { slot: byId(`rx-${field}-error`), inputs, label, focus: () => control(field).focus() }];
      }),
    );
  }

  showFormErrors(errors) {
    const merged = {};
    for (const [field, value] of Object.entries(errors)) {
      const name = ALIASES[field] || field;
      merged[name] = [...describe(merged[name] || []), ...describe(value)];
    }
    showErrors(byId("rx-errors"), merged, this.formSlots());
  }

  lockForm(locked) {
    byId("rx-fields").disabled = locked;
  }

  async check() {
    const body = this.body();
    const errors = this.missing(body);
    if (Object.keys(errors).length) {
      this.showFormErrors(errors);
      return;
    }
    const button = byId("rx-check");
    button.disabled = true;
    try {
      const draft = await api.post(`/cases/${this.caseId}/prescriptions`, body);
      this.showFormErrors({});
      this.nominated = draft.pharmacy;
      this.review(draft);
      await this.refresh();
    } catch (error) {
      const fields = Object.keys(error.errors || {}).length ? error.errors : { "": [error.message] };
      this.showFormErrors(fields);
    } finally {
      button.disabled = false;
    }
  }

  resetForm() {
    byId("rx-form").reset();
    this.picker.input.value = "";
    this.picker.choose(null);
    byId("rx-weight-field").hidden = true;
    this.onDosage();
    this.showFormErrors({});
  }

  /** Put a stored draft's values back into the form (to change it after discarding it). */
  async fillForm(draft) {
    const found = await api.get(`/formulary${api.query({ q: draft.medicine })}`);
    const medicine = found.find((item) => item.id === draft.formulary_id);
    if (!medicine) return;
    this.picker.input.value = medicine.name;
    this.picker.choose(medicine);
    const index = medicine.forms.findIndex((form) => form.form === draft.form && form.route === draft.route);
    byId("rx-form-route").value = String(Math.max(index, 0));
    this.onFormRoute();
    byId("rx-strength").value = draft.strength;
    if (draft.dosage) this.fillDosage(draft.dosage);
    byId("rx-quantity").value = draft.quantity;
    byId("rx-supply-days").value = draft.supply_days;
    byId("rx-repeats").value = draft.repeats;
    byId("rx-substitution").checked = draft.substitution_allowed;
  }

  fillDosage({ amount, frequency, duration, timing = [], note = "" }) {
    byId("rx-unit").value = amount.unquantified || amount.unit;
    byId("rx-amount").value = amount.value ?? "";
    byId("rx-frequency").value = frequency.every_hours
      ? `every/${frequency.every_hours}`
      : frequency.times ? `${frequency.times}/${frequency.per}` : "";
    byId("rx-as-needed").checked = Boolean(frequency.as_needed);
    byId("rx-max-per-day").value = frequency.max_per_day ?? "";
    byId("rx-duration-unit").value = duration.until_review ? "until_review" : duration.unit;
    byId("rx-duration-value").value = duration.value ?? "";
    for (const box of document.querySelectorAll('#rx-dosage input[name="timing"]')) box.checked = timing.includes(box.value);
    byId("rx-note").value = note;
    this.onDosage();
  }

  // ------------------------------------------------------------------ the review

  bindReview() {
    byId("rx-sign").addEventListener("click", () => this.askToSign());
    byId("rx-change").addEventListener("click", () => this.change());
    byId("rx-discard").addEventListener("click", () => this.draft && this.discard(this.draft));
    byId("rx-pharmacy").addEventListener("change", () => this.readdress());
    byId("rx-findings").addEventListener("input", (event) => {
      if (event.target.classList.contains("rx-reason")) this.onReason(event.target);
    });
    byId("rx-sign-form").addEventListener("submit", (event) => {
      if (event.submitter?.value === "cancel") return; // the dialog closes itself
      event.preventDefault();
      this.sign();
    });
  }

  async resume(prescription) {
    try {
      const draft = await api.get(`/prescriptions/${prescription.id}`);
      this.nominated = undefined;
      await this.fillForm(draft);
      this.review(draft);
    } catch (error) {
      alertNow(`The draft could not be opened: ${error.message}`);
    }
  }

  review(draft) {
    this.draft = draft;
    this.lockForm(true);
    const findings = draft.safety || [];
    const blocks = findings.filter((finding) => finding.severity === "block");
    const warnings = findings.filter((finding) => finding.severity === "warning");
    byId("rx-review-summary").textContent =
      `${medicineLine(draft)}: ${draft.instructions} ${draft.quantity} for ${draft.supply_days} days, ` +
      `${draft.repeats} repeat${draft.repeats === 1 ? "" : "s"}, substitution ${draft.substitution_allowed ? "allowed" : "not allowed"}.`;
    this.showPharmacy(draft.pharmacy);
    byId("rx-findings").replaceChildren(...findings.map((finding, index) => this.findingItem(finding, index)));
    byId("rx-review-clear").hidden = findings.length > 0;
    byId("rx-refused").hidden = blocks.length === 0;
    if (findings.some((finding) => finding.code === "dose_unchecked" && /weight/i.test(finding.message))) {
      byId("rx-weight-field").hidden = false; // shown for "Change": a per-kg limit needs it
    }
    this.showReviewErrors({});
    this.updateSignButton();
    byId("rx-review").hidden = false;
    byId("rx-review-heading").focus();
    if (blocks.length) {
      alertNow(`Safety review: refused. ${blocks.map((b) => b.message).join(" ")} This prescription cannot be signed.`);
    } else if (warnings.length) {
      announce(`Safety review: ${warnings.length} warning${warnings.length === 1 ? "" : "s"}, each needing your reason before signing.`);
    } else {
      announce("Safety review: nothing to refuse or warn about. Ready to sign.");
    }
  }

  findingItem(finding, index) {
    if (finding.severity === "block") {
      return h(
        "li",
        { class: "rx-finding rx-block", "data-key": finding.key },
        h("strong", { text: "Refused: " }),
        finding.message,
      );
    }
    const id = `rx-reason-${index}`;
    return h(
      "li",
      { class: "rx-finding rx-warning", "data-key": finding.key },
      h("p", {}, h("strong", { text: "Warning: " }), finding.message),
      h("label", { for: id, text: "Your reason to go ahead (required)" }),
      h("textarea", {
        id,
        class: "rx-reason",
        "data-key": finding.key,
        required: true,
        minlength: String(REASON_MIN),
        maxlength: "500",
        "aria-describedby": `${id}-error`,
      }),
      h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
    );
  }

  showPharmacy(current) {
    const select = byId("rx-pharmacy");
    const known = this.pharmacies.some((pharmacy) => pharmacy.id === current?.id);
    const choices = known || !current ? this.pharmacies : [current, ...this.pharmacies];
    select.replaceChildren(
      ...(current ? [] : [h("option", { value: "", text: "No pharmacy chosen" })]),
      ...choices.map((pharmacy) => h("option", { value: pharmacy.id, text: `${pharmacy.name}, ${pharmacy.address}` })),
    );
    select.value = current?.id || "";
    const hint = byId("rx-pharmacy-hint");
    if (this.nominated === undefined) hint.textContent = "";
    else if (!this.nominated) hint.textContent = "The patient has not nominated a pharmacy: choose one.";
    else if (this.nominated.id === current?.id) hint.textContent = "The patient's nominated pharmacy.";
    else hint.textContent = `Changed from the patient's nomination (${this.nominated.name}).`;
  }

  async readdress() {
    const pharmacyId = byId("rx-pharmacy").value;
    if (!this.draft || !pharmacyId) return;
    try {
      this.draft = await api.put(`/prescriptions/${this.draft.id}/pharmacy`, { pharmacy_id: pharmacyId });
      this.showPharmacy(this.draft.pharmacy);
      announce(`The prescription will go to ${this.draft.pharmacy.name}.`);
      await this.refresh();
    } catch (error) {
      alertNow(`The pharmacy could not be changed: ${error.message}`);
      this.showPharmacy(this.draft.pharmacy);
    }
  }

  updateSignButton() {
    const refused = (this.draft?.safety || []).some((finding) => finding.severity === "block");
    byId("rx-sign").disabled = !this.draft || refused;
  }

  reasons() {
    return [...document.querySelectorAll("#rx-findings .rx-reason")];
  }

  showReviewErrors(errors) {
    const slots = Object.fromEntries(
      this.reasons().map((input) => [
        input.dataset.key,
        { slot: byId(`${input.id}-error`), inputs: [input], label: "Reason", focus: () => input.focus() },
      ]),
    );
    showErrors(byId("rx-review-errors"), errors, slots);
  }

  /** A reason long enough clears its error (and the summary once none is left). */
  onReason(input) {
    if (input.value.trim().length < REASON_MIN) return;
    const slot = byId(`${input.id}-error`);
    slot.textContent = "";
    slot.hidden = true;
    input.setAttribute("aria-invalid", "false");
    const left = [...document.querySelectorAll("#rx-findings .field-error")].some((item) => !item.hidden);
    if (!left) byId("rx-review-errors").hidden = true;
  }

  askToSign() {
    if (!this.draft) return;
    const errors = {};
    for (const input of this.reasons()) {
      if (input.value.trim().length < REASON_MIN) {
        errors[input.dataset.key] = [`Give your reason to go ahead despite this warning (at least ${REASON_MIN} characters).`];
      }
    }
    if (!this.authenticator.enrolled) {
      errors[""] = ["Set up your authenticator app first (above): signing needs its code."];
    }
    this.showReviewErrors(errors);
    if (Object.keys(errors).length) return;
    byId("rx-sign-code").value = "";
    this.setCodeError("");
    openDialog(byId("rx-sign-dialog"));
  }

  setCodeError(text) {
    const slot = byId("rx-sign-code-error");
    slot.textContent = text;
    slot.hidden = !text;
    byId("rx-sign-code").setAttribute("aria-invalid", String(Boolean(text)));
  }

  async sign() {
    const dialog = byId("rx-sign-dialog");
    const code = byId("rx-sign-code").value.replace(/\s/g, "");
    if (!/^\d{6}$/.test(code)) {
      this.setCodeError("Enter the 6 digits your authenticator app shows.");
      byId("rx-sign-code").focus();
      return;
    }
    const overrides = this.reasons().map((input) => ({ key: input.dataset.key, reason: input.value.trim() }));
    const button = byId("rx-sign-submit");
    button.disabled = true;
    try {
      const issued = await api.post(`/prescriptions/${this.draft.id}/sign`, { totp_code: code, overrides });
      dialog.close();
      await this.issued(issued);
    } catch (error) {
      const codeProblem = error.errors?.totp_code || (error.status === 403 || error.status === 429 ? [error.message] : null);
      if (codeProblem) {
        this.setCodeError(describe(codeProblem).join(" "));
        byId("rx-sign-code").value = "";
        byId("rx-sign-code").focus();
        return;
      }
      dialog.close();
      const problems = {};
      for (const message of describe(error.errors?.overrides || [])) {
        const key = message.split(": ")[0];
        problems[key] = [message.slice(key.length + 2)];
      }
      if (error.errors?.safety) problems[""] = describe(error.errors.safety);
      if (!Object.keys(problems).length) problems[""] = [error.message];
      this.showReviewErrors(problems);
      alertNow(`Not signed: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  async issued(prescription) {
    this.closeReview();
    this.resetForm();
    await this.refresh();
    const where = prescription.pharmacy ? ` and sent to ${prescription.pharmacy.name}` : "";
    announce(`Prescription ${prescription.number} issued${where}.`);
    byId(`rx-item-${prescription.id}`)?.focus();
  }

  closeReview() {
    this.draft = null;
    byId("rx-review").hidden = true;
    byId("rx-findings").replaceChildren();
    this.lockForm(false);
  }

  /** Discard the draft under review and give its values back to the form to edit. */
  async change() {
    if (!this.draft) return;
    try {
      await api.del(`/prescriptions/${this.draft.id}`);
    } catch (error) {
      alertNow(`The draft could not be reopened: ${error.message}`);
      return;
    }
    this.closeReview();
    await this.refresh();
    byId("rx-medicine").focus();
    announce("The draft was discarded; change the prescription and check it again.");
  }

  async discard(prescription) {
    try {
      await api.del(`/prescriptions/${prescription.id}`);
    } catch (error) {
      alertNow(`The draft could not be discarded: ${error.message}`);
      return;
    }
    if (this.draft?.id === prescription.id) {
      this.closeReview();
      this.resetForm();
    }
    await this.refresh();
    if (!byId("rx-fields").disabled) byId("rx-medicine").focus(); // its button is gone
    announce(`Draft of ${prescription.medicine} discarded.`);
  }

  async cancel(prescription) {
    const reason = await askValue(byId("rx-cancel-dialog"));
    if (reason === null) return;
    try {
      const cancelled = await api.post(`/prescriptions/${prescription.id}/cancel`, { reason });
      await this.refresh();
      announce(`Prescription ${cancelled.number} cancelled.`);
      byId(`rx-item-${cancelled.id}`)?.focus();
    } catch (error) {
      alertNow(`The prescription could not be cancelled: ${error.message}`);
    }
  }
}
