// A text field that searches the API as the user types and offers the answers in a
// listbox: the ARIA 1.2 combobox pattern. Subclasses say what to search, how an
// option reads, and what picking one (or typing over it) means.

import { h } from "./dom.js";

const SEARCH_DELAY_MS = 200;
const MIN_QUERY = 2;

export class SearchCombobox extends EventTarget {
  /** @param idPrefix makes each option's id, which aria-activedescendant points to */
  constructor(input, listbox, hint, idPrefix) {
    super();
    this.input = input;
    this.listbox = listbox;
    this.hint = hint;
    this.idPrefix = idPrefix;
    this.defaultHint = hint.textContent;
    this.options = [];
    this.active = -1;
    this.timer = null;
    this.searchNumber = 0;
    input.addEventListener("input", () => this.onInput());
    input.addEventListener("keydown", (event) => this.onKey(event));
    input.addEventListener("blur", () => window.setTimeout(() => this.close(), 150));
  }

  /** Subclass: the options matching `text` (a promise of an array). */
  fetchOptions(_text) {
    return Promise.resolve([]);
  }

  /** Subclass: the content of one option's list item. */
  optionContent(_option) {
    return [];
  }

  /** Subclass: the user picked `option` from the list. */
  picked(_option) {}

  /** Subclass: the user typed, so an earlier pick no longer stands. */
  typed() {}

  onInput() {
    this.typed();
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.search(this.input.value.trim()), SEARCH_DELAY_MS);
  }

  async search(text) {
    const number = ++this.searchNumber;
    if (text.length < MIN_QUERY) {
      this.show([]);
      return;
    }
    try {
      const results = await this.fetchOptions(text);
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
            id: `${this.idPrefix}-${index}`,
            role: "option",
            "aria-selected": "false",
            onmousedown: (event) => event.preventDefault(), // keep focus in the input
            onclick: () => this.pick(index),
          },
          ...this.optionContent(option),
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
    this.picked(this.options[index]);
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
