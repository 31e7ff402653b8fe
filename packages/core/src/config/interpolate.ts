const VAR_RE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface VariableProblem {
  name: string;
  /** 1-based column of the `$`. */
  column: number;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in one line with values from `env` (an empty value
 * counts as unset); `$$` writes a literal `$`. Reports variables that are unset without a
 * default, and values holding a line break (which could inject YAML structure).
 */
export function interpolateLine(
  line: string,
  env: Readonly<Record<string, string | undefined>>,
): { value: string; missing: VariableProblem[]; multiline: VariableProblem[] } {
  const missing: VariableProblem[] = [];
  const multiline: VariableProblem[] = [];
  const value = line.replace(VAR_RE, (match, name: string | undefined, fallback: string | undefined, offset: number) => {
    if (match === '$$') return '$';
    const v = env[name!];
    const chosen = v !== undefined && v !== '' ? v : fallback;
    if (chosen === undefined) {
      missing.push({ name: name!, column: offset + 1 });
      return '';
    }
    if (/[\r\n]/.test(chosen)) multiline.push({ name: name!, column: offset + 1 });
    return chosen;
  });
  return { value, missing, multiline };
}
