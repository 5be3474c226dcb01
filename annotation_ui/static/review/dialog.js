// Modal dialogs on the native <dialog>: showModal() makes the rest of the page inert
// and Escape closes it; we add the return of focus to whatever opened it.

/** Open a modal dialog; focus goes back to the previously focused element on close. */
export function openDialog(dialog) {
  const opener = document.activeElement;
  dialog.addEventListener(
    "close",
    () => {
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    },
    { once: true },
  );
  dialog.showModal();
  const first = dialog.querySelector("[autofocus], input, select, textarea, button");
  if (first) first.focus();
}

/**
 * Ask for one value with a dialog holding a <form method="dialog">: resolves to the
 * input's value when submitted with the "ok" button, or null when cancelled.
 */
export function askValue(dialog, { value = "" } = {}) {
  const input = dialog.querySelector("input");
  input.value = value;
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "ok" ? input.value.trim() : null),
      { once: true },
    );
    dialog.returnValue = "";
    openDialog(dialog);
  });
}
