/** Prints the GraphQL schema to schema.graphql and its gql.tada types to src/client/graphql-env.d.ts (both committed; a test fails when either is stale). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printSchemaFile, printTypedSchemaFile } from '../src/schema/print.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const [file, text] of [
  ['schema.graphql', printSchemaFile()],
  ['src/client/graphql-env.d.ts', printTypedSchemaFile()],
] as const) {
  fs.writeFileSync(path.join(root, file), text);
  process.stdout.write(`wrote ${file}\n`);
}
