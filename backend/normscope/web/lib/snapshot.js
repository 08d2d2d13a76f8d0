// Each chart's own buttons: a PNG sized for a slide, an SVG, and a link to the view that shows this chart.

export const SLIDE = { width: 1920, height: 1080, scale: 2 }; // 1080p at 2×: sharp on a 4K projector
const SLIDE_TYPE = 1.6; // type grows with the image, so the chart reads from the back of a room
const LINK_ICON = {
  width: 24,
  height: 24,
  path: "M2 9h10a3 3 0 0 1 0 6H2a3 3 0 0 1 0-6zM3 11a1 1 0 0 0 0 2h8a1 1 0 0 0 0-2zM12 9h10a3 3 0 0 1 0 6H12a3 3 0 0 1 0-6zM13 11a1 1 0 0 0 0 2h8a1 1 0 0 0 0-2z",
};

// The chart's layout for the image: every font and the margins scaled up together.
export function slideLayout(layout) {
  const copy = JSON.parse(JSON.stringify(layout));
  const grow = (node) => {
    for (const [key, value] of Object.entries(node)) {
      if (key === "font" && typeof value?.size === "number") value.size *= SLIDE_TYPE;
      if (value && typeof value === "object") grow(value);
    }
  };
  grow(copy);
  for (const side of ["l", "r", "t", "b"]) if (copy.margin?.[side]) copy.margin[side] *= SLIDE_TYPE;
  delete copy.width;
  delete copy.height;
  return copy;
}

const slug = (text) => text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "chart";

async function download(gd, format, name) {
  const opts = { format, width: SLIDE.width, height: SLIDE.height, scale: format === "png" ? SLIDE.scale : 1 };
  const url = await Plotly.toImage({ data: gd.data, layout: slideLayout(gd.layout) }, opts);
  const a = Object.assign(document.createElement("a"), { href: url, download: `${name}.${format}` });
  document.body.append(a);
  a.click();
  a.remove();
}

export function toast(text) {
  const note = Object.assign(document.createElement("output"), { className: "toast", textContent: text });
  document.body.append(note);
  setTimeout(() => note.remove(), 2500);
}

// The clipboard needs a secure origin (localhost, https): on a LAN address the link is shown to copy by hand.
async function copyLink(url) {
  try {
    await navigator.clipboard.writeText(url);
    toast("link to this view copied");
  } catch {
    window.prompt("Copy this link to the view:", url);
  }
}

// Plotly modebar buttons for one chart; title() names the files, linkTo(chart) makes the view's link.
export function snapshotButtons(chartEl, title, linkTo) {
  const name = () => `${slug(title())}-${chartEl.id.replace(/^chart-/, "")}`;
  const chart = () => chartEl.closest(".panel")?.dataset.chart ?? null;
  return [
    { name: "slide-png", title: "download PNG for a slide (1920×1080 at 2×)", icon: Plotly.Icons.camera, click: (gd) => download(gd, "png", name()) },
    { name: "slide-svg", title: "download SVG", icon: Plotly.Icons["camera-retro"], click: (gd) => download(gd, "svg", name()) },
    { name: "view-link", title: "copy link to this view", icon: LINK_ICON, click: () => copyLink(linkTo(chart())) },
  ];
}
