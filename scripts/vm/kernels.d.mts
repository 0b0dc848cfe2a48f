// Types of kernels.mjs (for the TypeScript tests).
export function cacheRoot(): string;
export function matchPackage(name: string, line: string): number | undefined;
export function pickNewest(searchOutput: string, line: string): string | undefined;
export function parsePolicyCandidate(policyOutput: string): string | undefined;
export function releaseOfPackage(pkg: string): string | undefined;
export function bzImageVersion(file: string): string | undefined;
export function resolvePackage(line: string, log?: (m: string) => void): { name: string; version: string | undefined };
export function cachedPackages(line: string): string[];
export function fetchPackage(pkg: string, log?: (m: string) => void): {
  dir: string; kernel: string; modules: string; release: string; downloaded: boolean; deb: string;
};
