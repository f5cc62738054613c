// Signing in with a code from the desk. The desk registers a bidder and
// hands over a printed code (and a QR of `/?sale=S&code=C`); redeeming it
// (`POST /api/v1/sales/{sale}/sign-in`) gives this phone the bidder's
// token, kept exactly like a self-registration's (the controller stores
// it). A code works once, so the code is taken out of the address bar at
// once: it must not stay in the history, a bookmark or a shared link.
//
// A token can be replaced at the desk (a lost phone, a new code): then the
// node refuses the old one and the page says so, with the code entry.

import { $, setText, show } from "./dom.js";

// Why a code was refused, in words for a bidder at the venue.
const REFUSED = {
  unknown_sign_in: "That code was not found. Check it against the slip from the desk: each code works once, and a replaced code stops working.",
  sign_in_expired: "That code has expired. Ask the desk for a new one.",
  unknown_sale: "This sale is not known here. Ask the desk.",
  network: "The saleroom system did not answer. Check your connection and tap Sign in again.",
  no_quorum: "The saleroom system is reconnecting. Tap Sign in again in a moment.",
};

// `?sale=S&code=C` in the address: take it out (replaceState, so neither
// the history nor a reload keeps the code) and return {sale, code}, or
// null. The page is left on the sale's own view, `#/sale/S`.
export function takeUrlCode() {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const sale = params.get("sale");
  if (code === null && sale === null) return null;
  params.delete("code");
  params.delete("sale");
  const query = params.toString();
  const saleId = /^\d+$/.test(sale ?? "") ? Number(sale) : null;
  const hash = saleId !== null ? `#/sale/${saleId}` : location.hash;
  history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}${hash}`);
  return code && saleId !== null ? { sale: saleId, code } : null;
}

export class SignIn {
  // rest: a Rest for the node in use; sale(): the open sale;
  // onSignedIn(me): store and use `{sale, paddle, token, index}`.
  constructor(rest, sale, onSignedIn) {
    this.rest = rest;
    this.sale = sale;
    this.onSignedIn = onSignedIn;
    this.busy = false;
    this.failed = false;
    this.replaced = false;
    this.signedIn = null;
    $("#signin-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const code = $("#signin-code").value.trim();
      if (!code) return this.say("error", "Type the code printed on your slip from the desk, e.g. K7QMT-4ZPXC.");
      if (this.sale() === null) return this.say("error", "Open a sale first.");
      this.redeem(this.sale(), code);
    });
  }

  async redeem(sale, code) {
    if (this.busy) return;
    this.busy = true;
    $("#signin-submit").disabled = true;
    this.say("sending", "Signing you in with the desk code…");
    try {
      const r = await this.rest.post(`/api/v1/sales/${sale}/sign-in`, { code });
      this.failed = false;
      this.replaced = false;
      this.signedIn = r.paddle;
      $("#signin-code").value = "";
      this.say("ok", `✓ Signed in as paddle ${r.paddle}.`);
      this.onSignedIn({ sale: r.sale, paddle: r.paddle, token: r.token, index: r.index, name: null });
    } catch (err) {
      this.failed = true;
      // Keep what was typed (or came in the link) to try again.
      $("#signin-code").value = code;
      this.say("error", `✕ ${REFUSED[err.code] || `Could not sign in: ${err.message}`}`, err.code);
    } finally {
      this.busy = false;
      $("#signin-submit").disabled = false;
    }
  }

  // The node refused this phone's token: replaced at the desk (or the
  // cluster no longer knows it). The controller has dropped it.
  onReplaced() {
    this.replaced = true;
    this.signedIn = null;
    this.say("none", "");
  }

  // A self-registration (or anything else) took over: no stale notices.
  reset() {
    this.replaced = false;
    this.failed = false;
  }

  say(state, text, code = "") {
    const el = $("#signin-msg");
    el.dataset.state = state;
    el.dataset.code = code || "";
    el.className = `outcome ${state}`;
    setText(el, text);
  }

  // The code entry shows for anyone not signed in, and stays while a code
  // is being redeemed or was refused (also over an older registration).
  render(me) {
    show($("#signin-panel"), !me || this.busy || this.failed);
    show($("#signin-replaced"), this.replaced && !me);
    const status = $("#signin-status");
    show(status, !!me && this.signedIn === me.paddle);
    if (me) setText(status, `✓ Signed in as paddle ${me.paddle}`);
  }
}
