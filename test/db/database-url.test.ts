import { describe, expect, it } from 'vitest';
import { redactDatabaseUrl, withoutDatabaseSecrets } from '../../src/db/index.js';

/** Every secret below contains this, however it is spelled in the URL. */
const SECRET = 's3cret';
const NOT_SHOWN = 'postgres://… (not shown: it could not be parsed)';

describe('a database URL in messages', () => {
  it.each<[string, string, string]>([
    ['the user-info form', 'postgres://app:s3cret@db:5432/billing', 'postgres://app:***@db:5432/billing'],
    ['postgresql://', 'postgresql://app:s3cret@db/billing', 'postgresql://app:***@db/billing'],
    ['?password=', 'postgres://app@db/billing?password=s3cret', 'postgres://app@db/billing?password=***'],
    [
      '&password= among other parameters',
      'postgres://app@db/billing?sslmode=require&password=s3cret&application_name=api',
      'postgres://app@db/billing?sslmode=require&password=***&application_name=api',
    ],
    ['a percent-encoded parameter name', 'postgres://app@db/billing?pass%77ord=s3cret', 'postgres://app@db/billing?pass%77ord=***'],
    [
      'the password given twice',
      'postgres://app@db/billing?password=first&password=s3cret',
      'postgres://app@db/billing?password=***&password=***',
    ],
    [
      'a user-info password and a parameter one',
      'postgres://app:s3cret@db/billing?password=s3cret2',
      'postgres://app:***@db/billing?password=***',
    ],
    ['a password with "@"', 'postgres://app:p@ss-s3cret@db/x', 'postgres://app:***@db/x'],
    ['a password with ":"', 'postgres://app:pa:ss-s3cret@db/x', 'postgres://app:***@db/x'],
    ['a user name with "@"', 'postgres://app@corp:s3cret@db/x', 'postgres://app@corp:***@db/x'],
    ['a percent-encoded "/"', 'postgres://app:pa%2Fss-s3cret@db/x', 'postgres://app:***@db/x'],
    ['percent-encoded characters', 'postgres://app:%73%33cret%40%3A@db/x', 'postgres://app:***@db/x'],
    ['a percent-encoded parameter value', 'postgres://app@db/x?password=s3cret%26%3D%2F', 'postgres://app@db/x?password=***'],
    ['a password with a space', 'postgres://app:pass s3cret@db/x', 'postgres://app:***@db/x'],
    ['a fragment, which pg ignores', 'postgres://app@db/x?password=pa#ss-s3cret', 'postgres://app@db/x?password=***#***'],
    ['the socket: form', 'socket:/var/run/postgresql?db=billing&password=s3cret', 'socket:/var/run/postgresql?db=billing&password=***'],
    [
      'a socket directory in ?host=',
      'postgres:///billing?host=/var/run/postgresql&password=s3cret',
      'postgres:///billing?host=/var/run/postgresql&password=***',
    ],
    [
      'a socket directory in ?host= and an empty host',
      'postgres://app:s3cret@/billing?host=/var/run/postgresql',
      'postgres://app:***@/billing?host=/var/run/postgresql',
    ],
    [
      "key and certificate paths (not secrets) and the key's passphrase, without reading the files",
      'postgres://app@db/x?sslmode=verify-full&sslkey=/no/such/app.key&sslcert=/no/such/app.crt&sslrootcert=/no/such/ca.crt&sslpassword=s3cret',
      'postgres://app@db/x?sslmode=verify-full&sslkey=/no/such/app.key&sslcert=/no/such/app.crt&sslrootcert=/no/such/ca.crt&sslpassword=***',
    ],
    ['no password', 'postgres://app@db:5432/billing?sslmode=require', 'postgres://app@db:5432/billing?sslmode=require'],
    ['a password with "/", which pg cannot parse', 'postgres://app:pa/ss-s3cret@db/x', NOT_SHOWN],
    ['a password with "#", which pg cannot parse', 'postgres://app:pa#ss-s3cret@db/x', NOT_SHOWN],
    ['a port that is no number', 'postgres://app:s3cret@db:port/x', NOT_SHOWN],
    ['a percent-encoding that is no UTF-8', 'postgres://app:%E0%A4s3cret@db/x', NOT_SHOWN],
    ['a line break, which URL parsing drops', 'postgres://app@db/x?pass\nword=s3cret', NOT_SHOWN],
    ['a URL of another scheme', 'mysql://app:s3cret@db/x', '… (not shown: it could not be parsed)'],
    ['leading white space', ' postgres://app:s3cret@db/x', '… (not shown: it could not be parsed)'],
    ['an SQLite file', 'sqlite:/var/lib/billing/billing.sqlite', 'sqlite:/var/lib/billing/billing.sqlite'],
    ['an SQLite memory database', 'sqlite::memory:', 'sqlite::memory:'],
  ])('%s', (_case, url, expected) => {
    const redacted = redactDatabaseUrl(url);
    expect(redacted).toBe(expected);
    expect(redacted).not.toContain(SECRET);
  });

  it('masks the URL and every password pg reads from it in an error message', () => {
    const url = 'postgres://app@db/x?password=s3cret&sslpassword=other-s3cret';
    expect(withoutDatabaseSecrets(`failed: ${url} (password s3cret, passphrase other-s3cret)`, url)).toBe(
      'failed: *** (password ***, passphrase ***)',
    );
  });

  it('leaves an error message about an SQLite file as it is', () => {
    expect(withoutDatabaseSecrets('unable to open sqlite:/x/billing.sqlite', 'sqlite:/x/billing.sqlite')).toBe(
      'unable to open sqlite:/x/billing.sqlite',
    );
  });
});
