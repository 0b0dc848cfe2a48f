// Types of test-matrix.mjs (for the TypeScript tests).
import type { Tally } from './guest-suite.mjs';
export function parseMatrixArgs(argv: string[]): { kernels: string[]; only: string[]; timeout: number };
export function formatTable(rows: Array<{ line: string; kernel?: string; status: number | null; secs: number; tests?: Tally; cli?: Tally }>): string;
export interface MatrixRow { line: string; kernel?: string; status: number | null; secs: number; tests?: Tally & { error?: string }; cli?: Tally }
export function rowFailed(r: MatrixRow, only: string[]): boolean;
