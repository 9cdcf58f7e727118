import { openStore } from '../src/db/index.js';
import { unfinishedEvents } from './backlog.js';
import { type Backend, seedBacklog } from './dataset.js';
import { buildEvents, userIdOf } from './events.js';
import { runLoad } from './load.js';
import type { ServerProcess } from './processes.js';
import type { BenchOptions } from './scenarios.js';
import { uniquePrefix, webhookRequests } from './scenarios.js';
import { median, percentile } from './stats.js';
import { startService, withDatabase } from './targets.js';

/**
 * Draining a stored backlog while intake keeps receiving, in two deployments taking turns per
 * repetition: the default one (`npm start`, intake and worker in one process) and the worker in a
 * second process beside a PROCESS_ROLE=intake one (what a supervised worker process would be).
 */

interface DrainFigures {
  /** Median drain rate over repetitions, events/s. */
  rate: number;
  rates: number[];
  intakeP99: number;
  intakeP99s: number[];
  intakeFailed: number;
  drained: boolean;
  /** The highest of the deployment's processes. */
  peakRssMb: number;
}

export interface ProcessingFigures extends DrainFigures {
  backlog: number;
  /** The worker in a process of its own (PROCESS_ROLE=worker) beside a PROCESS_ROLE=intake process. */
  twoProcesses: DrainFigures;
}

type Deployment = 'one-process' | 'two-processes';

interface DrainRun {
  rate: number;
  intakeP99: number;
  intakeFailed: number;
  drained: boolean;
  peakRssMb: number;
}

export async function benchProcessing(backend: Backend, options: BenchOptions): Promise<ProcessingFigures> {
  const runs: Record<Deployment, DrainRun[]> = { 'one-process': [], 'two-processes': [] };
  for (let rep = 0; rep < options.reps; rep++)
    for (const deployment of ['one-process', 'two-processes'] as const)
      runs[deployment].push(await drainOnce(backend, options, rep, deployment));
  return { backlog: options.backlog, ...summary(runs['one-process']), twoProcesses: summary(runs['two-processes']) };
}

function summary(runs: DrainRun[]): DrainFigures {
  return {
    rate: median(runs.map((r) => r.rate)),
    rates: runs.map((r) => r.rate),
    intakeP99: median(runs.map((r) => r.intakeP99)),
    intakeP99s: runs.map((r) => r.intakeP99),
    intakeFailed: runs.reduce((n, r) => n + r.intakeFailed, 0),
    drained: runs.every((r) => r.drained),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
  };
}

async function startDeployment(url: string, deployment: Deployment): Promise<ServerProcess[]> {
  if (deployment === 'one-process') return [await startService(url, 'all')];
  const intake = await startService(url, 'intake');
  try {
    return [intake, await startService(url, 'worker')];
  } catch (error) {
    await intake.stop();
    throw error;
  }
}

async function drainOnce(backend: Backend, options: BenchOptions, rep: number, deployment: Deployment): Promise<DrainRun> {
  return withDatabase(backend, async (db) => {
    const subscriptions = Math.max(1, Math.floor(options.backlog / 5));
    const plan = {
      prefix: uniquePrefix('backlog'),
      subscriptions,
      eventsPerSubscription: Math.ceil(options.backlog / subscriptions),
      firstCreated: Math.floor(Date.now() / 1000) - 3600,
      linkedUsers: options.linkedUsers,
    };
    const users = options.linkedUsers ? Array.from({ length: subscriptions }, (_, s) => userIdOf(plan, s)) : [];
    await seedBacklog(db.url, buildEvents(plan).slice(0, options.backlog), users);
    const store = await openStore(db.url, { migrate: false });
    // The backlog is drained when every event stored before the drain is finished: intake keeps
    // a few events in flight at any moment, so waiting for none at all could last the whole run.
    const backlogStoredBefore = Date.now();
    const servers = await startDeployment(db.url, deployment);
    try {
      let done = false;
      const started = performance.now();
      const count = options.drainIntakeRate * options.drainSeconds;
      const background = runLoad(servers[0]!.origin, webhookRequests('/webhooks/stripe')(`drain-${rep}`, count), {
        concurrency: 16,
        count,
        maxMs: options.drainSeconds * 1000,
        ratePerSecond: options.drainIntakeRate,
        shouldStop: () => done,
      });
      let left = await unfinishedEvents(store, backlogStoredBefore);
      while (left > 0 && performance.now() - started < options.drainSeconds * 1000) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        left = await unfinishedEvents(store, backlogStoredBefore);
      }
      const elapsed = (performance.now() - started) / 1000;
      const unprocessed = await unfinishedEvents(store);
      done = true;
      const intake = await background;
      const run = {
        rate: (options.backlog + intake.ok - unprocessed) / elapsed,
        intakeP99: percentile(intake.latenciesMs, 99),
        intakeFailed: intake.failed,
        drained: left === 0,
        peakRssMb: Math.max(...servers.map((server) => server.usage().peakRssMb)),
      };
      options.log(
        `  processing ${backend} (${deployment}) rep ${rep}: ${run.rate.toFixed(0)} events/s over ${elapsed.toFixed(1)} s, intake p99 ${run.intakeP99.toFixed(1)} ms (${intake.ok} received), backlog left ${left}`,
      );
      return run;
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
      await store.close();
    }
  });
}
