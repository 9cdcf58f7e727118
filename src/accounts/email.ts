import { createHash, randomInt } from 'node:crypto';

/** What a log line may say of an address: its domain and a hash of the whole, never the whole. */
export function describeEmail(email: string): { emailHash: string; emailDomain: string } {
  return { emailHash: createHash('sha256').update(email).digest('hex').slice(0, 16), emailDomain: email.slice(email.indexOf('@') + 1) };
}

/** A one-time code of 6 digits, uniformly drawn. */
export function newCode(): string {
  return randomInt(0, 1_000_000).toString().padStart(6, '0');
}

/** How a code is stored: hashed with the address and the install, so that one hash opens nothing else. */
export function hashCode(email: string, userId: string, code: string): string {
  return createHash('sha256').update(`${email}\n${userId}\n${code}`).digest('hex');
}

/** The message's text: the code is its only 6-digit number. */
export function codeMessage(code: string): { subject: string; text: string } {
  return {
    subject: 'Your sign-in code',
    text: `Your sign-in code is ${code}.\n\nIt works once, for ten minutes. If you did not ask for it, ignore this message: nothing changes without the code.\n`,
  };
}
