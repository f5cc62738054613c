// The sign-in card a bidder takes away from the desk: paddle number, QR
// code, the printed code and the address. The node keeps only the code's
// hash, so this card is the only copy: it lives in the page (never in
// storage, never in the console) until the clerk presses Done, leaving the
// page while it shows asks first, and Print prints the card alone
// (desk.css).

import { $, setText, show } from "./dom.js";

export class SignInCard {
  constructor() {
    this.el = $("#desk-card");
    // Leaving (reload, sale link) while a code is on screen would lose it.
    this.guard = (e) => {
      e.preventDefault();
      e.returnValue = "";
    };
    $("#desk-print").addEventListener("click", () => window.print());
    $("#desk-done").addEventListener("click", () => {
      this.clear();
      $("#desk-name").focus();
    });
  }

  // heading: what happened ("New bidder", "New sign-in: lost phone");
  // sale: the SaleView (for its title); sign_in: {code, url, qr_svg}.
  show({ heading, name, paddle, sale, sign_in }) {
    setText($("#desk-card-kind"), heading);
    setText($("#desk-card-paddle"), String(paddle));
    setText($("#desk-card-name"), name || "");
    setText($("#desk-card-sale"), sale ? `${sale.title} (sale ${sale.sale})` : "");
    setText($("#desk-code"), sign_in.code);
    // The address is text to copy or read, not a link: opening it here
    // would sign this desk's browser in as the bidder.
    setText($("#desk-url"), sign_in.url);
    const qr = qrNode(sign_in.qr_svg);
    $("#desk-qr").replaceChildren(qr ?? document.createTextNode("The QR code could not be shown: use the code and the address."));
    this.el.dataset.paddle = String(paddle);
    show(this.el, true);
    addEventListener("beforeunload", this.guard);
    this.el.scrollIntoView({ block: "start" });
    $("#desk-print").focus();
  }

  // Done: the code leaves the page for good.
  clear() {
    for (const id of ["#desk-card-kind", "#desk-card-paddle", "#desk-card-name", "#desk-card-sale", "#desk-code", "#desk-url"]) setText($(id), "");
    $("#desk-qr").replaceChildren();
    delete this.el.dataset.paddle;
    show(this.el, false);
    removeEventListener("beforeunload", this.guard);
  }

  showing() {
    return !this.el.hidden;
  }
}

// The node's QR (`sign_in.qr_svg`) as an element. The node renders it and
// puts no user text in it; it is still parsed as SVG (not assigned as
// innerHTML) and stripped of anything active, so even a damaged or
// tampered answer can only draw, never run: belt and braces on a page that
// holds a staff token.
export function qrNode(markup) {
  if (typeof markup !== "string" || !markup.trim()) return null;
  const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.localName !== "svg" || doc.getElementsByTagName("parsererror").length) return null;
  for (const el of [...svg.querySelectorAll("script, foreignObject, iframe, object, embed, a")]) el.remove();
  for (const el of [svg, ...svg.querySelectorAll("*")]) {
    for (const attr of [...el.attributes]) {
      const name = attr.name.toLowerCase();
      const local = name.endsWith("href") && !attr.value.trim().startsWith("#");
      if (name.startsWith("on") || local) el.removeAttribute(attr.name);
    }
  }
  // Scale with the card: a fixed width and height without a viewBox would
  // crop instead.
  const w = parseFloat(svg.getAttribute("width"));
  const hgt = parseFloat(svg.getAttribute("height"));
  if (!svg.hasAttribute("viewBox") && w > 0 && hgt > 0) svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "QR code: scan it with the phone's camera to sign in");
  return document.importNode(svg, true);
}
