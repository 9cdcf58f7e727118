import type { ProcessingFigures } from './processing.js';
import { fmt, type Row } from './report-rows.js';
import { tokenRows, tokenTable } from './report-tokens.js';
import { usageRows, usageTable } from './report-usage.js';
import {
  APPLIED_AFTER_BURST_MS,
  type EntitlementFigures,
  type IntakeFigures,
  type LevelFigures,
  type SeriesFigures,
  type SoakFigures,
} from './scenarios.js';
import type { TokenFigures } from './token-verify.js';
import type { UsageFigures } from './usage.js';

/** Pure rendering of benchmark figures: the Markdown report and the SVG chart. */

export interface Machine {
  cpu: string;
  cores: number;
  /** The service's Node flags (those of `npm start`). */
  serviceNodeArgs: string[];
  memoryGb: number;
  kernel: string;
  node: string;
  postgres: string;
  postgresDurability: string;
  sqlite: string;
  date: string;
}

export interface BenchFigures {
  command: string;
  machine: Machine;
  targetConcurrency: number;
  reps: number;
  intake?: IntakeFigures;
  processing?: Record<string, ProcessingFigures>;
  entitlements?: Record<string, EntitlementFigures>;
  tokens?: TokenFigures;
  usage?: UsageFigures;
  soak?: SoakFigures;
}

const verdict = (met: boolean | undefined) => (met === undefined ? '' : met ? 'met' : '**missed**');

function levelAt(series: SeriesFigures, concurrency: number): LevelFigures | undefined {
  return series.levels.find((l) => l.concurrency === concurrency);
}

