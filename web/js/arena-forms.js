// The bidder's own inputs on a lot: quick bids, a maximum (confirmed with
// premium and total first) and self-registration. While the sale is
// paused the page sends no bid at all and says so (the node would refuse
// it with `sale_paused` anyway; saying it at once is clearer).

import { $, setText } from "./dom.js";
import { formatMoney, toDecimal, parseDecimal, premiumOf, formatBp, exponentOf } from "./money.js";
import { pauseOf } from "./pause.js";

const PAUSED = "✕ Not sent: the sale is paused. Bids are taken again when it resumes.";

// ctx: app (the controller's state), rest, currentLot(), adopt(me) (store
// and use a bidder), signIn (its notices), refuse(text, code, lot).
export function wireBidForms(ctx) {
  const { app } = ctx;
  const paused = () => !!pauseOf(app.model?.sale);

  // Quick bids: the amount on the button, as a plain bid (max = amount).
  $("#quick").addEventListener("click", (e) => {
    const b = e.target.closest("button");
    const lot = ctx.currentLot();
    if (!b || b.disabled || !lot) return;
    if (paused()) return ctx.refuse(PAUSED, "sale_paused", lot.lot);
    const amount = Number(b.dataset.minor);
    app.desk.place(lot.lot, toDecimal(amount, exponentOf(app.model.sale)), amount);
  });

  // A maximum (proxy) bid, confirmed with the premium and total first.
  $("#max-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const lot = ctx.currentLot();
    const sale = app.model?.sale;
    if (!lot || !sale) return;
    if (paused()) return ctx.refuse(PAUSED, "sale_paused", lot.lot);
    const exp = exponentOf(sale);
    const max = parseDecimal($("#max-input").value, exp);
    const help = $("#max-help");
    if (max === null) return setText(help, `Type an amount like ${toDecimal(lot.minimum_next, exp)} (at most ${exp} decimals).`);
    if (max < lot.minimum_next) return setText(help, `Your maximum must be at least ${formatMoney(lot.minimum_next, sale)}.`);
    setText(help, "");
    const prem = premiumOf(max, sale.premium_bp);
    setText($("#c-max"), formatMoney(max, sale));
    setText($("#c-prem-label"), `Buyer's premium (${formatBp(sale.premium_bp)})`);
    setText($("#c-prem"), formatMoney(prem, sale));
    setText($("#c-total"), formatMoney(max + prem, sale));
    const dlg = $("#confirm");
    dlg.onclose = () => {
      if (dlg.returnValue !== "ok") return;
      // The sale may have paused while the dialog was open.
      if (paused()) return ctx.refuse(PAUSED, "sale_paused", lot.lot);
      app.desk.place(lot.lot, toDecimal(max, exp), max);
      $("#max-input").value = "";
    };
    dlg.returnValue = "";
    dlg.showModal();
  });

  $("#register-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("#reg-name").value.trim();
    if (!name) return setText($("#reg-msg"), "Please type your name.");
    setText($("#reg-msg"), "Registering…");
    try {
      const r = await ctx.rest.post(`/api/v1/sales/${app.sale}/bidders`, { name });
      setText($("#reg-msg"), `Welcome! Your paddle number is ${r.paddle}.`);
      ctx.signIn.reset();
      ctx.adopt({ sale: r.sale ?? app.sale, token: r.token, paddle: r.paddle, name, approved: r.approved, index: r.index });
    } catch (err) {
      setText($("#reg-msg"), `Could not register: ${err.message}`);
    }
  });
}
