// Types of initramfs.mjs (for the TypeScript tests).
export interface ModuleFile { name: string; file: string; bytes: Buffer; depends: string[]; optional?: boolean }
export interface CpioEntry { name: string; mode: number; data?: string | Uint8Array; rdev?: [number, number]; target?: string }
export const WANTED_MODULES: string[];
export const REQUIRED_MODULES: string[];
export const OPTIONAL_MODULES: string[];
export function indexModules(dir: string): Map<string, string>;
export function builtinModules(dir: string): Set<string>;
export function readModule(file: string): Buffer;
export function modinfoEntries(bytes: Uint8Array): Array<[string, string]>;
export function modinfo(bytes: Uint8Array): Record<string, string>;
export function parseSoftdeps(values: string[]): { pre: string[]; post: string[] };
export function builtinAliases(dir: string): string[];
export function aliasMatches(pattern: string, name: string): boolean;
export function resolveModules(dir: string, wanted?: string[], required?: string[], optional?: string[]): { modules: ModuleFile[]; builtin: string[]; absent: string[] };
export function cpio(entries: CpioEntry[]): Buffer;
export function parseCpio(buf: Buffer): Array<{ name: string; mode: number; rdev: [number, number]; data: Buffer }>;
export function moduleLoadScript(modules: Array<string | { name: string; optional?: boolean }>): string;
export function initScript(modules: Array<string | { name: string; optional?: boolean }>): string;
export function buildBase(o: { busybox: string; modules: ModuleFile[]; config?: string }): Buffer;
export function buildRun(o: { nonce: string; project: string; verbose: boolean; cmdScript: string }): Buffer;
export function shq(s: string): string;
export function commandScript(o: { argv: string[]; project: string; env: Record<string, string | undefined> }): string;
export function scriptHash(busybox: string): string;
export function baseInitramfs(o: {
  cacheDir: string; release: string; modulesDir?: string; busybox: string; config?: string; log?: (m: string) => void;
  wanted?: string[]; required?: string[]; optional?: string[];
}): { file: string; cached: boolean; modules?: string[]; optional?: string[] };
