/** Prints the GraphQL schema to schema.graphql (committed; a test fails when it is stale). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printSchemaFile } from '../src/schema/print.js';

const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'schema.graphql');
fs.writeFileSync(target, printSchemaFile());
process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
