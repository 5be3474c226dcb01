// The assessment form: client-side checks for what is obviously missing, then the
// server's problem+json field errors shown beside their fields, with a summary.

import * as api from "./api.js";
import { byId, h } from "./dom.js";
import { DiagnosisPicker } from "./diagnosis-picker.js";

// Where each field's error is shown, and what receives focus from the summary.
const FIELDS = {
  diagnosis: "diagnosis-input",
  certainty: 'input[name="certainty"]',
  management: 'input[name="management"]',
  information_request: "information-request",
  follow_up: "follow-up-kind",
  patient_message: "patient-message",
  internal_note: "internal-note",
  ai_agreement: 'input[name="ai_agreement"]',
};

const LABELS = {
  diagnosis: "Diagnosis",
  certainty: "Certainty",
  management: "Management",
  information_request: "Information request",
  follow_up: "Follow-up",
  patient_message: "Message to the patient",
  internal_note: "Internal note",
  ai_agreement: "Agreement with decision support",
};

/** The field's inputs (every radio of a group); the first one takes focus. */
function controls(field) {
  const target = FIELDS[field];
  return target.startsWith("input[") ? [...document.querySelectorAll(target)] : [byId(target)];
}

function checked(name) {
  return document.querySelector(`input[name="${name}"]:checked`)?.value || "";
}

/** Error messages of a problem's `errors` map, flattened (nested objects included). */
function messages(value) {
  if (Array.isArray(value)) return value.flatMap(messages);
  if (value && typeof value === "object") return Object.values(value).flatMap(messages);
  return value ? [String(value)] : [];
}

export class AssessmentForm {
  /** @param options {caseId, hasAnalysis, onSubmitted(assessment)} */
  constructor(form, { caseId, hasAnalysis, onSubmitted }) {
    this.form = form;
    this.caseId = caseId;
    this.hasAnalysis = hasAnalysis;
    this.onSubmitted = onSubmitted;
    this.picker = new DiagnosisPicker(byId("diagnosis-input"), byId("diagnosis-options"), byId("diagnosis-coding"));
    byId("ai-agreement-choices").hidden = !hasAnalysis;
    byId("ai-agreement-none").hidden = hasAnalysis;
    form.addEventListener("change", (event) => {
      if (event.target.name === "management") this.toggleInformationRequest();
      if (event.target.id === "follow-up-kind") this.toggleFollowUp();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  toggleInformationRequest() {
    const needed = checked("management") === "more_information";
    byId("information-request-field").hidden = !needed;
    byId("information-request").required = needed;
    // A follow-up is set once the case is finished, not while asking for more.
    byId("follow-up-field").hidden = needed;
    if (needed) byId("follow-up-kind").value = "";
    this.toggleFollowUp();
  }

  toggleFollowUp() {
    const kind = byId("follow-up-kind").value;
    byId("follow-up-interval").hidden = kind !== "interval";
    byId("follow-up-on").hidden = kind !== "date";
    byId("follow-up-details").hidden = !kind;
  }

  followUp() {
    const kind = byId("follow-up-kind").value;
    if (!kind) return null;
    const followUp = { instructions: byId("follow-up-instructions").value.trim() };
    if (kind === "interval") followUp.interval_days = Number(byId("follow-up-days").value);
    else followUp.due_on = byId("follow-up-date").value;
    return followUp;
  }

  body() {
    const body = {
      diagnosis: this.picker.value(),
      certainty: checked("certainty"),
      management: checked("management"),
      patient_message: byId("patient-message").value.trim(),
      ai_agreement: this.hasAnalysis ? checked("ai_agreement") : "not_applicable",
    };
    const note = byId("internal-note").value.trim();
    if (note) body.internal_note = note;
    if (body.management === "more_information") body.information_request = byId("information-request").value.trim();
    const followUp = this.followUp();
    if (followUp) body.follow_up = followUp;
    return body;
  }

  /** What is plainly missing, as the API would report it. */
  missing(body) {
    const errors = {};
    if (!body.diagnosis) errors.diagnosis = ["Choose a coded diagnosis or type one."];
    if (!body.certainty) errors.certainty = ["Choose how certain you are."];
    if (!body.management) errors.management = ["Choose a management decision."];
    if (body.management === "more_information" && !body.information_request) {
      errors.information_request = ["Say exactly what the patient should send or answer."];
    }
    const followUp = body.follow_up;
    if (followUp && !(followUp.interval_days || followUp.due_on)) {
      errors.follow_up = ["Give the number of days or the date of the follow-up."];
    } else if (followUp && !followUp.instructions) {
      errors.follow_up = ["Tell the patient what to photograph for the follow-up."];
    }
    if (!body.patient_message) errors.patient_message = ["Write a message to the patient."];
    if (!body.ai_agreement) errors.ai_agreement = ["Say whether you agree with the decision support."];
    return errors;
  }

  async submit() {
    const body = this.body();
    const errors = this.missing(body);
    if (Object.keys(errors).length) {
      this.showErrors(errors);
      return;
    }
    const button = byId("assessment-submit");
    button.disabled = true;
    try {
      const assessment = await api.post(`/cases/${this.caseId}/assessment`, body);
      this.showErrors({});
      await this.onSubmitted(assessment);
    } catch (error) {
      this.showErrors(Object.keys(error.errors || {}).length ? error.errors : { form: [error.message] });
    } finally {
      button.disabled = false;
    }
  }

  showErrors(errors) {
    const summary = byId("assessment-errors");
    const items = [];
    for (const field of Object.keys(FIELDS)) {
      const text = messages(errors[field]).join(" ");
      const slot = byId(`${field}-error`);
      slot.textContent = text;
      slot.hidden = !text;
      for (const input of controls(field)) input.setAttribute("aria-invalid", String(Boolean(text)));
      if (text) items.push(this.summaryItem(field, text));
    }
    for (const [field, value] of Object.entries(errors)) {
      if (!(field in FIELDS)) items.push(h("li", { text: messages(value).join(" ") }));
    }
    summary.querySelector("ul").replaceChildren(...items);
    summary.hidden = items.length === 0;
    if (items.length) summary.focus();
  }

  summaryItem(field, text) {
    const link = h("a", { href: "#", text: `${LABELS[field]}: ${text}` });
    link.addEventListener("click", (event) => {
      event.preventDefault();
      controls(field)[0].focus();
    });
    return h("li", {}, link);
  }
}
