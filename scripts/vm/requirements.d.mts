// Types of requirements.mjs (for the TypeScript tests).
export interface Requirement {
  object: string; program?: string; since?: string; from?: string; until?: string; always?: boolean;
  missing?: { kind: string; feature: string }; reason?: string; verifier?: string; why: string;
}
export interface Refusal { why?: { missing?: { kind: string; feature: string }; reason?: string }; error?: string; tail?: string[] }
export function versionNumber(v: string): number;
export function loadRequirements(file?: string): Requirement[];
export function refusedOn(r: Requirement, release: string): boolean;
export function expectationsFor(reqs: Requirement[], object: string, release: string): { object?: Requirement; programs: Map<string, Requirement> };
export function matchesRefusal(r: Requirement, got: Refusal): boolean;
export function describe(r: Requirement): string;
