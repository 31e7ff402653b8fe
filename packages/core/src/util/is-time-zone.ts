/** Whether `zone` is an IANA time zone this runtime knows (e.g. America/New_York), for config checks. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
