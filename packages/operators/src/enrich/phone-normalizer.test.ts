import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PhoneNormalizer } from './phone-normalizer.js';

// Real NANP area codes (New York, San Francisco, Toronto, toll free) and valid exchanges.
const areaCodes = ['212', '415', '416', '800', '646', '312'];
const nanp = fc.record({ area: fc.constantFrom(...areaCodes), exchange: fc.integer({ min: 200, max: 999 }), line: fc.integer({ min: 0, max: 9999 }) });

describe('PhoneNormalizer', () => {
  it('gives one E.164 form (and the area code) for every way a NANP number is written', async () => {
    const n = await PhoneNormalizer.create('US');
    fc.assert(
      fc.property(nanp, ({ area, exchange, line }) => {
        const l = String(line).padStart(4, '0');
        const e164 = `+1${area}${exchange}${l}`;
        for (const written of [`${area}${exchange}${l}`, `1${area}${exchange}${l}`, `+1 ${area} ${exchange} ${l}`, `(${area}) ${exchange}-${l}`, `+1-${area}-${exchange}-${l}`]) {
          const info = n.normalize(written);
          if ('notANumber' in info) return false;
          if (info.e164 !== e164 || info.areaCode !== area) return false;
        }
        return true;
      }),
    );
  });

  it('adds country and type: toll free, UK fixed line, French mobile', async () => {
    const n = await PhoneNormalizer.create('US');
    expect(n.normalize('18005550100')).toMatchObject({ e164: '+18005550100', country: 'US', type: 'toll_free', areaCode: '800' });
    expect(n.normalize('+44 20 7183 8750')).toMatchObject({ e164: '+442071838750', country: 'GB', type: 'fixed_line' });
    expect(n.normalize('+33 6 12 34 56 78')).toMatchObject({ e164: '+33612345678', country: 'FR', type: 'mobile' });
    expect(n.normalize('+33 6 12 34 56 78')).not.toHaveProperty('areaCode');
  });

  it('reads numbers without a country code in the default region', async () => {
    expect((await PhoneNormalizer.create('GB')).normalize('020 7183 8750')).toMatchObject({ e164: '+442071838750', country: 'GB' });
  });

  it('leaves non-numbers alone with a reason, and never throws on any input', async () => {
    const n = await PhoneNormalizer.create('US');
    expect(n.normalize('admin@acme-voice.com')).toEqual({ notANumber: true, reason: expect.stringContaining('e-mail') });
    expect(n.normalize('operator')).toMatchObject({ notANumber: true });
    expect(n.normalize('123')).toMatchObject({ notANumber: true });
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        const info = n.normalize(s);
        return 'notANumber' in info ? typeof info.reason === 'string' : /^\+\d{4,15}$/.test(info.e164);
      }),
    );
  });
});