/** Every figure against its target, with the baseline it is compared to. */
function targetRows(f: BenchFigures): Row[] {
  const rows: Row[] = [];
  const c = f.targetConcurrency;
  const peaks: [string, number][] = [];
  if (f.intake) {
    const floor = levelAt(f.intake.floor, c);
    const docs = levelAt(f.intake.docsStyle, c);
    for (const [backend, series] of Object.entries(f.intake.service)) {
      const level = levelAt(series, c);
      if (!level) continue;
      const [base, baseName, ratio] = backend === 'sqlite' ? [floor, 'floor', 0.5] : [docs, 'docs-style', 2];
      if (base) {
        const r = level.rate / base.rate;
        rows.push({
          figure: `intake on ${backend}, ${c} in flight: events/s`,
          measured: `${fmt(level.rate)} (${fmt(r, 2)}× ${baseName})`,
          target: `≥ ${ratio}× ${baseName}`,
          baseline: `${baseName} ${fmt(base.rate)}`,
          met: r >= ratio,
        });
      }
      const alone = f.intake.intakeRole[backend] && levelAt(f.intake.intakeRole[backend], c);
      if (alone && base) {
        rows.push({
          figure: `intake alone (PROCESS_ROLE=intake, no worker) on ${backend}, ${c} in flight: events/s`,
          measured: `${fmt(alone.rate)} (${fmt(alone.rate / base.rate, 2)}× ${baseName}), p99 ${fmt(alone.p99, 1)} ms`,
          target: '',
          baseline: `${baseName} ${fmt(base.rate)}`,
          met: undefined,
        });
      }
      const storing = f.intake.storeOnly[backend] && levelAt(f.intake.storeOnly[backend], c);
      if (storing && floor) {
        rows.push({
          figure: `storing alone on ${backend}, ${c} in flight: events/s`,
          measured: `${fmt(storing.rate)} (${fmt(storing.rate / floor.rate, 2)}× floor; the service does ${fmt(level.rate / storing.rate, 2)}× of it)`,
          target: '',
          baseline: `floor ${fmt(floor.rate)}`,
          met: undefined,
        });
      }
      rows.push({
        figure: `intake on ${backend}, ${c} in flight: p99`,
        measured: `${fmt(level.p99, 1)} ms`,
        target: '< 50 ms',
        baseline: `floor ${fmt(floor?.p99 ?? Number.NaN, 1)} ms, docs-style ${fmt(docs?.p99 ?? Number.NaN, 1)} ms`,
        met: level.p99 < 50,
      });
      const applied = level.appliedAfterMs;
      rows.push({
        figure: `intake on ${backend}, ${c} in flight: every event of the burst applied, after it ends`,
        measured:
          applied === undefined
            ? 'not measured'
            : Number.isFinite(applied)
              ? `${fmt(applied / 1000, 2)} s (the slowest repetition)`
              : 'not within 60 s',
        target: `< ${APPLIED_AFTER_BURST_MS / 1000} s`,
        baseline: 'the worker yields to a burst until the backlog is 5 s old (WORKER_YIELD_LIMIT)',
        met: applied !== undefined && applied < APPLIED_AFTER_BURST_MS,
      });
      rows.push({
        figure: `intake on ${backend}: CPU per event`,
        measured: `${fmt(level.cpuMsPerRequest, 3)} ms`,
        target: '',
        baseline: `floor ${fmt(floor?.cpuMsPerRequest ?? Number.NaN, 3)} ms, docs-style ${fmt(docs?.cpuMsPerRequest ?? Number.NaN, 3)} ms`,
        met: undefined,
      });
      peaks.push([`intake on ${backend}`, series.peakRssMb]);
    }
    for (const [backend, series] of Object.entries(f.intake.intakeRole)) peaks.push([`intake alone on ${backend}`, series.peakRssMb]);
    peaks.push(['floor', f.intake.floor.peakRssMb], ['docs-style', f.intake.docsStyle.peakRssMb]);
  }
  for (const [backend, p] of Object.entries(f.processing ?? {})) {
    rows.push({
      figure: `processing a ${p.backlog}-event backlog on ${backend}: events/s`,
      measured: `${fmt(p.rate)}${p.drained ? '' : ' (not drained in time)'}`,
      target: '≥ 3000',
      baseline: '',
      met: p.rate >= 3000 && p.drained,
    });
    rows.push({
      figure: `intake p99 while draining on ${backend}`,
      measured: `${fmt(p.intakeP99, 1)} ms (${p.intakeFailed} failed)`,
      target: '< 100 ms',
      baseline: '',
      met: p.intakeP99 < 100 && p.intakeFailed === 0,
    });
    const two = p.twoProcesses;
    rows.push({
      figure: `the same with the worker in a second process (PROCESS_ROLE=intake + PROCESS_ROLE=worker) on ${backend}`,
      measured: `${fmt(two.rate)}${two.drained ? '' : ' (not drained in time)'}, intake p99 ${fmt(two.intakeP99, 1)} ms (${two.intakeFailed} failed)`,
      target: '',
      baseline: `one process ${fmt(p.rate)}`,
      met: undefined,
    });
    peaks.push([`processing on ${backend}`, p.peakRssMb], [`processing on ${backend}, two processes (the larger)`, two.peakRssMb]);
  }
  for (const [backend, e] of Object.entries(f.entitlements ?? {})) {
    const large = levelAt(e.large, c);
    const small = levelAt(e.small, c);
    const floor = levelAt(e.floor, c);
    const lookup = levelAt(e.lookupOnly, c);
    const intakeRole = levelAt(e.largeIntakeRole, c);
    if (!large || !small || !floor || !lookup || !intakeRole) continue;
    rows.push({
      figure: `entitlement checks on ${backend}, ${e.users} users, ${c} in flight: checks/s`,
      measured: `${fmt(large.rate)} (${fmt(large.rate / floor.rate, 2)}× floor)`,
      target: '≥ 0.5× constant-JSON floor',
      baseline: `floor ${fmt(floor.rate)}`,
      met: large.rate / floor.rate >= 0.5,
    });
    rows.push({
      figure: `entitlement checks on a PROCESS_ROLE=intake process, ${backend}, ${e.users} users: checks/s`,
      measured: `${fmt(intakeRole.rate)} (${fmt(intakeRole.rate / floor.rate, 2)}× floor), p99 ${fmt(intakeRole.p99, 1)} ms`,
      target: '',
      baseline: `floor ${fmt(floor.rate)}`,
      met: undefined,
    });
    rows.push({
      figure: `the lookup alone on ${backend}, ${e.users} users, ${c} in flight: checks/s`,
      measured: `${fmt(lookup.rate)} (${fmt(lookup.rate / floor.rate, 2)}× floor; the service does ${fmt(large.rate / lookup.rate, 2)}× of it)`,
      target: '',
      baseline: `floor ${fmt(floor.rate)}`,
      met: undefined,
    });
    rows.push({
      figure: `entitlement checks on ${backend}, ${e.users} users: p99`,
      measured: `${fmt(large.p99, 1)} ms`,
      target: '< 10 ms',
      baseline: `floor ${fmt(floor.p99, 1)} ms`,
      met: large.p99 < 10,
    });
    rows.push({
      figure: `entitlement checks on ${backend}: rate at ${e.users} / at ${e.smallUsers} users`,
      measured: `${fmt(large.rate / small.rate, 2)} (${fmt(small.rate)} at ${e.smallUsers})`,
      target: '≥ 0.8',
      baseline: '',
      met: large.rate / small.rate >= 0.8,
    });
    rows.push({
      figure: `entitlement checks on ${backend}: CPU per check`,
      measured: `${fmt(large.cpuMsPerRequest, 3)} ms`,
      target: '',
      baseline: `floor ${fmt(floor.cpuMsPerRequest, 3)} ms`,
      met: undefined,
    });
    peaks.push([`entitlements on ${backend} (10k)`, e.small.peakRssMb], [`entitlements on ${backend} (${e.users})`, e.large.peakRssMb]);
  }
  if (f.tokens) {
    const tokens = tokenRows(f.tokens);
    rows.push(...tokens.rows);
    peaks.push(...tokens.peaks);
  }
  if (f.usage) {
    const usage = usageRows(f.usage, c, f.entitlements);
    rows.push(...usage.rows);
    peaks.push(...usage.peaks);
  }
  if (f.soak) {
    rows.push({
      figure: `soak on ${f.soak.backend}, ${f.soak.seconds} s: RSS growth`,
      measured: `${fmt(f.soak.growthPercent, 1)} % (${fmt(f.soak.earlyRssMb, 1)} → ${fmt(f.soak.lateRssMb, 1)} MB; ${f.soak.failed} failed)`,
      target: f.soak.seconds >= 600 ? '< 10 %' : '< 10 % (over 10 min; this run was shorter)',
      baseline: '',
      met: f.soak.growthPercent < 10 && f.soak.failed === 0,
    });
    peaks.push([`soak on ${f.soak.backend}`, f.soak.peakRssMb]);
  }
  for (const [name, mb] of peaks)
    rows.push({
      figure: `peak RSS: ${name}`,
      measured: `${fmt(mb, 1)} MB`,
      target: name === 'floor' || name === 'docs-style' ? '' : '< 200 MB',
      baseline: '',
      met: name === 'floor' || name === 'docs-style' ? undefined : mb < 200,
    });
  return rows;
}

