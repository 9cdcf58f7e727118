import { fmt, infoRow, type Row } from './report-rows.js';
import type { EntitlementFigures, LevelFigures } from './scenarios.js';
import type { UsageFigures } from './usage.js';

/** The usage scenario's part of the report (bench/report.ts): its rows of the figures table and its own table. */

const levelAt = (levels: LevelFigures[], concurrency: number) => levels.find((l) => l.concurrency === concurrency);

/** Per backend at the target concurrency: the consumptions, beside the entitlement checks of the same run, and the ratio. */
export function usageRows(
  u: UsageFigures,
  concurrency: number,
  entitlements: Record<string, EntitlementFigures> = {},
): { rows: Row[]; peaks: [string, number][] } {
  const rows: Row[] = [];
  const peaks: [string, number][] = [];
  for (const [backend, { users, checks, consumes }] of Object.entries(u)) {
    const consume = levelAt(consumes.levels, concurrency);
    const check = levelAt(checks.levels, concurrency);
    if (!consume || !check) continue;
    // The entitlements scenario's checks at the same size, when it ran in this run: the same request with no usage configured.
    const e = entitlements[backend];
    const plain = e?.smallUsers === users ? levelAt(e.small.levels, concurrency) : undefined;
    const without = plain ? `; without usage configured (the entitlements scenario) ${fmt(plain.rate)}/s, p99 ${fmt(plain.p99, 1)} ms` : '';
    rows.push(
      infoRow(
        `usage consumes (POST /v1/usage/:feature) on ${backend}, ${users} users, ${concurrency} in flight: consumes/s, p99`,
        `${fmt(consume.rate)}/s; p50 ${fmt(consume.p50, 1)} ms, p99 ${fmt(consume.p99, 1)} ms; CPU ${fmt(consume.cpuMsPerRequest, 3)} ms per consume; ${consume.failed} failed`,
        `entitlement checks (usage configured) ${fmt(check.rate)}/s, p99 ${fmt(check.p99, 1)} ms, CPU ${fmt(check.cpuMsPerRequest, 3)} ms${without}`,
      ),
      infoRow(
        `usage consumes ÷ entitlement checks on ${backend}: rate, p99, CPU per request`,
        `${fmt(consume.rate / check.rate, 2)}× the rate; p99 ${fmt(consume.p99 / check.p99, 2)}×; CPU ${fmt(consume.cpuMsPerRequest / check.cpuMsPerRequest, 2)}×`,
        'measured in turns in this scenario, on one database',
      ),
    );
    peaks.push([`usage consumes on ${backend} (${users})`, consumes.peakRssMb]);
  }
  return { rows, peaks };
}

/** Every level and repetition of the consumptions and of the checks they are compared with. */
export function usageTable(u: UsageFigures): string {
  const lines = [
    '#### Usage consumes against GET /v1/entitlements',
    '',
    'Per backend, one database and two service processes (`PROCESS_ROLE=intake`, as in the entitlements scenario) with `USAGE_LIMITS` set (a limit nothing reaches), taking turns: `GET /v1/entitlements` (which reports the usage too) and `POST /v1/usage/summarize` of 1 with an idempotency key of its own. A refusal (402) or any other non-2xx counts as failed.',
    '',
    '| server | in flight | req/s | p50 ms | p99 ms | CPU ms/req | failed | consumes/s ÷ checks/s | req/s of each repetition |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const { checks, consumes } of Object.values(u)) {
    for (const series of [checks, consumes])
      for (const l of series.levels) {
        const check = levelAt(checks.levels, l.concurrency);
        const ratio = series === consumes && check ? fmt(l.rate / check.rate, 2) : '';
        lines.push(
          `| ${series.name} | ${l.concurrency} | ${fmt(l.rate)} | ${fmt(l.p50, 1)} | ${fmt(l.p99, 1)} | ${fmt(l.cpuMsPerRequest, 3)} | ${l.failed} | ${ratio} | ${l.reps.map((r) => fmt(r.rate)).join(', ')} |`,
        );
      }
  }
  return lines.join('\n');
}
