// Types of kernels.mjs (for the TypeScript tests).
export function cacheRoot(): string;
export function matchPackage(name: string, line: string): number | undefined;
export function pickNewest(searchOutput: string, line: string): string | undefined;
export function parsePolicyCandidate(policyOutput: string): string | undefined;
export function releaseOfPackage(pkg: string): string | undefined;
export function bzImageVersion(file: string): string | undefined;
export function resolvePackage(line: string, log?: (m: string) => void): { name: string; version: string | undefined; packages: string[]; dist: string; aptOpts: string[] };
export function cachedPackages(line: string): string[];
export function fetchPackage(pkg: string, log?: (m: string) => void, o?: { packages?: string[]; aptOpts?: string[] }): {
  dir: string; kernel: string; modules: string; config: string | undefined; release: string; downloaded: boolean; deb: string;
};
export const KERNEL_LINES: Record<string, { dist: string; release: string; split?: boolean }>;
export const LINE_NAMES: string[];
export const DIST_SUITES: Record<string, string[]>;
export const DEBIAN_KEYRING: string;
export const LISTS_MAX_AGE_MS: number;
export function sourcesList(dist: string, env?: Record<string, string | undefined>): string;
export function searchPattern(line: string): string;
export function packagesOf(name: string): string[];
export function kernelFiles(root: string): { kernel: string; release: string; modules: string; config: string };
export function privateApt(dist: string): { dir: string; opts: string[]; fresh(): boolean; update(): void };
