// Single-key shortcuts: never while the user types, and switchable off for people
// whose assistive technology or habits clash with them (remembered per browser).

const STORAGE_KEY = "casebox.review.shortcuts";

/** Whether the event comes from a place where keys are text, not commands. */
export function isTyping(event) {
  const target = event.target;
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  if (target.tagName !== "INPUT") return false;
  const nonText = ["button", "checkbox", "radio", "range", "submit", "reset", "color", "file"];
  return !nonText.includes(target.type);
}

function shortcutsEnabled() {
  return localStorage.getItem(STORAGE_KEY) !== "off";
}

/** Wire a checkbox that switches shortcuts on and off, and reflect the stored choice. */
export function bindShortcutToggle(checkbox) {
  checkbox.checked = shortcutsEnabled();
  checkbox.addEventListener("change", () => {
    localStorage.setItem(STORAGE_KEY, checkbox.checked ? "on" : "off");
  });
}

/** Whether a key event may run a single-key shortcut. */
export function acceptsShortcut(event) {
  return shortcutsEnabled() && !isTyping(event) && !event.altKey && !event.ctrlKey && !event.metaKey;
}
