import { describe, expect, it } from 'vitest';
import { getVariableValues, Kind, parse, validate, type OperationDefinitionNode } from 'graphql';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { schema } from '../../src/schema/index.js';
import { MISSIONS } from '../../src/ml/data/index.js';
import {
  EXAMPLE_ROW,
  GRAPHIQL_EXAMPLE_DOCUMENT,
  GRAPHIQL_EXAMPLE_VARIABLES,
  GRAPHIQL_OPTIONS,
  renderOfflineGraphiQL,
  withVariablesSeed,
} from '../../src/http/graphiql.js';

const page = () => withVariablesSeed(renderGraphiQL(GRAPHIQL_OPTIONS), GRAPHIQL_OPTIONS);

const operations = (): OperationDefinitionNode[] =>
  parse(GRAPHIQL_EXAMPLE_DOCUMENT).definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );

describe('GraphiQL example document', () => {
  it('is valid against the schema', () => {
    const errors = validate(schema, parse(GRAPHIQL_EXAMPLE_DOCUMENT));
    expect(errors.map((e) => e.message)).toEqual([]);
  });

  it('walks the README workflow with one named operation per step', () => {
    expect(operations().map((o) => `${o.operation} ${o.name?.value}`)).toEqual([
      'query Datasets',
      'mutation CreateSession',
      'mutation ConfigureSession',
      'mutation StartTraining',
      'subscription TrainingProgress',
      'query TrainingRun',
      'query PredictAndExplain',
    ]);
    // The list in the header comment names each operation, in order.
    const listed = [...GRAPHIQL_EXAMPLE_DOCUMENT.matchAll(/^# \d (\w+)/gm)].map((m) => m[1]);
    expect(listed).toEqual(operations().map((o) => o.name?.value));
  });

  it("every operation's variables coerce from the example variables", () => {
    const variables = JSON.parse(GRAPHIQL_EXAMPLE_VARIABLES) as Record<string, unknown>;
    for (const operation of operations()) {
      const result = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
      expect(
        result.errors?.map((e) => e.message),
        operation.name?.value,
      ).toBeUndefined();
    }
  });

  it('predicts a full Kepler row, written as the default value of $row', () => {
    const predict = operations().find((o) => o.name?.value === 'PredictAndExplain');
    const result = getVariableValues(schema, predict?.variableDefinitions ?? [], { runId: 'run_x' });
    expect(result.errors).toBeUndefined();
    expect(result.coerced?.row).toEqual(EXAMPLE_ROW);
    for (const feature of MISSIONS.kepler.defaultFeatures) expect(EXAMPLE_ROW, feature).toHaveProperty(feature);
  });

  it('fits the editor beside the result pane (56 characters a line)', () => {
    const long = GRAPHIQL_EXAMPLE_DOCUMENT.split('\n').filter((line) => line.length > 56);
    expect(long).toEqual([]);
  });
});

describe('GraphiQL page', () => {
  it('carries every asset inline: no script, style, font or icon from another host', () => {
    const html = page();
    // The page's own markup, without the inline code and styles (whose text may mention URLs as data).
    const markup = html
      .replace(/(<script\b[^>]*>)[\s\S]*?<\/script>/gi, '$1</script>')
      .replace(/<style>[\s\S]*?<\/style>/gi, '<style></style>');
    expect(markup).toContain('<link rel="icon" href="data:');
    const external = [...markup.matchAll(/<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?([^"' >]+)/gi)]
      .map((m) => m[1])
      .filter((url) => !url.startsWith('data:'));
    expect(external).toEqual([]);
    expect(html).not.toMatch(/@import\s+(?:url\()?["']?https?:/i);
    expect(html).toContain('<title>Exoplanet Playground</title>');
    expect(html).toContain('"subscriptionsProtocol":"WS"');
  });

  it('seeds the example variables before GraphiQL starts, only for a browser without GraphiQL state', () => {
    const html = page();
    const seed = html.indexOf("localStorage.setItem('graphiql:variables'");
    expect(seed).toBeGreaterThan(html.indexOf('<body'));
    expect(seed).toBeLessThan(html.indexOf('YogaGraphiQL.renderYogaGraphiQL'));
    const script = /<script>(try\{if\(localStorage[^<]*)<\/script>/.exec(html)?.[1];
    expect(script).toBeDefined();
    const store = new Map<string, string>();
    const localStorage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
    };
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- runs the page's own inline script, as a browser would
    const run = new Function('localStorage', script ?? '') as (storage: typeof localStorage) => void;
    run(localStorage);
    expect(store.get('graphiql:variables')).toBe(GRAPHIQL_EXAMPLE_VARIABLES);
    // A returning user keeps what they pasted.
    store.set('graphiql:variables', '{"sessionId":"ses_mine"}');
    store.set('graphiql:tabState', '{}');
    run(localStorage);
    expect(store.get('graphiql:variables')).toBe('{"sessionId":"ses_mine"}');
  });

  it('is rendered once (in a worker thread) and reused', async () => {
    const first = renderOfflineGraphiQL(GRAPHIQL_OPTIONS);
    expect(renderOfflineGraphiQL({ ...GRAPHIQL_OPTIONS })).toBe(first);
    expect(new TextDecoder().decode(await first)).toBe(page());
  });
});
