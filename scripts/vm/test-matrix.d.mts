// Types of test-matrix.mjs (for the TypeScript tests).
import type { Tally } from './guest-suite.mjs';
export interface MatrixOptions { kernels: string[]; smoke: string[]; jobs: number; only: string[]; timeout: number }
export const MATRIX_DEFAULTS: Omit<MatrixOptions, 'only'>;
export function parseMatrixArgs(argv: string[]): MatrixOptions;
export interface MatrixRow { line: string; kernel?: string; suite?: 'full' | 'smoke'; status: number | null; secs: number; tests?: Tally & { error?: string }; cli?: Tally }
export function formatTable(rows: MatrixRow[]): string;
export function rowFailed(r: MatrixRow, only: string[]): boolean;
