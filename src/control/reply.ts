/**
 * Reply codes and framing of the pluto → whack stream (Libreswan 5.x).
 * Every line is `NNN text\n`; text lines carry 000 and a failure is signalled
 * by an extra empty line carrying the code. whack exits with the first code in
 * [20,100) it sees.
 */

export const RC = {
  /** Any log or show text. */
  PRINT: 0,
  DUPNAME: 20,
  UNKNOWN_NAME: 21,
  ORIENT: 22,
  DEAF: 24,
  ROUTE: 25,
  RTBUSY: 26,
  NOPEERIP: 29,
  WHACK_PROBLEM: 33,
  BADWHACKMESSAGE: 50,
  NORETRANSMISSION: 51,
  INTERNAL_ERROR: 52,
  FATAL: 56,
} as const;

/** One `NNN text\n` line. */
export function formatReplyLine(code: number, text: string): string {
  return `${String(code).padStart(3, "0")} ${text}\n`;
}

/** A parsed reply line, or null when the line lacks the `NNN ` prefix. */
export function parseReplyLine(line: string): { code: number; text: string } | null {
  const m = /^(\d+) (.*)$/s.exec(line);
  if (!m) return null;
  return { code: Number(m[1]), text: m[2] };
}
