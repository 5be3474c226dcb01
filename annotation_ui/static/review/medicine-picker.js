// The medicine field: a combobox over the formulary (GET /formulary?q=). Only a medicine
// picked from the list counts; typed text alone is not a prescription. ARIA 1.2 combobox.

import * as api from "./api.js";
import { h, humanize } from "./dom.js";

const SEARCH_DELAY_MS = 200;

export class MedicinePicker extends EventTarget {
  constructor(input, listbox, hint) {
    super();
    this.input = input;
    this.listbox = listbox;
    this.hint = hint;
    this.defaultHint = hint.textContent;
    this.options = [];
    this.active = -1;
    this.medicine = null;
    this.timer = null;
    this.searchNumber = 0;
    input.addEventListener("input", () => this.onInput());
    input.addEventListener("keydown", (event) => this.onKey(event));
    input.addEventListener("blur", () => window.setTimeout(() => this.close(), 150));
  }

  /** The picked formulary entry, or null. */
  value() {
    return this.medicine;
  }

  onInput() {
    if (this.medicine) this.choose(null);
    this.hint.textContent = this.input.value.trim()
      ? "Not picked yet: choose a medicine from the list."
      : this.defaultHint;
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
      const results = await api.get(`/formulary${api.query({ q: text })}`);
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
            id: `rx-medicine-option-${index}`,
            role: "option",
            "aria-selected": "false",
            onmousedown: (event) => event.preventDefault(), // keep focus in the input
            onclick: () => this.pick(index),
          },
          option.name,
          h("span", { class: "group", text: ` · ${humanize(option.therapeutic_class)}` }),
          option.controlled_substance ? h("span", { class: "group", text: " · controlled: not prescribable here" }) : null,
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
    this.input.value = option.name;
    this.choose(option);
    this.close();
  }

  /** Set the picked medicine (null clears it) and tell the form. */
  choose(medicine) {
    this.medicine = medicine;
    this.hint.textContent = medicine
      ? `Picked: ${medicine.name} (${humanize(medicine.therapeutic_class)}).`
      : this.defaultHint;
    this.dispatchEvent(new Event("change"));
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
