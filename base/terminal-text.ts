// Text from a spec, a bundle or a host, made safe to print on a terminal: control
// characters (C0 except newline and tab, DEL, C1) become visible escapes such as \x1b,
// so that a value cannot move the cursor, recolour, retitle the window or hide the
// text printed before it.

// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS_AND_LINE_BREAKS = /[\x00-\x1f\x7f-\x9f]/g;

const escape = (char: string): string => {
  if (char === '\n') return '\\n';
  if (char === '\t') return '\\t';
  if (char === '\r') return '\\r';
  return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
};

/** `text` with every control character except newline and tab shown as an escape. */
export function visible(text: string): string {
  return text.replace(CONTROLS, escape);
}

/** `text` on one line: newlines and tabs escaped as well, for one-line-per-item output. */
export function oneLine(text: string): string {
  return text.replace(CONTROLS_AND_LINE_BREAKS, escape);
}
