// Types of host.mjs (for the TypeScript tests).
export function isStaticElf(file: string): boolean;
export function findBusybox(): string | undefined;
export function ensureTools(o: { debian: boolean; log?: (m: string) => void }): void;
export function probeKvm(o: { kernel: string; cacheDir: string; timeoutMs?: number }): Promise<{ kvm: boolean; reason: string; ms: number; cached: boolean }>;
