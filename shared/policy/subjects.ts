// Subject identity: two subjects are the same when kind and id match; the name is only a label.
import type { Subject } from "./types.ts";

export function sameSubject(a: Subject, b: Subject): boolean {
  return a.kind === b.kind && a.id === b.id;
}

/** Used in error messages, so a bad row can be found from the log line. */
export function describeSubject(subject: Subject): string {
  return `${subject.kind} "${subject.name}" (${subject.id})`;
}
