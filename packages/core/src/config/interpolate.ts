const VAR_RE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface VariableProblem {
  name: string;
  /** 1-based column of the `$`. */
  column: number;
}

/** A `${VAR}` reference found in a line, replaced by a placeholder before the YAML is parsed. */
export interface VariableReference {
  placeholder: string;
  /** The variable's value (or its default). */
  value: string;
}

/**
 * Replaces each `${VAR}` / `${VAR:-default}` in `line` by a placeholder that is a plain YAML
 * scalar in any context (flow maps included), and records what it stands for. The values are put
 * into scalars after parsing, so a value can never add keys or structure (`N="1, x: 2"` stays one
 * string). `$$` is left for after parsing too. Reports unset variables and values with line breaks.
 */
export function placeholdLine(
  line: string,
  env: Readonly<Record<string, string | undefined>>,
  refs: Map<string, VariableReference>,
  /** For a variable that is unset and has no default: the value it stands for instead of an error (checking a file without its environment). */
  unsetValue?: (name: string) => string,
): { value: string; missing: VariableProblem[]; multiline: VariableProblem[] } {
  const missing: VariableProblem[] = [];
  const multiline: VariableProblem[] = [];
  const value = line.replace(VAR_RE, (match, name: string | undefined, fallback: string | undefined, offset: number) => {
    if (match === '$$') return match;
    const v = env[name!];
    const chosen = v !== undefined && v !== '' ? v : (fallback ?? unsetValue?.(name!));
    if (chosen === undefined) {
      missing.push({ name: name!, column: offset + 1 });
      return '';
    }
    if (/[\r\n]/.test(chosen)) multiline.push({ name: name!, column: offset + 1 });
    const placeholder = `plumlinevar${refs.size}x${PLACEHOLDER_SALT}`;
    refs.set(placeholder, { placeholder, value: chosen });
    return placeholder;
  });
  return { value, missing, multiline };
}

/** Makes placeholders unlikely to occur in a file by chance. */
const PLACEHOLDER_SALT = Math.random().toString(36).slice(2, 8);
const PLACEHOLDER_RE = new RegExp(`plumlinevar\\d+x${PLACEHOLDER_SALT}`, 'g');

/**
 * The value of a scalar after interpolation: a plain scalar that was exactly one `${VAR}` takes
 * the YAML type its value reads as when that is a number, boolean or null (`count: ${N}`);
 * anything else is a string with the values put in. `$$` becomes `$`.
 */
export function substituteScalar(text: string, plain: boolean, refs: ReadonlyMap<string, VariableReference>): unknown {
  const only = refs.get(text);
  if (only && plain) return typedScalar(only.value);
  return text.replace(PLACEHOLDER_RE, (p) => refs.get(p)?.value ?? p).replace(/\$\$/g, '$');
}

function typedScalar(v: string): unknown {
  const t = v.trim();
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(t) || /^0x[0-9a-fA-F]+$/.test(t)) return Number(t);
  if (/^(true|True|TRUE)$/.test(t)) return true;
  if (/^(false|False|FALSE)$/.test(t)) return false;
  if (/^(null|Null|NULL|~)$/.test(t)) return null;
  return v;
}
