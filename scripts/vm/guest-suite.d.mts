// Types of guest-suite.mjs (for the TypeScript tests).
export interface Tally { passed: number; failed: number; skipped: number }
export function parseSummary(text: string): Tally | undefined;
import type { Requirement } from './requirements.mjs';
export function tallyCli(file: string, status: number | null, stdout: string, stderr: string, o?: { release?: string; reqs?: Requirement[] }): Tally & { rejected: string[]; expected: string[] };
export function testsResult(stdout: string, status: number | null, signal: string | null): Tally & { error?: string };
/** The kernel test files of the smoke run (a regular expression for run-tests --match). */
export const SMOKE_TESTS: string;
/** TSBPF_EXPECT_MODULES for a kernel release: 'nf_conntrack,x_tables', one of them, or 'none'. */
export function expectedModules(release: string, reqs: Requirement[]): string;
