/** tsbpf's version, as in package.json (test/unit/gen.test.ts checks that they agree). */
export const TSBPF_VERSION = '0.1.0';
