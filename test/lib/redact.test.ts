import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log.js';
import { createRedactor, redactSecrets, urlPasswords } from '../../lib/redact.js';

/** A real pino logger writing into a string. */
function capturedLogger(): { log: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  let output = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString();
      done();
    },
  });
  return {
    log: createLogger({ name: 'redact-test', destination }),
    lines: () => output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('redactSecrets', () => {
  it('redacts the password of a URL, whatever the scheme, with or without a user', () => {
    expect(redactSecrets('postgres://app:pw-in-url@db.local:5432/main')).toBe('postgres://app:[redacted]@db.local:5432/main');
    expect(redactSecrets('GET http://admin:s3cret@10.0.0.9/snapshot.jpg answered 500')).toBe('GET http://admin:[redacted]@10.0.0.9/snapshot.jpg answered 500');
    expect(redactSecrets('redis://:only-password@cache:6379')).toBe('redis://:[redacted]@cache:6379');
  });

  it('redacts secret-looking query parameters and leaves the rest of the URL as written', () => {
    expect(redactSecrets('https://main.example/api/sales?access_token=abc123&point=tbilisi-01')).toBe('https://main.example/api/sales?access_token=[redacted]&point=tbilisi-01');
    expect(redactSecrets('https://x.example/hook?api_key=k-1&x=1')).toBe('https://x.example/hook?api_key=[redacted]&x=1');
    expect(redactSecrets('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(redactSecrets('http://main.example:8080/api/status?height=12')).toBe('http://main.example:8080/api/status?height=12');
  });

  it('redacts assignments and credentials in free text', () => {
    expect(redactSecrets('PGPASSWORD=s3cr3t pg_dump')).toBe('PGPASSWORD=[redacted] pg_dump');
    expect(redactSecrets('{"token": "tok_abcdef"}')).toBe('{"token": "[redacted]"}');
    expect(redactSecrets('Authorization: Bearer eyJhbGciOi.payload.sig')).toBe('Authorization: Bearer [redacted]');
  });
});

describe('createRedactor', () => {
  it('redacts configured values (longest first) as well as the patterns, and ignores values too short to be secrets', () => {
    const redact = createRedactor(['franchise-key', 'franchise-key-123', 'abc']);
    expect(redact('key franchise-key-123 and franchise-key; abc stays; password=x1')).toBe('key [redacted] and [redacted]; abc stays; password=[redacted]');
  });

  it('takes the passwords out of URLs, decoded, as values to redact', () => {
    expect(urlPasswords(['postgres://app:p%40ss@db/main', 'http://no-password@host/', 'not a url'])).toEqual(['p@ss']);
    expect(createRedactor(urlPasswords(['postgres://app:p%40ss-word@db/main']))('pg_restore said: password p@ss-word rejected')).toBe('pg_restore said: password [redacted] rejected');
  });
});

describe('the logger', () => {
  it('blanks secret config paths in every line', () => {
    const { log, lines } = capturedLogger();
    log.info({ config: { mqtt: { url: 'mqtt://central:1883', password: 'mqtt-pw' } }, token: 't-1', pins: { manager: '1234' } }, 'config');
    const [line] = lines();
    expect(line).toMatchObject({ config: { mqtt: { url: 'mqtt://central:1883', password: '[redacted]' } }, token: '[redacted]', pins: '[redacted]' });
  });

  it('redacts a URL password quoted in a logged error, its message and its stack', () => {
    const { log, lines } = capturedLogger();
    log.warn({ err: new Error('connect to postgres://app:db-pw-1@db:5432/main failed') }, 'store down');
    log.warn({ err: 'GET http://admin:cam-pw-2@10.0.0.9/snap.jpg: connect ECONNREFUSED' }, 'camera down');
    const [error, text] = lines();
    expect(JSON.stringify(error)).not.toContain('db-pw-1');
    expect(error!.err).toMatchObject({ type: 'Error', message: 'connect to postgres://app:[redacted]@db:5432/main failed', stack: expect.stringContaining('[redacted]@db') });
    expect(text!.err).toBe('GET http://admin:[redacted]@10.0.0.9/snap.jpg: connect ECONNREFUSED');
  });
});
