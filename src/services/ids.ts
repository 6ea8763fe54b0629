import { randomBytes } from 'node:crypto';

/** Short random ids with a readable prefix (`ses_…`, `run_…`): unguessable, URL-safe. */
export function newId(prefix: 'ses' | 'run' | 'ds' | 'pred' | 'search' | 'own'): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}
