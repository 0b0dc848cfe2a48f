/**
 * The attach methods of the loaded objects. They are defined here, not in src/load, so
 * that load never imports link: importing src/link (or the package entry) installs
 * `Program.prototype.attach` and `BpfMap.prototype.attachStructOps`, and the module
 * augmentation below gives them their types.
 */
import { BpfMap } from '../load/map.js';
import { Program } from '../load/program.js';
import { attachProgram, type AttachOptions } from './attach.js';
import type { Link } from './link.js';
import { attachStructOps } from './struct-ops.js';

declare module '../load/program.js' {
  interface Program {
    /** Attaches the program to its hook and returns the link: see attachProgram. */
    attach(opts?: AttachOptions): Link;
  }
}

declare module '../load/map.js' {
  interface BpfMap {
    /** Registers a `.struct_ops.link` map through a BPF link: see attachStructOps. */
    attachStructOps(): Link;
  }
}

Program.prototype.attach = function attach(this: Program, opts?: AttachOptions): Link {
  return attachProgram(this, opts);
};

BpfMap.prototype.attachStructOps = function (this: BpfMap): Link {
  return attachStructOps(this);
};
