import { TsbpfError } from '../errors.js';

/** A CO-RE relocation, kconfig or ksym value that cannot be computed (and is not a poisoning case). */
export class CoreError extends TsbpfError {}
