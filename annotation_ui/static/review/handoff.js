// A message from one page to the next in the same tab (e.g. "assessment saved"),
// announced once by the page that opens next.

const KEY = "casebox.review.handoff";

export function leaveHandoff(message) {
  sessionStorage.setItem(KEY, message);
}

/** The waiting message, removed so that a reload does not repeat it. */
export function takeHandoff() {
  const message = sessionStorage.getItem(KEY);
  sessionStorage.removeItem(KEY);
  return message;
}
