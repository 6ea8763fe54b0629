/**
 * Every GraphQL document the REST layer runs is valid against the schema. gql.tada types a field the schema does not
 * have as `unknown` instead of failing the typecheck, so a removed or renamed field is caught here (and by most of
 * its uses in the routes).
 */
import { describe, expect, it } from 'vitest';
import { Kind, NoUnusedFragmentsRule, specifiedRules, validate, type DocumentNode } from 'graphql';
import { graphql } from '../../src/client/graphql.js';
import * as operations from '../../src/rest/operations/index.js';
import { schema } from '../../src/schema/index.js';

const isDocument = (value: unknown): value is DocumentNode =>
  typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === Kind.DOCUMENT;

const documents = Object.entries(operations).filter((entry): entry is [string, DocumentNode] => isDocument(entry[1]));
const isFragment = (document: DocumentNode) => document.definitions[0].kind === Kind.FRAGMENT_DEFINITION;

/** A fragment on its own is never used: every other rule applies. */
function errorsOf(document: DocumentNode): string[] {
  const rules = isFragment(document) ? specifiedRules.filter((rule) => rule !== NoUnusedFragmentsRule) : specifiedRules;
  return validate(schema, document, rules).map((error) => error.message);
}

describe('REST operations', () => {
  it('are found: every fragment and operation module is exported', () => {
    expect(documents.filter(([, document]) => !isFragment(document)).length).toBeGreaterThanOrEqual(30);
    expect(documents.filter(([, document]) => isFragment(document)).length).toBeGreaterThanOrEqual(8);
  });

  it.each(documents)('%s is valid against the schema', (_name, document) => {
    expect(errorsOf(document)).toEqual([]);
  });

  it('each operation document holds one named operation', () => {
    for (const [name, document] of documents.filter(([, d]) => !isFragment(d))) {
      const operationsIn = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
      expect(operationsIn, name).toHaveLength(1);
      expect(operationsIn[0].name?.value, name).toMatch(/^Rest[A-Z]/);
    }
  });

  it('fails a field the schema does not have (what the typecheck lets through as unknown)', () => {
    const drifted = graphql(`
      query RestDrifted($id: ID!) {
        session(id: $id) {
          id
          renamedAway
        }
      }
    `);
    expect(errorsOf(drifted)).toEqual(['Cannot query field "renamedAway" on type "Session".']);
  });
});
