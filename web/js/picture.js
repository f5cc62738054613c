// A lot's picture: its photo when the operator uploaded one (served by
// every node at `lot.image`, a path on whichever node the page is using),
// else a drawn card: its number and initial on a colour chosen from its
// id, so lots are easy to tell apart at a glance. A photo that fails to
// load falls back to the card.

const HUES = [212, 28, 152, 338, 262, 190, 8, 96];

let base = () => "";

// Where photo paths are fetched from: the node the page is talking to.
export function setImageBase(f) {
  base = f;
}

// A key that changes when the picture to show changes.
export function pictureKey(lot) {
  return `${lot.lot}|${lot.image || ""}`;
}

export function lotPicture(lot) {
  if (!lot.image) return drawnCard(lot);
  const img = document.createElement("img");
  img.className = "lot-img";
  img.alt = "";
  img.decoding = "async";
  img.src = base() + lot.image;
  img.addEventListener("error", () => img.replaceWith(drawnCard(lot)), { once: true });
  return img;
}

function drawnCard(lot) {
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
