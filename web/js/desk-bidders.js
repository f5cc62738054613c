// The desk's bidder table: find a bidder by name, paddle or phone, then
// fix their contact details, ID check and deposit note, approve or
// unapprove, set or clear a spending limit, or reissue their sign-in when
// they lost their phone (after a confirm step: the old sign-in stops
// working at once). One editor row is open at a time, under its bidder;
// while it is open, live refreshes wait, so nothing typed is lost.

import { $, h, setText } from "./dom.js";
import { report } from "./staff.js";
import { formatMoney, toDecimal, parseDecimal, exponentOf } from "./money.js";
import { outcomeOpen } from "./bid-id.js";

const SEARCH_DELAY_MS = 250;

export class BidderTable {
  // rest: a Rest; sale(): the SaleView (currency) or null; card: the
  // SignInCard for a reissued code.
  constructor({ rest, sale, card }) {
    this.rest = rest;
    this.sale = sale;
    this.card = card;
    this.saleId = null;
    this.rows = [];
    this.editing = null; // {paddle, what: "details" | "limit" | "reissue"}
    this.dirty = false;
    this.asked = 0; // the latest search: older answers are dropped
    this.timer = null;
    $("#desk-search-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.search({ loud: true });
    });
    $("#desk-search").addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.search({ loud: true }), SEARCH_DELAY_MS);
    });
    $("#desk-search-all").addEventListener("click", () => {
      $("#desk-search").value = "";
      this.search({ loud: true });
    });
  }

  open(saleId) {
    this.saleId = saleId;
    this.rows = [];
    this.editing = null;
    this.search({ loud: true });
  }

  // Something changed (an event, a timer, another write): search again
  // unless an editor is open (then once it closes).
  refresh(minIndex) {
    if (this.editing) {
      this.dirty = true;
      return;
    }
    this.search({ minIndex });
  }

  // loud: a person asked, so a failure is shown; a background refresh
  // keeps the last table quietly.
  async search({ minIndex, loud = false } = {}) {
    if (this.saleId === null) return;
    if (loud) this.editing = null;
    const q = $("#desk-search").value.trim();
    const asked = ++this.asked;
    const saleId = this.saleId;
    try {
      const path = `/api/v1/sales/${saleId}/desk` + (q ? `?q=${encodeURIComponent(q)}` : "");
      const r = await this.rest.get(path, { minIndex });
      if (asked !== this.asked || saleId !== this.saleId) return;
      this.rows = r.bidders;
      this.dirty = false;
      setText($("#desk-results-count"), count(r.bidders.length, q));
      this.render();
    } catch (e) {
      if (loud && asked === this.asked) this.say(false, `✕ Could not search the bidders: ${e.message}`);
    }
  }

  say(ok, text) {
    report($("#desk-list-msg"), ok, text);
  }

  pending(text) {
    const msg = $("#desk-list-msg");
    report(msg, true, text);
    msg.dataset.state = "pending";
  }

  close() {
    this.editing = null;
    if (this.dirty) this.search();
    else this.render();
  }

  render() {
    const sale = this.sale();
    const rows = [];
    for (const b of this.rows) {
      rows.push(this.row(b, sale));
      if (this.editing?.paddle === b.paddle) rows.push(this.editor(b, sale));
    }
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No bidder to show.")));
    $("#desk-results").replaceChildren(...rows);
  }

  row(b, sale) {
    const p = b.paddle;
    // The same button again closes its editor. The reissue confirm starts
    // on Cancel, so a stray Enter never replaces a sign-in.
    const edit = (what) => () => {
      if (this.editing?.paddle === p && this.editing.what === what) return this.close();
      this.editing = { paddle: p, what };
      this.render();
      $(what === "reissue" ? "#desk-reissue-cancel" : "#desk-results tr.editor input")?.focus();
    };
    return h(
      "tr",
      { id: `desk-row-${p}`, class: this.editing?.paddle === p ? "current" : null, dataset: { paddle: p } },
      // data-label: the column's name, shown beside each value when a
      // narrow screen stacks the table (desk.css).
      h("td", { class: "paddle-cell", "data-label": "Paddle" }, String(p)),
      h("td", { "data-label": "Name" }, b.name),
      h("td", { "data-label": "Phone" }, b.phone || "—"),
      h("td", { class: "email-cell", "data-label": "Email" }, b.email || "—"),
      h("td", { "data-label": "ID checked", dataset: { idChecked: String(!!b.id_checked) } }, b.id_checked ? "✓ checked" : "✕ not yet"),
      h("td", { "data-label": "Approved", dataset: { approved: String(!!b.approved) } }, b.approved ? "✓ approved" : "○ waiting"),
      h("td", { class: "num", "data-label": "Limit", dataset: { minor: b.limit ?? "" } }, b.limit == null ? "no limit" : sale ? formatMoney(b.limit, sale) : String(b.limit)),
      h("td", { "data-label": "Sign-in", dataset: { pending: String(!!b.sign_in_pending) } }, b.sign_in_pending ? "◌ code not used yet" : "—"),
      h(
        "td",
        { class: "actions-cell" },
        h(
          "div",
          { class: "row-actions" },
          h("button", { id: `desk-edit-${p}`, class: "btn small", type: "button", dataset: { action: "details" }, onclick: edit("details") }, "Edit details"),
          h(
            "button",
            { id: `desk-approve-${p}`, class: `btn small ${b.approved ? "" : "ok"}`, type: "button", dataset: { action: "approve" }, onclick: (e) => this.approve(b, e.currentTarget) },
            b.approved ? "Unapprove" : "Approve",
          ),
          h("button", { id: `desk-limit-${p}`, class: "btn small", type: "button", dataset: { action: "limit" }, onclick: edit("limit") }, b.limit == null ? "Set limit" : "Change limit"),
          h("button", { id: `desk-reissue-${p}`, class: "btn small warn", type: "button", dataset: { action: "reissue" }, onclick: edit("reissue") }, "Reissue sign-in (lost phone)"),
        ),
      ),
    );
  }

  editor(b, sale) {
    const what = this.editing.what;
    const body = what === "details" ? this.detailsForm(b) : what === "limit" ? this.limitForm(b, sale) : this.reissueConfirm(b);
    return h("tr", { class: "editor", dataset: { paddle: b.paddle, editor: what } }, h("td", { colspan: 9 }, body));
  }

  detailsForm(b) {
    const form = h(
      "form",
      { class: "edit-form", "aria-label": `Details of paddle ${b.paddle}` },
      h("p", { class: "label" }, `Paddle ${b.paddle} · ${b.name}: contact, ID and deposit`),
      h(
        "div",
        { class: "form-grid" },
        h("div", {}, h("label", { for: "desk-edit-phone" }, "Phone"), h("input", { id: "desk-edit-phone", type: "tel", autocomplete: "off", value: b.phone || "" })),
        h("div", {}, h("label", { for: "desk-edit-email" }, "Email"), h("input", { id: "desk-edit-email", type: "email", autocomplete: "off", value: b.email || "" })),
        h("div", {}, h("label", { for: "desk-edit-deposit" }, "Deposit note"), h("input", { id: "desk-edit-deposit", autocomplete: "off", value: b.deposit_note || "" })),
      ),
      h("label", { class: "check" }, h("input", { id: "desk-edit-id-checked", type: "checkbox", checked: !!b.id_checked }), "ID checked"),
      h(
        "div",
        { class: "row wrap" },
        h("button", { id: "desk-edit-save", class: "btn primary" }, "Save details"),
        h("button", { id: "desk-edit-cancel", class: "btn", type: "button", onclick: () => this.close() }, "Cancel"),
      ),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = {
        phone: $("#desk-edit-phone").value.trim(),
        email: $("#desk-edit-email").value.trim(),
        id_checked: $("#desk-edit-id-checked").checked,
        deposit_note: $("#desk-edit-deposit").value.trim(),
      };
      const r = await this.act(`Saving the details of paddle ${b.paddle}`, `Details of paddle ${b.paddle} saved`, $("#desk-edit-save"), () => this.rest.post(this.path(b.paddle, "details"), body));
      if (r) this.done(r.index);
    });
    return form;
  }

  limitForm(b, sale) {
    const exp = sale ? exponentOf(sale) : 2;
    const currency = sale?.currency ?? "";
    const form = h(
      "form",
      { class: "edit-form", "aria-label": `Spending limit of paddle ${b.paddle}` },
      h("p", { class: "label" }, `Paddle ${b.paddle} · ${b.name}: spending limit`),
      h(
        "div",
        { class: "row wrap" },
        h(
          "div",
          { class: "field" },
          h("label", { for: "desk-limit-input" }, `Limit in ${currency}`),
          h("input", { id: "desk-limit-input", inputmode: "decimal", autocomplete: "off", placeholder: "5000.00", value: b.limit == null ? "" : toDecimal(b.limit, exp) }),
        ),
      ),
      h(
        "div",
        { class: "row wrap" },
        h("button", { id: "desk-limit-save", class: "btn primary" }, "Set limit"),
        h("button", { id: "desk-limit-clear", class: "btn", type: "button", disabled: b.limit == null, onclick: (e) => this.setLimit(b, null, e.currentTarget) }, "No limit"),
        h("button", { id: "desk-limit-cancel", class: "btn", type: "button", onclick: () => this.close() }, "Cancel"),
      ),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = $("#desk-limit-input").value.trim();
      const minor = parseDecimal(text, exp);
      if (!text || minor === null || minor <= 0) {
        this.say(false, `✕ Type a limit like 5000.00 in ${currency} (at most ${exp} decimals), or press “No limit”.`);
        $("#desk-limit-input").focus();
        return;
      }
      this.setLimit(b, toDecimal(minor, exp), $("#desk-limit-save"));
    });
    return form;
  }

  async setLimit(b, limit, button) {
    const sale = this.sale();
    const amount = limit === null ? null : sale ? formatMoney(parseDecimal(limit, exponentOf(sale)), sale) : limit;
    const doing = limit === null ? `Clearing the limit of paddle ${b.paddle}` : `Setting the limit of paddle ${b.paddle} to ${amount}`;
    const done = limit === null ? `Paddle ${b.paddle} has no spending limit now` : `Paddle ${b.paddle} may spend up to ${amount}`;
    const r = await this.act(doing, done, button, () => this.rest.post(this.path(b.paddle, "limit"), { limit }));
    if (r) this.done(r.index);
  }

  reissueConfirm(b) {
    return h(
      "div",
      { class: "confirm", role: "group", "aria-label": `Reissue the sign-in of paddle ${b.paddle}` },
      h("p", {}, h("strong", {}, `Reissue the sign-in of paddle ${b.paddle} (${b.name})?`)),
      h("p", {}, "The old sign-in stops working at once on every phone and browser that used it. The bidder gets a new code and QR to sign in again; their paddle, bids and approval stay."),
      h(
        "div",
        { class: "row wrap" },
        h("button", { id: "desk-reissue-confirm", class: "btn danger", type: "button", onclick: (e) => this.reissue(b, e.currentTarget) }, "Yes, reissue the sign-in"),
        h("button", { id: "desk-reissue-cancel", class: "btn", type: "button", onclick: () => this.close() }, "Cancel"),
      ),
    );
  }

  async reissue(b, button) {
    const sale = this.sale();
    const r = await this.act(`Reissuing the sign-in of paddle ${b.paddle}`, `Paddle ${b.paddle} has a new sign-in card; the old sign-in no longer works`, button, () => this.rest.post(this.path(b.paddle, "reissue"), {}));
    if (!r) return;
    this.card.show({ heading: "New sign-in (lost phone)", name: b.name, paddle: r.paddle ?? b.paddle, sale, sign_in: r.sign_in });
    this.done(r.index);
  }

  async approve(b, button) {
    const approved = !b.approved;
    const doing = `${approved ? "Approving" : "Unapproving"} paddle ${b.paddle}`;
    const r = await this.act(doing, `Paddle ${b.paddle} ${approved ? "approved: may bid" : "no longer approved: may not bid"}`, button, () =>
      this.rest.post(this.path(b.paddle, "approve"), { approved }),
    );
    if (r) this.done(r.index);
  }

  path(paddle, what) {
    return `/api/v1/sales/${this.saleId}/bidders/${paddle}/${what}`;
  }

  done(index) {
    this.editing = null;
    this.search({ minIndex: index });
  }

  // Run one write and say what happened: the node's own message on a
  // refusal. The button stays disabled while it runs (no double send).
  // These writes carry no id of their own, so an unconfirmed one is
  // checked in the table before it is repeated.
  async act(doing, done, button, call) {
    this.pending(`${doing}…`);
    if (button) button.disabled = true;
    try {
      const r = await call();
      this.say(true, `✓ ${done} (index ${r?.index ?? "?"})`);
      return r;
    } catch (e) {
      this.say(
        false,
        outcomeOpen(e)
          ? `✕ ${doing}: not confirmed — ${e.message}. Search again to see whether it was saved before repeating it.`
          : `✕ ${doing}: refused — ${e.message}`,
      );
      return null;
    } finally {
      if (button?.isConnected) button.disabled = false;
    }
  }
}

function count(n, q) {
  if (n === 0) return q ? `No bidder matches “${q}”.` : "No bidders registered in this sale yet.";
  const s = `${n} bidder${n === 1 ? "" : "s"}`;
  return q ? `${s} matching “${q}”` : `${s}, all of this sale`;
}
