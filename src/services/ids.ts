import { randomBytes } from 'node:crypto';

/** Short random ids with a readable prefix (`ses_…`, `run_…`): unguessable, URL-safe. */
export function newId(prefix: 'ses' | 'run' | 'ds' | 'pred'): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

const ID_PATTERN = /^[a-z]{2,4}_[\w-]{6,40}$/;

/** A syntactically plausible id (never a path); callers still look it up. */
export function isWellFormedId(value: string): boolean {
  return ID_PATTERN.test(value);
}
