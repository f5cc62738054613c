// Sign-in for the clerk and operator consoles: the token is pasted once
// (the operator's from bootstrap, a clerk's from the operator), checked
// with GET /api/v1/me, and kept in this browser.

import { $, h, param, setText, show } from "./dom.js";
import { Rest, store } from "./rest.js";

// roles: the roles this console accepts. Resolves with {token, me}.
export function signIn(roles) {
  return new Promise((resolve) => {
    const form = $("#login");
    const msg = $("#login-msg");
    const rest = new Rest(() => "", () => store.get("staff.token"));
    const check = async () => {
      try {
        const me = await rest.get("/api/v1/me");
        if (!roles.includes(me.role)) {
          setText(msg, `This token is a ${me.role} token; this console needs ${roles.join(" or ")}.`);
          return false;
        }
        show(form, false);
        show($("#app"), true);
        setText($("#who"), me.role === "clerk" ? `Clerk ${me.label || me.id || ""}`.trim() : "Operator");
        resolve({ token: store.get("staff.token"), me });
        return true;
      } catch (e) {
        setText(msg, e.status === 401 ? "That token is not known to the cluster." : `Could not check the token: ${e.message}`);
        return false;
      }
    };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      store.set("staff.token", $("#token").value.trim());
      setText(msg, "Checking…");
      if (!(await check())) store.set("staff.token", null);
    });
    $("#logout")?.addEventListener("click", () => {
      store.set("staff.token", null);
      location.reload();
    });
    if (store.get("staff.token")) check();
    else show(form, true);
  });
}

// A staff page's sale picker: load the sales (trying again every 5 s
// while the node does not answer), fill `select`, and return the sale to
// show first: the one in `?sale=`, else the one this page last used
// (`storeKey`), else the first that `prefer`'s tests find, else the first.
// `null` (said on `msg`) when there is no sale yet.
export async function pickSale(rest, { select, storeKey, msg, label, prefer = [] }) {
  let sales;
  for (;;) {
    try {
      sales = (await rest.get("/api/v1/sales?limit=200")).sales;
      break;
    } catch (e) {
      report(msg, false, `✕ Could not load the sales: ${e.message} (trying again)`);
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
  select.replaceChildren(...sales.map((s) => h("option", { value: s.sale }, label(s))));
  const fromUrl = param("sale");
  const wanted = fromUrl !== null ? Number(fromUrl) : store.get(storeKey);
  const chosen =
    sales.find((s) => s.sale === wanted) ||
    prefer.map((test) => sales.find(test)).find(Boolean) ||
    sales[0];
  if (!chosen) {
    report(msg, false, "✕ There is no sale yet: the operator creates one first.");
    return { sales, chosen: null };
  }
  select.value = String(chosen.sale);
  return { sales, chosen };
}

// The action-result line every console uses: explicit success or the
// node's own error message, never a silent button.
export function report(el, ok, text) {
  el.className = `outcome ${ok ? "accepted" : "rejected"}`;
  el.dataset.state = ok ? "ok" : "error";
  setText(el, text);
}
