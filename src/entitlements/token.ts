import type { FastifyInstance } from 'fastify';
import { type CryptoKey, importJWK, SignJWT } from 'jose';
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

/** Signs with the first configured key; publishes every configured key's public half. */
export class EntitlementSigner {
  private constructor(
    private readonly key: CryptoKey,
    private readonly kid: string,
    private readonly settings: EntitlementTokenSettings,
    readonly jwks: { keys: PublicJwk[] },
  ) {}

  static async create(settings: EntitlementTokenSettings): Promise<EntitlementSigner> {
    const signing = settings.signingKeys[0]!;
    const key = (await importJWK({ ...signing, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
    const keys = settings.signingKeys.map(({ x, kid }): PublicJwk => ({ kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' }));
    return new EntitlementSigner(key, signing.kid, settings, { keys });
  }

  /** The token for a user's decision at `nowSeconds`. */
  sign(userId: string, decision: Decision, nowSeconds: number): Promise<string> {
    const { premium, reason, features, priceId, productId } = decision.entitlement;
    // Typed by the claims, so that what is signed and what verifiers read (the package's type equals this one) cannot drift apart.
    const claims: Omit<EntitlementClaims, 'iss' | 'sub' | 'iat' | 'exp'> = { premium, reason, features, priceId, productId };
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.settings.issuer)
      .setSubject(userId)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(tokenExpiry(nowSeconds, this.settings.ttlSeconds, decision))
      .sign(this.key);
  }
}

/** The public keys: anyone may read them, and caches may keep them for five minutes. */
export function jwksRoute(app: FastifyInstance, signer: EntitlementSigner): void {
  const body = JSON.stringify(signer.jwks);
  app.get('/.well-known/jwks.json', (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300').type('application/json').send(body);
  });
}
