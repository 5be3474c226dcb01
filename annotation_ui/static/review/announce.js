// Screen-reader announcements through the page's live regions. The regions exist in
// the page's HTML from the start: assistive technology ignores regions added later.

function region(id) {
  return document.getElementById(id);
}

function speak(element, message) {
  if (!element) return;
  // Clearing first makes a repeated identical message be announced again.
  element.textContent = "";
  window.setTimeout(() => {
    element.textContent = message;
  }, 50);
}

/** Announce politely: after the user's current speech. */
export function announce(message) {
  speak(region("announcer"), message);
}

/** Announce at once (errors and lost claims). */
export function alertNow(message) {
  speak(region("alerter"), message);
}
