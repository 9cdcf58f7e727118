import { Writable } from 'node:stream';

/**
 * The suite's check that nothing a test file runs writes a secret the tests know. Secrets are
 * registered where the tests hand them out (a service's config, a process's environment, a
 * signed delivery, a new user, a payload's customer data); the output of every process the
 * tests start (test/helpers/processes.ts) and every in-process service's log is captured here;
 * after each test file (test/helpers/log-scan-setup.ts) a capture that holds a registered secret
 * fails the file, naming the secret by its label only. Each test file runs in a fresh module
 * graph, so all of this is per file.
 */

/** Shorter values (a word, a short id) could turn up in output by chance. */
const MIN_SECRET_LENGTH = 12;

/** Everything one stream of one process (or one in-process log) wrote. */
export interface Capture {
  source: string;
  stream: string;
  text: string;
}

interface Leak {
  /** The secret's label, never the secret. */
  secret: string;
  source: string;
  stream: string;
}

/** Secret → its label; the first label a secret is registered with stays. */
const secrets = new Map<string, string>();
const captures: Capture[] = [];
/** Processes whose output may still arrive when the file's tests are done. */
const unfinished = new Set<Promise<void>>();
const OUTPUT_WAIT_MS = 2000;

export function registerSecret(label: string, value: string | null | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH && !secrets.has(value)) secrets.set(value, label);
}

/** A database URL's password and key passphrase, in the user-info or as parameters. */
export function registerDatabasePassword(label: string, databaseUrl: string | undefined): void {
  if (!databaseUrl) return;
  try {
    const url = new URL(databaseUrl);
    registerSecret(`${label} password`, decodeURIComponent(url.password));
    registerSecret(`${label} password`, url.searchParams.get('password'));
    registerSecret(`${label} sslpassword`, url.searchParams.get('sslpassword'));
  } catch {
    // Not a URL (a test of a malformed one): it has no password to look for.
  }
}

/** What a process's environment gives it to keep to itself. */
export function registerEnvironment(env: NodeJS.ProcessEnv): void {
  for (const secret of env.STRIPE_WEBHOOK_SECRET?.split(',') ?? []) registerSecret('STRIPE_WEBHOOK_SECRET', secret.trim());
  registerSecret('STRIPE_SECRET_KEY', env.STRIPE_SECRET_KEY);
  registerSecret('ADMIN_TOKEN', env.ADMIN_TOKEN);
  registerSigningKeys(env.ENTITLEMENT_SIGNING_KEYS);
  registerDatabasePassword('DATABASE_URL', env.DATABASE_URL);
}

/** The private parts ("d") of the keys the variable holds, when it holds JSON rather than a file path. */
function registerSigningKeys(value: string | undefined): void {
  if (!value?.trim().match(/^[[{]/)) return;
  for (const match of value.matchAll(/"d"\s*:\s*"([^"]+)"/g)) registerSecret('ENTITLEMENT_SIGNING_KEYS', match[1]);
}

const CUSTOMER_FIELD = /(^|_)(email|phone)$|^customer_name$/;

/** Customer data in a payload: emails, phones, and the names beside them (a customer, its shipping). */
export function registerCustomerData(payload: unknown): void {
  if (!payload || typeof payload !== 'object') return;
  const personal = 'email' in payload || 'phone' in payload;
  for (const [key, value] of Object.entries(payload)) {
    if (typeof value === 'string' && (CUSTOMER_FIELD.test(key) || (personal && key === 'name')))
      registerSecret(`customer data (${key}) from a payload`, value);
    else registerCustomerData(value);
  }
}

/** A new, empty capture: whoever reads the stream appends to its `text`. */
export function capture(source: string, stream: string): Capture {
  const record = { source, stream, text: '' };
  captures.push(record);
  return record;
}

/** A stream that captures what is written to it, where a program would write to a terminal. */
export function capturingStream(source: string, stream: string): Writable {
  const record = capture(source, stream);
  return new Writable({
    write(chunk, _encoding, callback) {
      record.text += String(chunk);
      callback();
    },
  });
}

/** The check waits (briefly) for this before it scans: a process's last output, after its test. */
export function scanAfter(done: Promise<unknown>): void {
  const settled = done.then(
    () => {},
    () => {},
  );
  unfinished.add(settled);
  void settled.then(() => unfinished.delete(settled));
}

/**
 * `npm start` in local mode prints its generated webhook secret to stderr on purpose
 * (src/main.ts printLocalSecret: printed for a local signer, not logged). That block is the one
 * place it may appear: the scan leaves the block out and looks for the secret everywhere else.
 */
const LOCAL_SECRET_BLOCK = /^Local mode: no STRIPE_WEBHOOK_SECRET set.*\nkept in .*:\n\n {2}(\S+)\n/m;

export function localModeSecret(output: string): string | undefined {
  return LOCAL_SECRET_BLOCK.exec(output)?.[1];
}

/** Which captures hold which secrets: every window of MIN_SECRET_LENGTH characters is looked up once. */
function findLeaks(captured: readonly Capture[], known: ReadonlyMap<string, string>): Leak[] {
  const labels = new Map(known);
  const texts = captured.map(({ text }) => {
    const printed = localModeSecret(text);
    if (printed === undefined) return text;
    if (!labels.has(printed)) labels.set(printed, 'the generated local-mode webhook secret');
    return text.replace(LOCAL_SECRET_BLOCK, '');
  });
  if (labels.size === 0) return [];
  const byPrefix = new Map<string, string[]>();
  for (const secret of labels.keys()) {
    const prefix = secret.slice(0, MIN_SECRET_LENGTH);
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), secret]);
  }
  return captured.flatMap(({ source, stream }, index) => {
    const text = texts[index]!;
    const found = new Set<string>();
    for (let at = 0; at + MIN_SECRET_LENGTH <= text.length; at++) {
      for (const secret of byPrefix.get(text.slice(at, at + MIN_SECRET_LENGTH)) ?? [])
        if (text.startsWith(secret, at)) found.add(labels.get(secret)!);
    }
    return [...found].map((secret) => ({ secret, source, stream }));
  });
}

/** Throws, naming each secret by its label and where it was found, when any capture holds a known secret. */
export function assertNoLeaks(captured: readonly Capture[], known: ReadonlyMap<string, string>): void {
  const leaks = findLeaks(captured, known);
  if (leaks.length > 0)
    throw new Error(
      `secrets in captured output:\n${leaks.map((leak) => `  ${leak.secret} in ${leak.stream} of ${leak.source}`).join('\n')}`,
    );
}

/** The after-file check of everything this test file's processes and services wrote. */
export async function checkCapturedOutput(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(unfinished), new Promise((resolve) => (timer = setTimeout(resolve, OUTPUT_WAIT_MS)))]);
  clearTimeout(timer);
  assertNoLeaks(captures, secrets);
}
