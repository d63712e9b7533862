// Quoting for each language a spec string can reach. Handlebars' HTML escaping is
// not quoting, so templates are compiled with it off and must call one of these.

/** A POSIX shell word: single quotes, with embedded quotes closed and reopened. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A Ruby single-quoted literal: only backslash and the quote are special there. */
export function rubyQuote(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** A TOML basic string; TOML forbids raw control characters, including DEL. */
export function tomlQuote(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

/**
 * A value in a systemd unit or EnvironmentFile. systemd's quoting differs between
 * directives, so instead of quoting we accept only characters that need none.
 */
export function unitValue(value: string): string {
  if (!/^[A-Za-z0-9_./:=,@+-]+$/.test(value)) {
    throw new Error(`value ${JSON.stringify(value)} cannot be written into a systemd file without quoting`);
  }
  return value;
}

/**
 * A word in keepalived.conf or haproxy.cfg. Both split lines on whitespace and treat
 * # (and keepalived also !) as a comment; their quoting differs between keywords and
 * versions, so instead of quoting we accept only characters that need none.
 */
export function configWord(value: string): string {
  if (!/^[A-Za-z0-9_./:@-]+$/.test(value)) {
    throw new Error(`value ${JSON.stringify(value)} cannot be written into a keepalived or haproxy config unquoted`);
  }
  return value;
}