function seriesTable(title: string, series: SeriesFigures[]): string {
  const lines = [
    `#### ${title}`,
    '',
    '| server | in flight | req/s | p50 ms | p99 ms | CPU ms/req | failed | req/s of each repetition |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const s of series) {
    for (const l of s.levels)
      lines.push(
        `| ${s.name} | ${l.concurrency} | ${fmt(l.rate)} | ${fmt(l.p50, 1)} | ${fmt(l.p99, 1)} | ${fmt(l.cpuMsPerRequest, 3)} | ${l.failed} | ${l.reps.map((r) => fmt(r.rate)).join(', ')} |`,
      );
  }
  return lines.join('\n');
}

export function renderReport(f: BenchFigures, chartPath: string | undefined): string {
  const m = f.machine;
  const out = [
    `Generated by \`${f.command}\` on ${m.date}. Medians of ${f.reps} repetitions; ratios are taken within this one run.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Linux ${m.kernel}, Node ${m.node}, ${m.postgres} (${m.postgresDurability}), SQLite ${m.sqlite} (WAL, synchronous=FULL). ` +
      `The service runs as \`node ${[...m.serviceNodeArgs, 'src/main.js'].join(' ')}\` (the flags of \`npm start\`). ` +
      "The machine is shared with other engineers' test runs, and the load generator runs on it too.",
    '',
    '`default-…` is the default deployment (`npm start`: PROCESS_ROLE=all, intake and the sync worker in one process), which the targets are judged on; `intake-role-…` is a PROCESS_ROLE=intake process with no worker anywhere.',
    '',
    '| figure | measured | target | baseline (same run) | |',
    '|---|---|---|---|---|',
    ...targetRows(f).map((r) => `| ${r.figure} | ${r.measured} | ${r.target} | ${r.baseline} | ${verdict(r.met)} |`),
    '',
  ];
  if (chartPath) out.push(`![intake events/s and p99 against concurrency](${chartPath})`, '');
  if (f.intake)
    out.push(
      seriesTable('Intake', [
        f.intake.floor,
        f.intake.docsStyle,
        ...Object.values(f.intake.service),
        ...Object.values(f.intake.intakeRole),
        ...Object.values(f.intake.storeOnly),
      ]),
      '',
    );
  for (const [backend, e] of Object.entries(f.entitlements ?? {}))
    out.push(seriesTable(`Entitlement checks on ${backend}`, [e.floor, e.small, e.large, e.largeIntakeRole, e.lookupOnly]), '');
  if (f.tokens) out.push(tokenTable(f.tokens), '');
  if (f.usage) out.push(usageTable(f.usage), '');
  for (const [backend, p] of Object.entries(f.processing ?? {})) {
    out.push(
      `Processing on ${backend}: drain rates ${p.rates.map((r) => fmt(r)).join(', ')} events/s; intake p99 while draining ${p.intakeP99s.map((r) => fmt(r, 1)).join(', ')} ms. ` +
        `With the worker in a second process: ${p.twoProcesses.rates.map((r) => fmt(r)).join(', ')} events/s; intake p99 ${p.twoProcesses.intakeP99s.map((r) => fmt(r, 1)).join(', ')} ms.`,
      '',
    );
  }
  return out.join('\n');
}

