// A consignor's printable statement (`/statement?sale=&consignor=`; staff).

import { param } from "./dom.js";
import { saleId, rest, fail, header, table, totals, done } from "./doc.js";

async function main() {
  const id = Number(param("consignor"));
  const r = await rest.get(`/api/v1/sales/${saleId}/consignors/${id}/statement`);
  const st = r.statement;
  const c = st.consignor;
  const money = await header(st, r.currency_exponent, `Statement ${saleId}-C${id}`, `${c.name}\n${c.contact}`);
  table(
    [["Lot"], ["Description"], ["Result"], ["Hammer", 1], ["Commission", 1], ["Net", 1]],
    st.lines.map((l) => [l.position + 1, l.title, l.status, money(l.hammer), money(l.commission), money(l.net)]),
  );
  totals([
    ["Lots sold", `${st.sold}`],
    ["Lots passed", `${st.passed}`],
    ["Hammer", money(st.hammer)],
    ["Commission", money(st.commission)],
    ["Net proceeds", money(st.net), true],
  ]);
  done("");
}

main().catch(fail);
