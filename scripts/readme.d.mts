// Types of readme.mjs (for the TypeScript tests).
export function normalise(text: string): string;
export function blocksOf(text: string): Array<{ kind: string; arg?: string; body: string }>;
export function vmTable(output: string): string | undefined;
