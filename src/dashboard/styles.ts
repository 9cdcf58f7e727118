/** The dashboard's one stylesheet, served by the service itself (`style-src 'self'`: no inline styles, no CDN). */
export const DASHBOARD_CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; --accent: #0969da;
  --applied: #1f883d; --received: #8c959f; --failed: #bf8700; --dead: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); }
header.top { display: flex; align-items: center; gap: 20px; padding: 10px 24px; border-bottom: 1px solid var(--line); background: var(--bg); }
header.top strong { font-size: 15px; }
header.top nav { display: flex; gap: 14px; flex: 1; }
header.top nav a { color: var(--fg); text-decoration: none; padding: 4px 2px; }
header.top nav a.active { border-bottom: 2px solid var(--accent); font-weight: 600; }
main { padding: 18px 24px 40px; max-width: 1200px; }
h1 { font-size: 20px; margin: 4px 0 14px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; background: var(--bg); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow: auto; max-height: 560px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; margin: 8px 0 14px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12.5px; }
.card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12.5px; background: var(--bg); border: 1px solid var(--line); }
.badge.applied, .badge.ok { color: #1a7f37; border-color: #aceebb; background: #dafbe1; }
.badge.dead, .badge.firing { color: #a40e26; border-color: #ffcecb; background: #ffebe9; }
.badge.failed, .badge.pending, .badge.processing { color: #7a5a00; border-color: #f5e0a0; background: #fff8c5; }
form.inline { display: inline; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin: 6px 0 10px; }
form.filters label { display: flex; flex-direction: column; font-size: 12.5px; color: var(--muted); gap: 2px; }
input, select, button { font: inherit; padding: 5px 8px; border-radius: 6px; border: 1px solid var(--line); background: white; }
button { background: var(--bg); cursor: pointer; }
button.primary { background: var(--applied); border-color: #1a7f37; color: white; }
button.danger { color: var(--dead); }
.legend { display: flex; gap: 14px; font-size: 12.5px; color: var(--muted); margin: 0; padding: 0; list-style: none; }
.legend li::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.legend .received::before { background: var(--received); } .legend .applied::before { background: var(--applied); }
.legend .failed::before { background: var(--failed); } .legend .dead::before { background: var(--dead); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
svg.chart { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 8px; }
.notice { border: 1px solid var(--line); background: var(--bg); border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.notice.error { border-color: #ffcecb; background: #ffebe9; color: #a40e26; }
.notice.done { border-color: #aceebb; background: #dafbe1; color: #1a7f37; }
.login { max-width: 360px; margin: 12vh auto; border: 1px solid var(--line); border-radius: 10px; padding: 20px 24px; }
.login form { display: flex; flex-direction: column; gap: 10px; }
.muted { color: var(--muted); }
.changes td:first-child { white-space: nowrap; }
`;
