import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { GraphQLObjectType } from 'graphql';
import { printSchemaFile, printTypedSchemaFile } from '../../src/schema/print.js';
import { schema } from '../../src/schema/index.js';

const committed = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema.graphql');

describe('schema.graphql', () => {
  it('is up to date with the Pothos types (run `npm run schema:print` after changing the schema)', () => {
    expect(fs.readFileSync(committed, 'utf8')).toBe(printSchemaFile());
  });

  it('has its typed-document types up to date (src/client/graphql-env.d.ts, from `npm run schema:print`)', () => {
    const typed = path.resolve(path.dirname(committed), 'src', 'client', 'graphql-env.d.ts');
    expect(fs.readFileSync(typed, 'utf8')).toBe(printTypedSchemaFile());
  });

  it('keeps the names clients rely on (design §4)', () => {
    const fields = (type: 'Query' | 'Mutation' | 'Subscription') => {
      const root = schema.getType(type) as GraphQLObjectType;
      return Object.fromEntries(
        Object.values(root.getFields()).map((f) => [
          f.name,
          { type: String(f.type), args: f.args.map((a) => `${a.name}: ${String(a.type)}`).sort() },
        ]),
      );
    };
    const query = fields('Query');
    expect(query.health.type).toBe('Health!');
    expect(query.datasets.type).toBe('[Dataset!]!');
    expect(query.dataset).toEqual({ type: 'Dataset', args: ['id: ID!'] });
    expect(query.models.type).toBe('[ModelType!]!');
    expect(query.session).toEqual({ type: 'Session', args: ['id: ID!'] });
    expect(query.trainingRun).toEqual({ type: 'TrainingRun', args: ['id: ID!'] });
    expect(query.predict).toEqual({ type: '[Prediction!]!', args: ['rows: [JSON!]!', 'runId: ID!'] });
    expect(query.explain.args).toEqual(expect.arrayContaining(['row: JSON!', 'runId: ID!']));
    expect(query.prediction).toEqual({ type: 'PredictionBatch', args: ['id: ID!'] });
    const mutation = fields('Mutation');
    expect(mutation.createSession.type).toBe('Session!');
    expect(mutation.configureSession).toEqual({ type: 'Session!', args: ['input: ConfigureSessionInput!'] });
    expect(mutation.uploadDataset.args).toEqual(['file: File!', 'labelColumn: String', 'name: String']);
    expect(mutation.startTraining).toEqual({ type: 'TrainingRun!', args: ['sessionId: ID!'] });
    expect(mutation.cancelTraining).toEqual({ type: 'TrainingRun!', args: ['runId: ID!'] });
    expect(mutation.predictBatch.args).toEqual(expect.arrayContaining(['runId: ID!', 'datasetId: ID', 'file: File']));
    expect(mutation.deleteSession).toEqual({ type: 'Boolean!', args: ['id: ID!'] });
    expect(fields('Subscription').trainingProgress).toEqual({ type: 'TrainingProgress!', args: ['runId: ID!'] });
    const progress = (schema.getType('TrainingProgress') as GraphQLObjectType).getFields();
    for (const name of [
      'runId',
      'status',
      'stage',
      'progress',
      'step',
      'totalSteps',
      'metrics',
      'message',
      'etaSeconds',
      'at',
    ])
      expect(progress).toHaveProperty(name);
  });
});
