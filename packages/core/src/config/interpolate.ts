const VAR_RE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface InterpolationProblem {
  variable: string;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` with values from `env`; `$$` writes a literal `$`.
 * Returns the new text and the variables that were unset and had no default.
 */
export function interpolate(text: string, env: Readonly<Record<string, string | undefined>>): { value: string; missing: string[] } {
  if (!text.includes('$')) return { value: text, missing: [] };
  const missing: string[] = [];
  const value = text.replace(VAR_RE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$$') return '$';
    const v = env[name!];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    missing.push(name!);
    return '';
  });
  return { value, missing };
}
