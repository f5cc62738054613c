// A lot's picture. The protocol has no image field for lots yet (see
// web/NEEDS.md), so each lot gets a drawn card: its number and initial on
// a colour chosen from its id, so lots are easy to tell apart at a glance.

const HUES = [212, 28, 152, 338, 262, 190, 8, 96];

export function lotPicture(lot) {
  const hue = HUES[lot.lot % HUES.length];
  const initial = (lot.title || "?").trim().charAt(0).toUpperCase() || "?";
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 160 120");
  svg.setAttribute("aria-hidden", "true");
  const bg = `hsl(${hue} 55% 28%)`;
  const fg = `hsl(${hue} 70% 88%)`;
  svg.innerHTML =
    `<rect width="160" height="120" rx="10" fill="${bg}"/>` +
    `<circle cx="130" cy="22" r="44" fill="${fg}" opacity=".12"/>` +
    `<text x="80" y="76" text-anchor="middle" font-size="56" font-weight="800" fill="${fg}"></text>` +
    `<text x="12" y="110" font-size="14" font-weight="700" fill="${fg}" opacity=".85"></text>`;
  const [big, small] = svg.querySelectorAll("text");
  big.textContent = initial;
  small.textContent = `LOT ${lot.position + 1}`;
  return svg;
}
