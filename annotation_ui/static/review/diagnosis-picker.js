// The diagnosis field: a combobox over the coded list (GET /diagnoses) that falls back
// to free text when nothing coded fits. Follows the ARIA 1.2 combobox pattern.

import * as api from "./api.js";
import { h, humanize } from "./dom.js";

const SEARCH_DELAY_MS = 200;
const FREE_TEXT_HINT = "Not coded: saved as free text unless you pick a coded diagnosis from the list.";

export class DiagnosisPicker {
  constructor(input, listbox, hint) {
    this.input = input;
    this.listbox = listbox;
    this.hint = hint;
    this.defaultHint = hint.textContent;
    this.options = [];
    this.active = -1;
    this.coded = null;
    this.timer = null;
    this.searchNumber = 0;
    input.addEventListener("input", () => this.onInput());
    input.addEventListener("keydown", (event) => this.onKey(event));
    input.addEventListener("blur", () => window.setTimeout(() => this.close(), 150));
  }

  /** {code} when a coded diagnosis was picked, {text} otherwise, or null when empty. */
  value() {
    if (this.coded) return { code: this.coded.code };
    const text = this.input.value.trim();
    return text ? { text } : null;
  }

  onInput() {
    this.coded = null;
    this.hint.textContent = this.input.value.trim() ? FREE_TEXT_HINT : this.defaultHint;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.search(this.input.value.trim()), SEARCH_DELAY_MS);
  }

  async search(text) {
    const number = ++this.searchNumber;
    if (text.length < 2) {
      this.show([]);
      return;
    }
    try {
      const results = await api.get(`/diagnoses${api.query({ q: text, limit: 20 })}`);
      // A slow answer to an older query must not replace a newer one's.
      if (number === this.searchNumber) this.show(results);
    } catch {
      if (number === this.searchNumber) this.show([]);
    }
  }

  show(options) {
    this.options = options;
    this.active = -1;
    this.listbox.replaceChildren(
      ...options.map((option, index) =>
        h(
          "li",
          {
            id: `diagnosis-option-${index}`,
            role: "option",
            "aria-selected": "false",
            onmousedown: (event) => event.preventDefault(), // keep focus in the input
            onclick: () => this.pick(index),
          },
          option.display,
          option.group ? h("span", { class: "group", text: ` · ${humanize(option.group)}` }) : null,
        ),
      ),
    );
    const open = options.length > 0;
    this.listbox.hidden = !open;
    this.input.setAttribute("aria-expanded", String(open));
    this.input.removeAttribute("aria-activedescendant");
  }

  close() {
    this.show([]);
  }

  highlight(index) {
    this.active = index;
    [...this.listbox.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    const item = this.listbox.children[index];
    if (item) {
      this.input.setAttribute("aria-activedescendant", item.id);
      item.scrollIntoView({ block: "nearest" });
    }
  }

  pick(index) {
    const option = this.options[index];
    this.coded = option;
    this.input.value = option.display;
    this.hint.textContent = `Coded: ${option.display} (SNOMED CT ${option.code}).`;
    this.close();
  }

  onKey(event) {
    const open = this.options.length > 0;
    if (event.key === "ArrowDown" && open) {
      event.preventDefault();
      this.highlight((this.active + 1) % this.options.length);
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      this.highlight((this.active - 1 + this.options.length) % this.options.length);
    } else if (event.key === "Enter" && open && this.active >= 0) {
      event.preventDefault();
      this.pick(this.active);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      this.close();
    }
  }
}
