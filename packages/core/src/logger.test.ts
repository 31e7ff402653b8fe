import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger, SecretRedactor } from './logger.js';
import { ConfigError } from './errors.js';
import { collectSecrets, secret } from './schema.js';

describe('secret redaction', () => {
  it('finds secret fields through the schema and redacts their values from every log line', () => {
    const schema = z.strictObject({ user: z.string(), password: secret('password'), nested: z.strictObject({ token: secret('token').optional() }).optional() });
    const config = { user: 'alice', password: 's3cr3t-pass', nested: { token: 'tok-123456' } };
    const found = collectSecrets(schema, config);
    expect(found.sort()).toEqual(['s3cr3t-pass', 'tok-123456']);
    const redactor = new SecretRedactor();
    found.forEach((s) => redactor.add(s));
    let out = '';
    const dest = new Writable({ write(c, _e, cb) { out += c.toString(); cb(); } });
    const log = createLogger({ level: 'info', redactor, destination: dest, pretty: false });
    log.info({ config }, 'connecting with s3cr3t-pass');
    log.error({ err: new Error('auth failed for tok-123456') }, 'failed');
    expect(out).not.toContain('s3cr3t-pass');
    expect(out).not.toContain('tok-123456');
    expect(out).toContain('[REDACTED]');
    expect(out).toContain('alice');
  });
});

describe('errors in log lines', () => {
  it('an error plumline raised (the user can fix it) is logged as its code and message, without a stack; a bug keeps its stack', () => {
    const lines: Record<string, { stack?: string; code?: string; message?: string; cause?: string }>[] = [];
    const dest = new Writable({ write(c, _e, cb) { lines.push(JSON.parse(c.toString()) as never); cb(); } });
    const log = createLogger({ level: 'info', destination: dest, pretty: false });
    const cause = Object.assign(new Error('listen EADDRNOTAVAIL 10.9.9.9:80'), { code: 'EADDRNOTAVAIL' });
    log.error({ err: new ConfigError('CONFIG_LISTEN', 'cannot listen on 10.9.9.9:80: use an address of this machine', { cause }) }, 'failed');
    log.error({ err: new TypeError("Cannot read properties of undefined (reading 'x')") }, 'bug');
    expect(lines[0]!.err).toMatchObject({ code: 'CONFIG_LISTEN', message: expect.stringContaining('10.9.9.9'), cause: 'EADDRNOTAVAIL: listen EADDRNOTAVAIL 10.9.9.9:80' });
    expect(lines[0]!.err!.stack).toBeUndefined();
    expect(lines[1]!.err!.stack).toContain('TypeError');
  });
});