const COLORS = ['#1b6ca8', '#d1495b', '#2e933c', '#edae49', '#6b4c9a', '#444444'];

/** Two panels (events/s and p99 ms against in-flight requests, log-scaled x) as a self-contained SVG. */
export function renderChart(series: SeriesFigures[]): string {
  const width = 900;
  const height = 380;
  const panel = { w: 360, h: 260, top: 50 };
  const lefts = [70, 510];
  const levels = [...new Set(series.flatMap((s) => s.levels.map((l) => l.concurrency)))].sort((a, b) => a - b);
  const lo = Math.log2(Math.max(1, levels[0] ?? 1));
  const hi = Math.log2(Math.max(2, levels.at(-1) ?? 2));
  const xOf = (left: number, c: number) => left + ((Math.log2(c) - lo) / Math.max(1, hi - lo)) * panel.w;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  const metrics: [string, (l: LevelFigures) => number][] = [
    ['events/s', (l) => l.rate],
    ['p99 latency (ms)', (l) => l.p99],
  ];
  metrics.forEach(([label, value], p) => {
    const left = lefts[p]!;
    const max = Math.max(1, ...series.flatMap((s) => s.levels.map(value).filter(Number.isFinite))) * 1.1;
    const yOf = (v: number) => panel.top + panel.h - (v / max) * panel.h;
    parts.push(`<text x="${left + panel.w / 2}" y="30" text-anchor="middle" font-size="14">${label} against requests in flight</text>`);
    parts.push(
      `<line x1="${left}" y1="${panel.top + panel.h}" x2="${left + panel.w}" y2="${panel.top + panel.h}" stroke="#000"/><line x1="${left}" y1="${panel.top}" x2="${left}" y2="${panel.top + panel.h}" stroke="#000"/>`,
    );
    for (let t = 0; t <= 4; t++) {
      const v = (max / 4) * t;
      parts.push(
        `<text x="${left - 6}" y="${yOf(v) + 4}" text-anchor="end">${v >= 100 ? v.toFixed(0) : v.toFixed(1)}</text><line x1="${left}" y1="${yOf(v)}" x2="${left + panel.w}" y2="${yOf(v)}" stroke="#ddd"/>`,
      );
    }
    for (const c of levels) parts.push(`<text x="${xOf(left, c)}" y="${panel.top + panel.h + 16}" text-anchor="middle">${c}</text>`);
    series.forEach((s, i) => {
      const points = s.levels
        .filter((l) => Number.isFinite(value(l)))
        .map((l) => `${xOf(left, l.concurrency).toFixed(1)},${yOf(value(l)).toFixed(1)}`);
      parts.push(`<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" points="${points.join(' ')}"/>`);
      for (const point of points)
        parts.push(`<circle cx="${point.split(',')[0]}" cy="${point.split(',')[1]}" r="3" fill="${COLORS[i % COLORS.length]}"/>`);
    });
  });
  series.forEach((s, i) => {
    const x = 70 + i * 200;
    parts.push(
      `<rect x="${x}" y="${height - 30}" width="14" height="4" fill="${COLORS[i % COLORS.length]}"/><text x="${x + 20}" y="${height - 25}">${s.name}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
