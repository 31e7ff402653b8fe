import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger, SecretRedactor } from './logger.js';
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
