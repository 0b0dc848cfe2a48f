// Types of run.mjs (for the TypeScript tests).
export interface VmOptions {
  kernel?: string; kernelImage?: string; modules?: string; timeout: number; mem: number; cpus: number;
  accel: string; dir: string; quiet: boolean; verbose: boolean; help?: boolean; command: string[];
}
export function parseArgs(argv: string[]): VmOptions;
export function main(argv: string[]): Promise<number>;
