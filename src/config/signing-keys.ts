import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SigningKey, SigningKeySource } from './types.js';

/**
 * The Ed25519 keys that sign entitlement tokens. Checked here, synchronously, so that a bad key
 * stops the start-up; every message names the variable or the file, never key material.
 */

const VARIABLE = 'ENTITLEMENT_SIGNING_KEYS';
const LOCAL_FILE = 'entitlement-signing-keys.json';

/** A problem with the keys; load.ts turns it into a ConfigError. */
export class SigningKeyProblem extends Error {}

/** A new key pair, as a private JWK with its RFC 7638 thumbprint as `kid`. */
export function generateSigningKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { d: string; x: string };
  return { kty: 'OKP', crv: 'Ed25519', d: jwk.d, x: jwk.x, kid: thumbprint(jwk.x) };
}

/** RFC 7638: the SHA-256 of the required members, in lexicographic order, without whitespace. */
function thumbprint(x: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x }))
    .digest('base64url');
}

/**
 * ENTITLEMENT_SIGNING_KEYS is JSON (one private JWK, an array of them, or a JWK Set) or the path of
 * a file holding that JSON. The first key signs; the others are only published (rotation).
 */
export function configuredSigningKeys(value: string): { keys: SigningKey[]; source: SigningKeySource } {
  if (value.startsWith('{') || value.startsWith('[')) return { keys: parseKeys(value, VARIABLE), source: 'env' };
  if (/[\r\n]|-----/.test(value)) throw new SigningKeyProblem(`${VARIABLE}: must be JSON (private JWKs) or the path of a file holding it`);
  let text: string;
  try {
    text = readFileSync(value, 'utf8');
  } catch (error) {
    throw new SigningKeyProblem(`${VARIABLE}: cannot read the key file it names (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return { keys: parseKeys(text, `${VARIABLE} (the file it names)`), source: 'file' };
}

/** Local mode: one key, generated once and kept (mode 0600) so tokens still verify after a restart. */
export function localSigningKeys(dataDir: string): { keys: SigningKey[]; source: SigningKeySource } {
  const file = join(dataDir, LOCAL_FILE);
  if (existsSync(file)) return { keys: parseKeys(readFileSync(file, 'utf8'), file), source: 'stored' };
  const key = generateSigningKey();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ keys: [key] }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { keys: [key], source: 'generated' };
}

function parseKeys(text: string, where: string): SigningKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the text; it is not repeated.
    throw new SigningKeyProblem(`${where}: is not valid JSON`);
  }
  const list = Array.isArray(parsed) ? parsed : isObject(parsed) && Array.isArray(parsed.keys) ? parsed.keys : [parsed];
  if (list.length === 0) throw new SigningKeyProblem(`${where}: holds no key`);
  const keys = list.map((candidate, index) => signingKey(candidate, `${where}: key ${index + 1}`));
  const kids = new Set(keys.map((k) => k.kid));
  if (kids.size !== keys.length) throw new SigningKeyProblem(`${where}: two keys share a kid`);
  return keys;
}

function signingKey(candidate: unknown, where: string): SigningKey {
  if (!isObject(candidate) || candidate.kty !== 'OKP' || candidate.crv !== 'Ed25519' || !isText(candidate.x)) {
    throw new SigningKeyProblem(`${where}: must be an Ed25519 JWK ("kty": "OKP", "crv": "Ed25519")`);
  }
  if (!isText(candidate.d)) throw new SigningKeyProblem(`${where}: is a public key; a signing key needs its private part "d"`);
  if (candidate.kid !== undefined && !(isText(candidate.kid) && /^[\w.:-]{1,100}$/.test(candidate.kid))) {
    throw new SigningKeyProblem(`${where}: "kid" must be 1 to 100 letters, digits or . _ : -`);
  }
  const { d, x } = candidate;
  let derivedX: string | undefined;
  try {
    const jwk: JsonWebKey = { kty: 'OKP', crv: 'Ed25519', d, x };
    derivedX = (createPublicKey(createPrivateKey({ key: jwk, format: 'jwk' })).export({ format: 'jwk' }) as { x: string }).x;
  } catch {
    throw new SigningKeyProblem(`${where}: is not a valid Ed25519 private key`);
  }
  if (derivedX !== x) throw new SigningKeyProblem(`${where}: its public part "x" does not belong to its private part "d"`);
  return { kty: 'OKP', crv: 'Ed25519', d, x, kid: (candidate.kid as string | undefined) ?? thumbprint(x) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
