import { generateSigningKey } from '../../config/index.js';
import type { StandaloneCommand } from './types.js';

/**
 * `keys generate`: a new Ed25519 key pair for ENTITLEMENT_SIGNING_KEYS. The private JWK goes to
 * stdout alone (so it can be redirected into a secret store); the guidance and the public half to stderr.
 */
export const keys: StandaloneCommand = {
  usage: ['keys generate'],
  standalone: true,
  async run(args) {
    if (args.length !== 1 || args[0] !== 'generate') {
      console.error('usage: npm run cli -- keys generate');
      return 2;
    }
    const key = generateSigningKey();
    console.log(JSON.stringify(key));
    console.error(
      [
        '',
        `A new Ed25519 signing key, kid "${key.kid}". Its public half, as /.well-known/jwks.json will publish it:`,
        `  ${JSON.stringify({ kty: key.kty, crv: key.crv, x: key.x, kid: key.kid, alg: 'EdDSA', use: 'sig' })}`,
        '',
        'To rotate: put it first in ENTITLEMENT_SIGNING_KEYS (a JSON array of private JWKs), keep the',
        'current key after it, and remove that one once ENTITLEMENT_TOKEN_TTL has passed (docs/security.md).',
        'The line on stdout is a secret: keep it in your secret store, never in a repository.',
      ].join('\n'),
    );
    return 0;
  },
};
