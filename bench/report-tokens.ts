import { fmt, infoRow, type Row } from './report-rows.js';
import type { TokenFigures } from './token-verify.js';

/** The tokens scenario's part of the report (bench/report.ts): its rows of the figures table and its own table. */

/** Checks per CPU-second of the service process, from its CPU per check: the per-core figure the report has for servers. */
const perCpuSecond = (cpuMsPerRequest: number) => 1000 / cpuMsPerRequest;

/** Verification per core and its p99, each backend's checks, and the ratio; the peak RSS of a service measured here. */
export function tokenRows(t: TokenFigures): { rows: Row[]; peaks: [string, number][] } {
  const { repeated, signature } = t;
  const rows = [
    infoRow(
      "verifying a token in the seller's backend (verifier package, jwksUrl cached), every signature checked: verifications/s per core",
      `${fmt(signature.perCpuSecond)} per CPU-second (the loop, one at a time: ${fmt(signature.rate)}/s; ${signature.fetches} requests sent while measured, ${signature.failed} failed); p99 ${fmt(signature.p99Us, 1)} µs`,
    ),
    infoRow(
      'verifying a token seen again (the verified-token cache, as repeated requests meet it): verifications/s per core',
      `${fmt(repeated.perCpuSecond)} per CPU-second; p99 ${fmt(repeated.p99Us, 1)} µs (${repeated.fetches} requests, ${repeated.failed} failed)`,
    ),
  ];
  const peaks: [string, number][] = [];
  for (const [backend, check] of Object.entries(t.checks)) {
    const { level, users } = check;
    const by = check.measuredBy === 'entitlements' ? 'the entitlements scenario' : 'this scenario, in turns with the verifications';
    rows.push(
      infoRow(
        `GET /v1/entitlements on ${backend}, ${users} users, ${level.concurrency} in flight: checks/s, p99`,
        `${fmt(level.rate)}/s, ${fmt(perCpuSecond(level.cpuMsPerRequest))} per CPU-second of the service; p99 ${fmt(level.p99, 1)} ms`,
        `measured by ${by}`,
      ),
      infoRow(
        `verifying a token ÷ GET /v1/entitlements on ${backend}: verifications/s ÷ checks/s, per core`,
        `every signature: ${fmt(signature.perCpuSecond / perCpuSecond(level.cpuMsPerRequest), 1)}×; seen again: ${fmt(repeated.perCpuSecond / perCpuSecond(level.cpuMsPerRequest), 0)}×`,
        `p99 ${fmt(signature.p99Us, 1)} µs (seen again ${fmt(repeated.p99Us, 1)} µs) against ${fmt(level.p99 * 1000)} µs, with no network call`,
      ),
    );
    if (check.measuredBy === 'tokens') peaks.push([`tokens on ${backend} (${users})`, check.peakRssMb]);
  }
  return { rows, peaks };
}

/** Every repetition: the verifications on either path and the checks they are compared with, all in µs. */
export function tokenTable(t: TokenFigures): string {
  const lines = [
    '#### Token verification against GET /v1/entitlements',
    '',
    `${t.tokens} premium users' tokens from \`GET /v1/entitlements\` (${t.tokenSource.backend}, ${t.tokenSource.users} users), verified in turn by \`verifyEntitlement\` in one process, one at a time. Per CPU-second: the verifying process's (or the service's) user + system time.`,
    '',
    '| what | per CPU-second | /s | p50 µs | p99 µs | failed | network requests while measured | /s of each repetition |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const v of [t.signature, t.repeated])
    lines.push(
      `| verifyEntitlement, ${v.path === 'signature' ? 'every signature checked' : 'tokens seen again (verified-token cache)'} | ${fmt(v.perCpuSecond)} | ${fmt(v.rate)} | ${fmt(v.p50Us, 1)} | ${fmt(v.p99Us, 1)} | ${v.failed} | ${v.fetches} | ${v.reps.map((r) => fmt(r.rate)).join(', ')} |`,
    );
  for (const [backend, { level, users }] of Object.entries(t.checks))
    lines.push(
      `| GET /v1/entitlements on ${backend}, ${users} users, ${level.concurrency} in flight | ${fmt(perCpuSecond(level.cpuMsPerRequest))} | ${fmt(level.rate)} | ${fmt(level.p50 * 1000)} | ${fmt(level.p99 * 1000)} | ${level.failed} | 1 per check | ${level.reps.map((r) => fmt(r.rate)).join(', ')} |`,
    );
  return lines.join('\n');
}
