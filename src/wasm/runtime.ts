/**
 * The part of the WebAssembly JS API the project uses, typed (tsconfig's lib has no DOM and
 * @types/node no WebAssembly), and the one kind of Memory it makes: never grown, so that
 * views over its buffer and pages mapped into it (src/sys/mmap.ts, src/sys/map-over.ts)
 * stay where they are. Pure: no imports.
 */

/** What is used of a WebAssembly.Memory. */
export interface WasmMemory { readonly buffer: ArrayBuffer }
/** What is used of the WebAssembly namespace. */
export interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}

const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Pages of a WebAssembly.Memory (64 KiB). */
export const WASM_PAGE = 65536;
/** The most bytes a 32-bit WebAssembly.Memory holds (65536 pages; one page is kept below the limit). */
export const WASM_MAX_BYTES = 2 ** 32 - WASM_PAGE;

/** Whether this runtime has WebAssembly. */
export function wasmAvailable(): boolean { return api !== undefined; }

/** The WebAssembly namespace; throws where the runtime has none. */
export function wasm(): WasmApi {
  if (!api) throw new Error('WebAssembly is not available in this runtime');
  return api;
}

/**
 * A new WebAssembly.Memory of at least `bytes` bytes (whole pages), which the caller never
 * grows; `capped` also declares its maximum as that size, so that nothing can grow it.
 */
export function newWasmMemory(bytes: number, { capped = false } = {}): WasmMemory {
  const w = wasm();
  if (bytes > WASM_MAX_BYTES) throw new RangeError(`a WebAssembly.Memory of ${bytes} bytes is above the 4 GiB of a 32-bit memory`);
  const pages = Math.ceil(bytes / WASM_PAGE);
  return new w.Memory(capped ? { initial: pages, maximum: pages } : { initial: pages });
}
