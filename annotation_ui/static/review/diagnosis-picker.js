// The diagnosis field: a combobox over the coded list (GET /diagnoses) that falls back
// to free text when nothing coded fits.

import * as api from "./api.js";
import { SearchCombobox } from "./combobox.js";
import { h, humanize } from "./dom.js";

const FREE_TEXT_HINT = "Not coded: saved as free text unless you pick a coded diagnosis from the list.";

export class DiagnosisPicker extends SearchCombobox {
  constructor(input, listbox, hint) {
    super(input, listbox, hint, "diagnosis-option");
    this.coded = null;
  }

  /** {code} when a coded diagnosis was picked, {text} otherwise, or null when empty. */
  value() {
    if (this.coded) return { code: this.coded.code };
    const text = this.input.value.trim();
    return text ? { text } : null;
  }

  fetchOptions(text) {
    return api.get(`/diagnoses${api.query({ q: text, limit: 20 })}`);
  }

  optionContent(option) {
    return [option.display, option.group ? h("span", { class: "group", text: ` · ${humanize(option.group)}` }) : null];
  }

  typed() {
    this.coded = null;
    this.hint.textContent = this.input.value.trim() ? FREE_TEXT_HINT : this.defaultHint;
  }

  picked(option) {
    this.coded = option;
    this.input.value = option.display;
    this.hint.textContent = `Coded: ${option.display} (SNOMED CT ${option.code}).`;
  }
}
