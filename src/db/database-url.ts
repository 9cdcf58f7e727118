import { parse as parseConnectionString } from 'pg-connection-string';

/** What messages show in place of a secret. */
const MASK = '***';
/** Parameters whose values are secrets: pg's password (also read from the user-info) and the TLS key's passphrase. */
const SECRET_PARAMETERS = new Set(['password', 'sslpassword']);
/** Parameters naming files that pg-connection-string reads while it parses; emptied before parsing here, so that masking does no I/O. */
const FILE_PARAMETERS = new Set(['sslcert', 'sslkey', 'sslrootcert']);
/** The schemes pg reads; a URL of any other is never shown, nor is one with leading white space. */
const SCHEME = /^(postgres|postgresql|socket):(\/\/)?/i;
/** The user-info's password, up to the authority's last "@", as URL parsing finds it (and so pg-connection-string). */
const USER_INFO_PASSWORD = /^([a-z][a-z\d+.-]*:\/\/[^:/?#]*):[^/?#]*@/i;
/**
 * URL parsing drops tabs and line breaks wherever they are (pg-connection-string sometimes encodes them first), which masking here does not
 * follow.
 */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * The URL for messages: an `sqlite:` one as it is; any other with the user-info's password, the
 * value of every secret parameter and any fragment (which pg ignores) masked. The masked URL is
 * shown only when pg's own parser (pg-connection-string) reads the original and finds no secret
 * but the mask in the result; otherwise only the scheme is, so that a URL read one way here and
 * another way by pg is never echoed.
 */
export function redactDatabaseUrl(url: string): string {
  if (url.startsWith('sqlite:')) return url;
  const masked = maskedUrl(url);
  const shown =
    SCHEME.test(url) &&
    !CONTROL_CHARACTER.test(url) &&
    secretsReadByPg(url) !== undefined &&
    secretsReadByPg(masked)?.every((secret) => secret === MASK);
  return shown ? masked : `${SCHEME.exec(url)?.[0] ?? ''}… (not shown: it could not be parsed)`;
}

/** An error message with the database URL and every secret pg reads from it masked, in case a driver's error echoes them. */
export function withoutDatabaseSecrets(message: string, url: string): string {
  if (url.startsWith('sqlite:')) return message;
  // Longest first, so that a secret containing another is masked whole.
  const secrets = [url, ...(secretsReadByPg(url) ?? [])].sort((a, b) => b.length - a.length);
  return secrets.reduce((text, secret) => text.replaceAll(secret, MASK), message);
}

function maskedUrl(url: string): string {
  const withoutFragment = url.replace(/#.*$/s, `#${MASK}`);
  return withParameters(withoutFragment, (name) => (SECRET_PARAMETERS.has(name) ? MASK : undefined)).replace(
    USER_INFO_PASSWORD,
    `$1:${MASK}@`,
  );
}

/** The password and the key passphrase as pg reads them; undefined when pg cannot parse the URL. */
function secretsReadByPg(url: string): string[] | undefined {
  try {
    const config = parseConnectionString(withParameters(url, (name) => (FILE_PARAMETERS.has(name) ? '' : undefined)));
    return [config.password, config.sslpassword].filter((value): value is string => typeof value === 'string' && value !== '');
  } catch {
    return undefined;
  }
}

/**
 * `url` with the value of every query parameter replaced by `replacement(name)` where that gives
 * a string (the name decoded as URL parsing decodes it); the rest kept as written.
 */
function withParameters(url: string, replacement: (name: string) => string | undefined): string {
  const queryStart = url.search(/[?#]/);
  if (queryStart < 0 || url[queryStart] === '#') return url;
  const fragmentStart = url.indexOf('#', queryStart);
  const queryEnd = fragmentStart < 0 ? url.length : fragmentStart;
  const pairs = url
    .slice(queryStart + 1, queryEnd)
    .split('&')
    .map((pair) => {
      const [name] = new URLSearchParams(pair).keys();
      const value = name === undefined ? undefined : replacement(name);
      const equals = pair.indexOf('=');
      return value === undefined || equals < 0 ? pair : `${pair.slice(0, equals)}=${value}`;
    });
  return `${url.slice(0, queryStart + 1)}${pairs.join('&')}${url.slice(queryEnd)}`;
}
