import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, generateSigningKey, loadConfig } from '../../src/config/index.js';
import { registerSecret } from '../helpers/log-scan.js';
import { runCli, runScript } from '../helpers/processes.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'billing-keys-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const PRODUCTION = { NODE_ENV: 'production', STRIPE_WEBHOOK_SECRET: 'whsec_abcdefghijklmnop' };
const one = generateSigningKey();
const two = generateSigningKey();
registerSecret('a test signing key', one.d);
registerSecret('a test signing key', two.d);

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ DATA_DIR: tempDir(), ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('ENTITLEMENT_SIGNING_KEYS', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  it.each([
    { name: 'not JSON', value: `{"kty":"OKP","crv":"Ed25519","d":"${one.d}"` },
    { name: 'a public key only', value: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: one.x }) },
    { name: 'another curve', value: JSON.stringify({ ...p256, kid: 'p256' }) },
    { name: "one key's d with another's x", value: JSON.stringify({ ...one, x: two.x }) },
    { name: 'a private part that is no key', value: JSON.stringify({ ...one, d: `${one.d.slice(0, 20)}!!` }) },
    { name: 'no key at all', value: JSON.stringify({ keys: [] }) },
    { name: 'two keys with one kid', value: JSON.stringify([one, { ...two, kid: one.kid }]) },
    { name: 'a bad kid', value: JSON.stringify({ ...one, kid: 'has spaces in it' }) },
    { name: 'a PEM pasted in', value: `-----BEGIN PRIVATE KEY-----\n${one.d}\n-----END PRIVATE KEY-----` },
    { name: 'a file that is not there', value: join(tmpdir(), 'no-such-dir', 'keys.json') },
  ])('$name is refused, naming the variable and never the key', ({ value }) => {
    const message = configError({ ...PRODUCTION, ENTITLEMENT_SIGNING_KEYS: value }).message;
    expect(message).toContain('ENTITLEMENT_SIGNING_KEYS');
    for (const secret of [one.d, two.d, one.d.slice(0, 20)]) expect(message).not.toContain(secret);
  });

  it('is required in production', () => {
    expect(configError(PRODUCTION).message).toContain('ENTITLEMENT_SIGNING_KEYS: required when NODE_ENV=production');
  });

  it('takes one JWK, an array, a JWK Set or a file; the first signs and a missing kid is the thumbprint', () => {
    const { kid: _ignored, ...withoutKid } = two;
    const file = join(tempDir(), 'keys.json');
    writeFileSync(file, JSON.stringify({ keys: [two, one] }));
    const forms = {
      one: JSON.stringify(one),
      array: JSON.stringify([one, withoutKid]),
      set: JSON.stringify({ keys: [{ ...one, kid: 'key-2026-12' }, two] }),
      file,
    };
    const keysOf = (value: string) => loadConfig({ ...PRODUCTION, ENTITLEMENT_SIGNING_KEYS: value }).entitlementTokens;
    expect(keysOf(forms.one)).toMatchObject({ signingKeys: [one], keySource: 'env' });
    expect(keysOf(forms.array).signingKeys).toEqual([one, two]);
    expect(keysOf(forms.set).signingKeys.map((k) => k.kid)).toEqual(['key-2026-12', two.kid]);
    expect(keysOf(forms.file)).toMatchObject({ signingKeys: [two, one], keySource: 'file' });
  });

  it('`npm run cli -- keys generate` prints one key that the variable accepts', async () => {
    const run = await runCli(['keys', 'generate'], {});
    // Printing the private key is this command's job, so the secrets scan is not told of it.
    const printed = run.stdout.trim();
    const { signingKeys } = loadConfig({ ...PRODUCTION, ENTITLEMENT_SIGNING_KEYS: printed }).entitlementTokens;
    expect(signingKeys).toHaveLength(1);
    expect(signingKeys[0]!.kid).toBe(JSON.parse(printed).kid);
    expect(run.stderr).toContain(`"x":"${signingKeys[0]!.x}"`);
    expect(run.stderr).not.toContain(signingKeys[0]!.d);
  });

  it('a start-up with a malformed key exits 1 naming the variable, not the key', async () => {
    const value = JSON.stringify({ ...one, x: two.x });
    const run = await runScript('src/main.ts', [], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', DATA_DIR: tempDir(), ...PRODUCTION, ENTITLEMENT_SIGNING_KEYS: value },
      timeoutMs: 20_000,
    });
    expect(run.code).toBe(1);
    expect(run.output).toContain('ENTITLEMENT_SIGNING_KEYS: key 1:');
    expect(run.output).not.toContain(one.d);
  });
});

describe('the local signing key', () => {
  it('is generated once into the data dir (0600) and kept', () => {
    const dataDir = tempDir();
    const first = loadConfig({ DATA_DIR: dataDir }).entitlementTokens;
    expect(first.keySource).toBe('generated');
    const file = join(dataDir, 'entitlement-signing-keys.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).keys).toEqual(first.signingKeys);
    const again = loadConfig({ DATA_DIR: dataDir }).entitlementTokens;
    expect(again).toMatchObject({ keySource: 'stored', signingKeys: first.signingKeys });
  });

  it('a damaged key file stops the start-up, naming the file', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'entitlement-signing-keys.json'), '{"keys":[{"kty":"OKP"');
    expect(configError({ DATA_DIR: dataDir }).message).toContain(join(dataDir, 'entitlement-signing-keys.json'));
  });
});

describe('issuer and lifetime', () => {
  it('default: the public URL, one hour', () => {
    expect(loadConfig({ DATA_DIR: tempDir(), PORT: '4100' }).entitlementTokens).toMatchObject({
      issuer: 'http://127.0.0.1:4100',
      ttlSeconds: 3600,
    });
    expect(
      loadConfig({ DATA_DIR: tempDir(), PUBLIC_URL: 'https://billing.example.com/', ENTITLEMENT_TOKEN_TTL: '15m' }).entitlementTokens,
    ).toMatchObject({ issuer: 'https://billing.example.com', ttlSeconds: 900 });
    expect(loadConfig({ DATA_DIR: tempDir(), ENTITLEMENT_ISSUER: 'urn:example:billing' }).entitlementTokens.issuer).toBe(
      'urn:example:billing',
    );
  });

  it.each(['25h', '5s', 'an hour', '1h,2h'])('ENTITLEMENT_TOKEN_TTL=%s is refused', (ttl) => {
    expect(configError({ ENTITLEMENT_TOKEN_TTL: ttl }).message).toContain('ENTITLEMENT_TOKEN_TTL: must be one duration from 10s to 24h');
  });
});
