/**
 * The attach methods of the loaded objects. They are defined here, not in src/load, so
 * that load never imports link: importing src/link (or the package entry) installs
 * `Program.prototype.attach`, `BpfMap.prototype.attachStructOps` and
 * `Collection.prototype.attach`, and the module augmentation below gives them their types.
 */
import { Collection } from '../load/collection.js';
import { BpfMap } from '../load/map.js';
import { Program } from '../load/program.js';
import { attachProgram, type AttachPoint } from './attach.js';
import { attachCollection, type AttachedLinks, type CollectionAttachOptions } from './collection.js';
import type { Link } from './link.js';
import { attachStructOps } from './struct-ops.js';

declare module '../load/program.js' {
  interface Program {
    /** Attaches the program to its hook and returns the link: see attachProgram and AttachPoint. */
    attach(target?: AttachPoint): Link;
  }
}

declare module '../load/map.js' {
  interface BpfMap<K, V> {
    /** Registers a `.struct_ops.link` map through a BPF link: see attachStructOps. */
    attachStructOps(): Link;
  }
}

declare module '../load/collection.js' {
  interface Collection {
    /**
     * Attaches every program whose section names its target, and those given a target in
     * `opts.targets`; skips tail-call targets and programs whose section names none
     * (`links.skipped` says why). Returns the links by program name.
     */
    attach(opts?: CollectionAttachOptions): AttachedLinks;
  }
}

Program.prototype.attach = function attach(this: Program, target?: AttachPoint): Link {
  return attachProgram(this, target);
};

BpfMap.prototype.attachStructOps = function (this: BpfMap): Link {
  return attachStructOps(this);
};

Collection.prototype.attach = function (this: Collection, opts?: CollectionAttachOptions): AttachedLinks {
  return attachCollection(this, opts);
};
