// Money on the page. Amounts arrive as integers of minor units (1250 with
// exponent 2 is 12.50) and leave as decimal strings ("12.50"). Every step
// here is integer or string arithmetic: a float never touches an amount, so
// the page can never show 0.6000000000000001.

const SYMBOLS = { EUR: "€", USD: "$", GBP: "£", JPY: "¥", CHF: "CHF ", INR: "₹" };

// "1250", 2 -> "12.50" (no grouping: this is what the API accepts).
export function toDecimal(minor, exp) {
  const neg = minor < 0;
  let digits = String(Math.abs(minor));
  if (exp === 0) return (neg ? "-" : "") + digits;
  digits = digits.padStart(exp + 1, "0");
  const whole = digits.slice(0, digits.length - exp);
  const frac = digits.slice(digits.length - exp);
  return (neg ? "-" : "") + whole + "." + frac;
}

// 125000, 2 -> "1,250.00": grouped for reading.
export function formatAmount(minor, exp) {
  if (minor === null || minor === undefined) return "—";
  const [whole, frac] = toDecimal(minor, exp).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

// With the currency: "€1,250.00", or "1,250.00 SEK" for a code without a
// symbol we know.
export function formatMoney(minor, sale) {
  if (minor === null || minor === undefined) return "—";
  const exp = exponentOf(sale);
  const sym = SYMBOLS[sale.currency];
  const amount = formatAmount(minor, exp);
  return sym ? `${sym}${amount}` : `${amount} ${sale.currency}`;
}

// The API says `currency_exponent`; fall back on the common ones if a view
// lacks it (old node) rather than guess 2 for JPY.
export function exponentOf(sale) {
  if (Number.isInteger(sale.currency_exponent)) return sale.currency_exponent;
  return { JPY: 0, KRW: 0, ISK: 0, BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3 }[sale.currency] ?? 2;
}

// What a person typed -> minor units, or null if it is not an amount.
// Accepts "12", "12.5", "12.50" and, when there is no dot, a decimal comma
// ("12,50": phone keypads in many locales only offer a comma).
export function parseDecimal(text, exp) {
  let s = String(text).trim().replace(/[\s\u00a0\u202f']/g, "");
  if (!s.includes(".") && (s.match(/,/g) || []).length === 1) s = s.replace(",", ".");
  else s = s.replace(/,(?=\d{3}(\D|$))/g, ""); // thousands commas: 1,250.00
  const m = /^(\d{1,16})(?:\.(\d*))?$/.exec(s);
  if (!m) return null;
  const frac = m[2] ?? "";
  if (frac.length > exp) return null;
  const big = BigInt(m[1]) * 10n ** BigInt(exp) + BigInt((frac + "0".repeat(exp)).slice(0, exp) || "0");
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(big);
}

// Buyer's premium: amount × bp / 10 000 rounded half up, in BigInt so a
// large amount times the basis points cannot lose precision (the node
// computes it the same way in 128 bits).
export function premiumOf(minor, bp) {
  return Number((BigInt(minor) * BigInt(bp) + 5000n) / 10000n);
}

// "25 %", "12.5 %" from basis points, with integer arithmetic.
export function formatBp(bp) {
  const whole = Math.floor(bp / 100);
  const frac = String(bp % 100).padStart(2, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac} %` : `${whole} %`;
}

// The increment that applies at `price` (the band with the largest `from`
// at or below it), or the clerk's override.
export function incrementAt(sale, lot, price) {
  if (lot.asking_increment) return lot.asking_increment;
  let inc = null;
  for (const band of sale.increments || []) {
    if (band.from <= price) inc = band.increment;
  }
  return inc ?? 1;
}

// The quick-bid amounts: the minimum next bid, then `steps - 1` increments
// above it (so "+2" is two increments above the current price).
export function stepsAbove(sale, lot, steps) {
  let amount = lot.minimum_next;
  for (let i = 1; i < steps; i++) amount += incrementAt(sale, lot, amount);
  return amount;
}
