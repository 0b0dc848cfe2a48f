// Types of guest.mjs (for the TypeScript tests).
export type ConsoleEvent = { type: 'run' } | { type: 'exit'; code: number } | { type: 'error'; message: string } | { type: 'warn'; message: string };
export class ConsoleParser {
  constructor(nonce: string, opts?: { keepAfterExit?: boolean });
  feed(chunk: string): { out: string; events: ConsoleEvent[] };
  flush(): string;
}
export function exitStatus(s: { exitCode?: number; error?: string; timedOut?: boolean }): number;
