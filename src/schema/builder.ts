/**
 * The one Pothos builder. It defines no domain types: those live one per file beside it.
 */
import SchemaBuilder from '@pothos/core';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { GraphQLContext } from '../http/context.js';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: Date; Output: Date };
    File: { Input: File; Output: never };
  };
}>({
  defaultFieldNullability: false,
});

builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('DateTime', DateTimeResolver);
builder.scalarType('File', {
  description: 'A file sent with the GraphQL multipart request spec (input only).',
  serialize: () => {
    throw new Error('File is an input-only scalar.');
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
