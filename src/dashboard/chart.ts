import { type Html, html } from './html.js';

export interface ActivityBucket {
  start: string;
  received: number;
  applied: number;
  failed: number;
  dead: number;
}

const SERIES = [
  ['received', '#8c959f'],
  ['applied', '#1f883d'],
  ['failed', '#bf8700'],
  ['dead', '#cf222e'],
] as const;

const WIDTH = 560;
const HEIGHT = 190;
const LEFT = 36;
const BOTTOM = 22;
const TOP = 10;

/** A grouped bar chart of the activity buckets, as SVG with presentation attributes (no inline styles, no script). */
export function activityChart(title: string, buckets: ActivityBucket[], label: (start: string) => string): Html {
  const max = Math.max(1, ...buckets.flatMap((b) => SERIES.map(([key]) => b[key])));
  const plotWidth = WIDTH - LEFT - 8;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const slot = plotWidth / Math.max(1, buckets.length);
  const bar = Math.max(1, (slot * 0.8) / SERIES.length);
  const y = (value: number) => TOP + plotHeight - (value / max) * plotHeight;
  const labelEvery = Math.ceil(buckets.length / 8);
  return html`<figure>
<figcaption><strong>${title}</strong></figcaption>
<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${title}" xmlns="http://www.w3.org/2000/svg">
<line x1="${LEFT}" y1="${TOP + plotHeight}" x2="${WIDTH - 8}" y2="${TOP + plotHeight}" stroke="#d1d9e0"/>
<line x1="${LEFT}" y1="${TOP}" x2="${WIDTH - 8}" y2="${TOP}" stroke="#eef1f4"/>
<text x="${LEFT - 4}" y="${TOP + 4}" text-anchor="end" font-size="10" fill="#59636e">${max}</text>
<text x="${LEFT - 4}" y="${TOP + plotHeight}" text-anchor="end" font-size="10" fill="#59636e">0</text>
${buckets.map((b, i) => {
  const x0 = LEFT + i * slot + slot * 0.1;
  return html`<g>
${SERIES.map(([key, colour], s) =>
  b[key] > 0
    ? html`<rect x="${(x0 + s * bar).toFixed(1)}" y="${y(b[key]).toFixed(1)}" width="${bar.toFixed(1)}" height="${(TOP + plotHeight - y(b[key])).toFixed(1)}" fill="${colour}"><title>${label(b.start)}: ${b[key]} ${key}</title></rect>`
    : '',
)}
${i % labelEvery === 0 ? html`<text x="${(x0 + (bar * SERIES.length) / 2).toFixed(1)}" y="${HEIGHT - 6}" text-anchor="middle" font-size="10" fill="#59636e">${label(b.start)}</text>` : ''}
</g>`;
})}
</svg>
</figure>`;
}

export const chartLegend = (): Html => html`<ul class="legend">${SERIES.map(([key]) => html`<li class="${key}">${key}</li>`)}</ul>`;
