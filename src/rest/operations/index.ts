/**
 * Every GraphQL operation the REST layer runs, as typed documents: gql.tada checks each selection against the
 * committed schema types (src/client/graphql-env.d.ts) and types its result and variables, so a schema change that
 * breaks REST fails `npm run typecheck`. test/unit/rest-operations.test.ts validates every document exported here
 * against the schema with graphql-js too (gql.tada types an unknown field as `unknown` instead of failing).
 *
 * Several answers carry GraphQL objects as they are (`available_datasets`, `metrics`, `batch`, …), so a selection
 * here is part of the REST contract.
 */
export * from './fragments.js';
export * from './sessions.js';
export * from './results.js';
export * from './final.js';
export * from './searches.js';
