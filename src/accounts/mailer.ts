import nodemailer from 'nodemailer';
import type { EmailSettings } from '../config/index.js';

/** Sends messages through SMTP_URL (nodemailer: `smtp://` with STARTTLS when the server offers it, or `smtps://`). */
export interface Mailer {
  send(message: { to: string; subject: string; text: string }): Promise<void>;
  close(): void;
}

export function smtpMailer(settings: EmailSettings): Mailer {
  const transport = nodemailer.createTransport(settings.smtpUrl);
  return {
    async send(message) {
      await transport.sendMail({ from: settings.from, ...message });
    },
    close: () => transport.close(),
  };
}
