// The medicine field: a combobox over the formulary (GET /formulary?q=). Only a medicine
// picked from the list counts; typed text alone is not a prescription. It dispatches
// "change" whenever the picked medicine changes.

import * as api from "./api.js";
import { SearchCombobox } from "./combobox.js";
import { h, humanize } from "./dom.js";

export class MedicinePicker extends SearchCombobox {
  constructor(input, listbox, hint) {
    super(input, listbox, hint, "rx-medicine-option");
    this.medicine = null;
  }

  /** The picked formulary entry, or null. */
  value() {
    return this.medicine;
  }

  fetchOptions(text) {
    return api.get(`/formulary${api.query({ q: text })}`);
  }

  optionContent(option) {
    return [
      option.name,
      h("span", { class: "group", text: ` · ${humanize(option.therapeutic_class)}` }),
      option.controlled_substance ? h("span", { class: "group", text: " · controlled: not prescribable here" }) : null,
    ];
  }

  typed() {
    if (this.medicine) this.choose(null);
    this.hint.textContent = this.input.value.trim()
      ? "Not picked yet: choose a medicine from the list."
      : this.defaultHint;
  }

  picked(option) {
    this.input.value = option.name;
    this.choose(option);
  }

  /** Set the picked medicine (null clears it) and tell the form. */
  choose(medicine) {
    this.medicine = medicine;
    this.hint.textContent = medicine
      ? `Picked: ${medicine.name} (${humanize(medicine.therapeutic_class)}).`
      : this.defaultHint;
    this.dispatchEvent(new Event("change"));
  }
}
