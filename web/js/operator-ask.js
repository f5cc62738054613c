// The operator console's confirmation step for anything that cannot be
// taken back (retracting a bid, revoking a clerk token). It says what will
// happen, can insist on a reason, and runs the action while it stays open:
// a refusal is read right there, in the node's own words, and the operator
// can correct the reason or cancel. An in-page dialog rather than
// confirm(): it can hold a reason field, and its first focus is Cancel, so
// a tired Enter does nothing harmful.

import { $, setText, show } from "./dom.js";

// ask({title, text, yes, reason, run, onError}) resolves with what
// run(reason) resolved with, or null when the operator cancelled.
// reason: null (none asked) or {label, max}: then the reason is required.
// run must throw (an ApiError) to refuse; onError(e) hears each refusal.
export function ask({ title, text, yes = "Confirm", reason = null, run, onError = () => {} }) {
  const dlg = $("#op-confirm");
  const form = $("#op-confirm-form");
  const field = $("#op-confirm-reason");
  const msg = $("#op-confirm-msg");
  const btn = $("#op-confirm-yes");
  if (dlg.open) return Promise.resolve(null);
  setText($("#op-confirm-h"), title);
  setText($("#op-confirm-text"), text);
  setText(btn, yes);
  setText(msg, "");
  show($("#op-confirm-reason-box"), !!reason);
  field.value = "";
  field.removeAttribute("aria-invalid");
  if (reason) {
    setText($("#op-confirm-reason-label"), reason.label);
    field.maxLength = reason.max;
  }
  btn.disabled = false;
  let busy = false;
  return new Promise((resolve) => {
    const done = (value) => {
      form.onsubmit = null;
      dlg.oncancel = null;
      $("#op-confirm-no").onclick = null;
      if (dlg.open) dlg.close();
      resolve(value);
    };
    form.onsubmit = async (e) => {
      e.preventDefault();
      if (busy) return;
      const why = field.value.trim();
      if (reason && !why) {
        field.setAttribute("aria-invalid", "true");
        field.focus();
        return setText(msg, "A reason is required: it is kept with the record.");
      }
      busy = true;
      btn.disabled = true;
      setText(msg, "Sending…");
      try {
        done(await run(why));
      } catch (err) {
        setText(msg, `✕ Refused: ${err.message}`);
        onError(err);
      } finally {
        busy = false;
        btn.disabled = false;
      }
    };
    // Escape cancels, except while the request is out (its answer decides).
    dlg.oncancel = (e) => {
      if (busy) e.preventDefault();
      else done(null);
    };
    $("#op-confirm-no").onclick = () => !busy && done(null);
    dlg.showModal();
  });
}
