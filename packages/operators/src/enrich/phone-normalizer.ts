import type { CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { MemoMap } from '../memo-map.js';

/** What `enrich` adds for one number field. */
export type PhoneInfo =
  | { e164: string; country?: string; type?: string; areaCode?: string }
  | { notANumber: true; reason: string };

/** Distinct numbers remembered; call logs repeat the same lines and callers all day. */
export const DEFAULT_PHONE_CACHE_SIZE = 100_000;

/** libphonenumber's type names, as the snake_case values `enrich` writes. */
const TYPES: Record<string, string> = {
  MOBILE: 'mobile',
  FIXED_LINE: 'fixed_line',
  FIXED_LINE_OR_MOBILE: 'fixed_line_or_mobile',
  TOLL_FREE: 'toll_free',
  PREMIUM_RATE: 'premium_rate',
  SHARED_COST: 'shared_cost',
  VOIP: 'voip',
  PERSONAL_NUMBER: 'personal_number',
  PAGER: 'pager',
  UAN: 'uan',
  VOICEMAIL: 'voicemail',
};

/**
 * Parses phone numbers into E.164 with their country, type and (NANP) area code, through
 * libphonenumber-js's full metadata. Non-numbers (iPlum user e-mails, Plum logins, SIP URIs)
 * come back as `notANumber` with the reason instead of throwing. Results are cached by input.
 */
export class PhoneNormalizer {
  private readonly cache: MemoMap<string, PhoneInfo>;

  /** Loads libphonenumber-js's full metadata (≈ 10 MB in memory) only when enrich uses phones. */
  static async create(defaultRegion: string, cacheSize = DEFAULT_PHONE_CACHE_SIZE): Promise<PhoneNormalizer> {
    const { parsePhoneNumberFromString } = await import('libphonenumber-js/max');
    return new PhoneNormalizer(parsePhoneNumberFromString, defaultRegion, cacheSize);
  }

  private constructor(
    private readonly parsePhone: typeof parsePhoneNumberFromString,
    private readonly defaultRegion: string,
    cacheSize: number,
  ) {
    this.cache = new MemoMap(cacheSize, (text) => this.parse(text));
  }

  normalize(text: string): PhoneInfo {
    return this.cache.get(text);
  }

  private parse(text: string): PhoneInfo {
    if (text.includes('@')) return { notANumber: true, reason: 'an e-mail address, not a phone number' };
    if (!/\d/.test(text)) return { notANumber: true, reason: 'no digits' };
    const p = this.parsePhone(text, this.defaultRegion as CountryCode);
    if (!p || !p.isPossible()) return { notANumber: true, reason: 'not a possible phone number' };
    const info: { e164: string; country?: string; type?: string; areaCode?: string } = { e164: p.number };
    if (p.country) info.country = p.country;
    const type = p.getType();
    if (type) info.type = TYPES[type] ?? type.toLowerCase();
    // NANP (+1) numbers: the area code is the first three of the ten national digits.
    if (p.countryCallingCode === '1' && p.nationalNumber.length === 10) info.areaCode = p.nationalNumber.slice(0, 3);
    return info;
  }
}
