// Bid ids for the bids staff place on someone's behalf (commission and
// phone bids). The cluster keeps the first outcome of a bid id, so an id is
// made once per bid and kept for the resends of that same bid: a resend can
// never count twice. A new bid always gets a new id.

// A UUID-shaped id ("tel-1b4e28ba-2fa1-41d2-883f-0016d3cca427": 40
// characters of [a-z0-9-], well inside the 64 the API allows).
// crypto.randomUUID exists only on secure pages (https or localhost), and a
// venue's nodes are often plain http on the LAN, so the id is built from
// crypto.getRandomValues, which every browser has on every page.
export function newBidId(prefix) {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  const x = [...b].map((n) => n.toString(16).padStart(2, "0")).join("");
  return `${prefix}-${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// Whether a failed write left its outcome open: no answer at all (status 0,
// the network), or the node's 5xx (`outcome_unknown`: it may still commit;
// `no_quorum`, `unavailable`: it never left the node). Either way the way
// to learn or to finish it is to send the SAME bid id again. A 4xx is the
// answer itself (a refusal by the rules, bad input): a resend of that id
// would only repeat it.
export function outcomeOpen(err) {
  return err.status === 0 || err.status >= 500;
}
