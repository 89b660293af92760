// Validation of a job spec at the supervisor's boundary: the library may be called without the RPC
// layer in front of it, so it checks for itself with the same rules the wire uses.
import { jobSpec } from '../rpc/fields.ts';
import type { JobSpec } from '../rpc/model.ts';

/** Throws INVALID_ARGUMENT naming the field (e.g. "spec.limits.memory") and value for a spec that must not start. */
export function validateJobSpec(spec: JobSpec): void {
  jobSpec(spec, 'spec');
}
