/**
 * Typed GraphQL documents for the clients inside this repository (the REST compatibility layer, the dashboard):
 * `graphql(`query …`)` checks the selection against the committed schema at compile time and types its result and
 * variables, so a schema change that breaks a client fails `npm run typecheck`. Regenerate the schema types with
 * `npm run schema:print`.
 */
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env.d.ts';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: {
    /** Serialised JSON values arrive parsed; their shape is the field's own contract. */
    JSON: unknown;
    /** ISO 8601 over the wire. */
    DateTime: string;
    File: File;
  };
}>();

export type { FragmentOf, ResultOf, VariablesOf, TadaDocumentNode } from 'gql.tada';
export { readFragment } from 'gql.tada';
