import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CapturedMessage {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

/**
 * A local SMTP server (the `smtp-server` package): plain SMTP on loopback, no auth, no TLS, every
 * message kept. The demo sends its sign-in codes here, and the tests read theirs from it.
 */
export interface Inbox {
  /** `smtp://127.0.0.1:<port>`, for the service's SMTP_URL. */
  url: string;
  messages: CapturedMessage[];
  /** The only 6-digit number of the newest message to `to` after the first `after` of them; throws after `timeoutMs`. */
  waitForCode(to: string, options?: { after?: number; timeoutMs?: number }): Promise<string>;
  /** How many messages went to `to` so far. */
  countTo(to: string): number;
  close(): Promise<void>;
}

/** `refuses`: recipients the server answers 550 (a mailbox that does not exist), as a real one would. */
export async function startInbox(options: { refuses?: (address: string) => boolean } = {}): Promise<Inbox> {
  const messages: CapturedMessage[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (!options.refuses?.(address.address.toLowerCase())) return callback();
      callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            subject: mail.subject ?? '',
            text: mail.text ?? '',
          });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const to = (address: string) => messages.filter((m) => m.to.includes(address.trim().toLowerCase()));
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    countTo: (address) => to(address).length,
    async waitForCode(address, { after = 0, timeoutMs = 10_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const received = to(address);
        if (received.length > after) {
          const codes = received.at(-1)!.text.match(/\b\d{6}\b/g) ?? [];
          if (codes.length !== 1) throw new Error(`the message holds ${codes.length} 6-digit numbers, not one`);
          return codes[0]!;
        }
        if (Date.now() > deadline) throw new Error(`no message arrived within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
