/**
 * INTROSPECTION=off: `__schema` and `__type` are refused at validation with code INTROSPECTION_DISABLED (production
 * deployments may not want to publish their schema; GraphiQL needs introspection, so turn GRAPHIQL off with it).
 * `__typename` stays: clients use it to read results.
 */
import { GraphQLError, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export const INTROSPECTION_DISABLED = 'INTROSPECTION_DISABLED';

const refuseIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value !== '__schema' && node.name.value !== '__type') return;
    context.reportError(
      new GraphQLError(
        `Introspection (${node.name.value}) is turned off on this server (INTROSPECTION=off); the schema is published ` +
          'as schema.graphql with the project.',
        { nodes: node, extensions: { code: INTROSPECTION_DISABLED, http: { status: 400 } } },
      ),
    );
  },
});

export function useIntrospectionSwitch(): Plugin {
  return {
    onValidate: ({ addValidationRule }) => {
      addValidationRule(refuseIntrospection);
    },
  };
}
