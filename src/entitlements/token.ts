import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { EntitlementTokenSettings } from '../config/index.js';
import { type Decision, tokenExpiry } from './decide.js';

/**
 * The signed entitlement token: a compact JWS (EdDSA) of the answer's access claims, that a
 * seller's backend or the extension verifies offline against /.well-known/jwks.json.
 */

/** What a token says; the verifier package (packages/verify-entitlement) reads exactly these. */
export interface EntitlementClaims {
  iss: string;
  sub: string;
  premium: boolean;
  reason: string;
  features: string[];
  priceId: string | null;
  productId: string | null;
  iat: number;
  exp: number;
}

interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/**
 * Signs with the first configured key; publishes every configured key's public half. Signed with
 * node:crypto's synchronous Ed25519 rather than jose's WebCrypto path: 37 µs against 83 µs per token
 * on the bench host (docs/performance.md), on a path every check takes.
 */
export class EntitlementSigner {
  private readonly encodedHeader: string;

  private constructor(
    private readonly key: KeyObject,
    kid: string,
    private readonly settings: EntitlementTokenSettings,
    readonly jwks: { keys: PublicJwk[] },
  ) {
    this.encodedHeader = base64url(JSON.stringify({ alg: 'EdDSA', kid, typ: 'JWT' }));
  }

  static create(settings: EntitlementTokenSettings): EntitlementSigner {
    const signing = settings.signingKeys[0]!;
    const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: signing.d, x: signing.x }, format: 'jwk' });
    const keys = settings.signingKeys.map(({ x, kid }): PublicJwk => ({ kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' }));
    return new EntitlementSigner(key, signing.kid, settings, { keys });
  }

  /** The token (a compact JWS, RFC 7515) for a user's decision at `nowSeconds`. */
  sign(userId: string, decision: Decision, nowSeconds: number): string {
    const { premium, reason, features, priceId, productId } = decision.entitlement;
    // Typed by the claims, so that what is signed and what verifiers read (the package's type equals this one) cannot drift apart.
    const claims: EntitlementClaims = {
      premium,
      reason,
      features,
      priceId,
      productId,
      iss: this.settings.issuer,
      sub: userId,
      iat: nowSeconds,
      exp: tokenExpiry(nowSeconds, this.settings.ttlSeconds, decision),
    };
    const signingInput = `${this.encodedHeader}.${base64url(JSON.stringify(claims))}`;
    return `${signingInput}.${sign(null, Buffer.from(signingInput), this.key).toString('base64url')}`;
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** The public keys: anyone may read them, and caches may keep them for five minutes. */
export function jwksRoute(app: FastifyInstance, signer: EntitlementSigner): void {
  const body = JSON.stringify(signer.jwks);
  app.get('/.well-known/jwks.json', (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300').type('application/json').send(body);
  });
}
