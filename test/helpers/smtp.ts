/** The tests' real SMTP server on loopback: the one the demo uses (tools/inbox.ts). */
export { type CapturedMessage, type Inbox as SmtpCapture, startInbox as startSmtpCapture } from '../../tools/inbox.js';
