// Colour for the text report, the way most command-line tools decide it.
// Takes: whether a stream is a terminal, the environment, and rendered diagnostic text. Gives:
// whether to colour, and the text with ANSI colours. Must not: colour anything that is not a
// terminal unless FORCE_COLOR asks, or colour at all when NO_COLOR is set (https://no-color.org)
// and FORCE_COLOR is not; change the text other than adding escape sequences.

export type Env = Readonly<Record<string, string | undefined>>;

/** FORCE_COLOR (any value but 0/false) wins; then NO_COLOR (any non-empty value); then a TTY
 * that is not TERM=dumb. */
export function useColor(isTTY: boolean, env: Env): boolean {
  const force = env["FORCE_COLOR"];
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  if (env["NO_COLOR"]) return false;
  return isTTY && env["TERM"] !== "dumb";
}

const esc = (code: string, s: string): string => `\x1b[${code}m${s}\x1b[0m`;
export const red = (s: string): string => esc("31", s);
export const yellow = (s: string): string => esc("33", s);
export const bold = (s: string): string => esc("1", s);
export const dim = (s: string): string => esc("2", s);

/** Colours one diagnostic as `renderText` writes it: location bold, severity and underline in
 * red (error) or yellow (warning), notes and hints dim. */
export function colorDiagnostic(text: string): string {
  const lines = text.split("\n");
  const head = /^(\S+:\d+:\d+) (error|warning) (RN\d+) (.*)$/.exec(lines[0] ?? "");
  if (!head) return text;
  const paint = head[2] === "error" ? red : yellow;
  lines[0] = `${bold(head[1]!)} ${paint(head[2]!)} ${dim(head[3]!)} ${head[4]}`;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const caret = /^(\s+\|\s*)(\^+)$/.exec(l);
    if (caret) lines[i] = caret[1] + paint(caret[2]!);
    else if (/^\s+(note|hint): /.test(l)) lines[i] = dim(l);
  }
  return lines.join("\n");
}

/** The summary line ("2 errors, 1 warning"), red or yellow by what it counts. */
export function colorSummary(text: string, errors: number, warnings: number): string {
  return errors ? red(bold(text)) : warnings ? yellow(bold(text)) : text;
}
