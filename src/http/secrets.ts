import { createHash, timingSafeEqual } from 'node:crypto';

/** Digests compared in constant time: neither the length nor the content of a secret leaks through timing. */
export function secretMatches(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
