import { generateKeyPairSync, sign, createPrivateKey } from 'node:crypto';
import { SignJWT, importJWK, jwtVerify, importJWK as imp } from 'jose';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const jwk = privateKey.export({ format: 'jwk' });
const key = await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA');
const claims = { premium: true, reason: 'active', features: ['pro'], priceId: 'price_1', productId: 'prod_1' };
const N = 20000;
for (let round = 0; round < 3; round++) {
  let t = performance.now(); let c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: 'k', typ: 'JWT' }).setIssuer('iss').setSubject('u' + i).setIssuedAt(1000).setExpirationTime(2000).sign(key);
  let c = process.cpuUsage(c0);
  console.log('jose', ((performance.now() - t) * 1000 / N).toFixed(1), 'us wall', ((c.user + c.system) / N).toFixed(1), 'us cpu');
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'k', typ: 'JWT' })).toString('base64url');
  t = performance.now(); c0 = process.cpuUsage();
  let tok;
  for (let i = 0; i < N; i++) {
    const payload = Buffer.from(JSON.stringify({ ...claims, iss: 'iss', sub: 'u' + i, iat: 1000, exp: 2000 })).toString('base64url');
    const input = header + '.' + payload;
    tok = input + '.' + sign(null, Buffer.from(input), privateKey).toString('base64url');
  }
  c = process.cpuUsage(c0);
  console.log('node', ((performance.now() - t) * 1000 / N).toFixed(1), 'us wall', ((c.user + c.system) / N).toFixed(1), 'us cpu');
  const pub = await importJWK({ ...publicKey.export({ format: 'jwk' }), alg: 'EdDSA' }, 'EdDSA');
  const v = await jwtVerify(tok, pub); if (v.payload.sub !== 'u' + (N - 1)) throw new Error('bad');
}
