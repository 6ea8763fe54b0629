/**
 * Runs REST's typed GraphQL documents in-process through yoga's own envelop pipeline (`yoga.getEnveloped`): the
 * same context factory, validation rules (depth, alias and cost limits) and error masking as /graphql, without an
 * HTTP round trip. Variables are passed as values, so an uploaded File reaches the service as REST parsed it: no
 * second multipart encoding and parse.
 */
import { isAsyncIterable } from '@envelop/core';
import type { DocumentNode, ExecutionArgs, ExecutionResult, GraphQLError, GraphQLSchema } from 'graphql';
import type { TadaDocumentNode } from '../client/graphql.js';
import { GRAPHQL_PATH, type Yoga } from '../http/graphql-app.js';
import { REQUEST_ID_HEADER } from '../http/request-id.js';
import type { AppError } from '../domain/errors.js';
import type { Caller } from '../services/owners.js';
import { appErrorFromGraphQL } from './errors.js';

/** A GraphQL error that is not the application's (masked, or a bug such as an invalid document): logged, 500. */
export class UnexpectedGraphQLError extends Error {
  override readonly name = 'UnexpectedGraphQLError';
}

/** Runs one typed operation; its answer is typed by the document, its errors are AppErrors. */
export type Execute = <Result, Variables>(
  document: TadaDocumentNode<Result, Variables>,
  variables: Variables,
) => Promise<Result>;

/** The pipeline as graphql-js runs it (envelop types it with `any`, for any GraphQL engine). */
interface Pipeline {
  schema: GraphQLSchema;
  validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
  contextFactory: () => unknown;
  execute: (args: ExecutionArgs) => Promise<ExecutionResult | AsyncIterable<unknown>> | ExecutionResult;
}

/**
 * `caller` is the REST request's, resolved once by the router from the same headers and address the context factory
 * reads for /graphql (src/http/caller.ts): every operation of one REST request runs as that caller, so an owner
 * minted by its first creating operation owns what the later ones create.
 */
export function inProcessExecutor(yoga: Yoga, requestId: string, caller: Caller): Execute {
  // The context factory reads the request id from the request's headers, as for /graphql.
  const request = new yoga.fetchAPI.Request(`http://localhost${GRAPHQL_PATH}`, {
    method: 'POST',
    headers: { [REQUEST_ID_HEADER]: requestId },
  });
  return async <Result, Variables>(document: TadaDocumentNode<Result, Variables>, variables: Variables) => {
    const variableValues = definedValues(variables);
    const pipeline: Pipeline = yoga.getEnveloped({ request, params: { variables: variableValues }, caller });
    const invalid = pipeline.validate(pipeline.schema, document);
    if (invalid.length > 0) throw errorOf(invalid[0]);
    const contextValue = await pipeline.contextFactory();
    const result = await pipeline.execute({ schema: pipeline.schema, document, contextValue, variableValues });
    if (isAsyncIterable(result)) throw new UnexpectedGraphQLError('A REST operation returned a stream.');
    const error = result.errors?.[0];
    if (error) throw errorOf(error);
    if (!result.data) throw new UnexpectedGraphQLError('A REST operation returned no data.');
    // The one trusted step: graphql-js executed the document against the schema, and the document's Result type is
    // what gql.tada derived from the same schema (test/unit/rest-operations.test.ts validates every document).
    return result.data as Result;
  };
}

function errorOf(error: { message: string; extensions?: Readonly<Record<string, unknown>> }): AppError | Error {
  return appErrorFromGraphQL(error) ?? new UnexpectedGraphQLError(error.message);
}

/**
 * JSON drops undefined properties; in-process, an undefined variable would become an explicit null argument.
 * Only the top level matters: graphql-js reads an undefined input-object field as absent.
 */
function definedValues(variables: unknown): Record<string, unknown> {
  if (typeof variables !== 'object' || variables === null) return {};
  return Object.fromEntries(Object.entries(variables).filter(([, value]) => value !== undefined));
}
