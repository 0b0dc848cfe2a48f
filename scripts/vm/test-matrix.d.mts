// Types of test-matrix.mjs (for the TypeScript tests).
import type { Tally } from './guest-suite.mjs';
export function parseMatrixArgs(argv: string[]): { kernels: string[]; only: string[]; timeout: number };
export function formatTable(rows: Array<{ line: string; kernel?: string; status: number | null; secs: number; tests?: Tally; cli?: Tally }>): string;
