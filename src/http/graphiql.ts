/**
 * GraphiQL at GET /graphql, served whole from this server: @graphql-yoga/render-graphiql inlines GraphiQL's
 * script, styles, fonts and editor workers into one HTML page, so it works offline (yoga's default page loads
 * them from a CDN). It opens on the README workflow as named operations with their variables.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { GraphiQLOptions } from 'graphql-yoga';

/** Kepler-227 b (K00752.01, CONFIRMED) with every default Kepler feature, as in the archive's table. */
export const EXAMPLE_ROW = {
  kepoi_name: 'K00752.01',
  koi_period: 9.48803557,
  koi_period_err1: 0.00002775,
  koi_period_err2: -0.00002775,
  koi_impact: 0.146,
  koi_impact_err1: 0.318,
  koi_impact_err2: -0.146,
  koi_duration: 2.9575,
  koi_duration_err1: 0.0819,
  koi_duration_err2: -0.0819,
  koi_depth: 615.8,
  koi_depth_err1: 19.5,
  koi_depth_err2: -19.5,
  koi_prad: 2.26,
  koi_prad_err1: 0.26,
  koi_prad_err2: -0.15,
  koi_teq: 793,
  koi_insol: 93.59,
  koi_insol_err1: 29.45,
  koi_insol_err2: -16.65,
  koi_model_snr: 35.8,
  koi_steff: 5455,
  koi_steff_err1: 81,
  koi_steff_err2: -81,
  koi_slogg: 4.467,
  koi_slogg_err1: 0.064,
  koi_slogg_err2: -0.096,
  koi_srad: 0.927,
  koi_srad_err1: 0.105,
  koi_srad_err2: -0.061,
  koi_kepmag: 15.347,
};

export const SESSION_ID_PLACEHOLDER = 'paste the id from CreateSession here';
export const RUN_ID_PLACEHOLDER = 'paste the id from StartTraining here';

/** The row as a GraphQL object literal, for a variable's default value (see PredictAndExplain). */
const rowLiteral = Object.entries(EXAMPLE_ROW)
  .map(([column, value]) => `    ${column}: ${JSON.stringify(value)}`)
  .join('\n');

/**
 * The README workflow, one named operation per step; the variables below feed them. The row to predict is a
 * default value in the document, not a variable: GraphiQL marks a JSON object in its variables editor as an error
 * (it types custom scalars as string, number or boolean). Lines stay within 56 characters: the editor shows about
 * that many beside the result pane on a laptop screen.
 */
export const GRAPHIQL_EXAMPLE_DOCUMENT = `# Exoplanet Playground: real planets or false positives?
#
# Run the operations from top to bottom: put the cursor
# inside one and press Ctrl-Enter (Cmd-Enter on a Mac),
# or press the run button and pick it by name.
# Ids go into the Variables tab below this editor.
#
# 1 Datasets           what you can train on
# 2 CreateSession      copy its id into "sessionId"
# 3 ConfigureSession   Kepler, random forest of 30 trees
# 4 StartTraining      copy its id into "runId"
# 5 TrainingProgress   live events until SUCCEEDED
# 6 TrainingRun        test-split metrics, importance
# 7 PredictAndExplain  Kepler-227 b: planet or not, why

query Datasets {
  health { status version tfBackend }
  datasets {
    id name available rowCount
    classCounts { label count }
  }
  models { id name }
}

mutation CreateSession {
  createSession { id datasetId modelType }
}

mutation ConfigureSession($sessionId: ID!) {
  configureSession(input: {
    sessionId: $sessionId
    datasetId: "kepler"
    modelType: "random_forest"
    hyperparameters: { n_estimators: 30 }
    task: THREE_CLASS
  }) {
    id datasetId modelType hyperparameters
  }
}

mutation StartTraining($sessionId: ID!) {
  startTraining(sessionId: $sessionId) {
    id status queuePosition
  }
}

# Over WebSocket. The first event is the run's current
# state; it completes after the last event.
subscription TrainingProgress($runId: ID!) {
  trainingProgress(runId: $runId) {
    status stage progress step totalSteps
    etaSeconds message
  }
}

query TrainingRun($runId: ID!) {
  trainingRun(id: $runId) {
    status message error
    splitCounts { train validation test }
    timings { fitSeconds totalSeconds }
    metrics {
      accuracy balancedAccuracy macroF1 rocAucOvr
      confusionMatrix { labels matrix }
      perClass { label precision recall f1 }
    }
    featureImportance {
      feature importance permutationImportance
    }
  }
}

# Kepler-227 b (K00752.01), a confirmed planet, with its
# full row from the Kepler table. Try other values.
query PredictAndExplain(
  $runId: ID!
  $row: JSON = {
${rowLiteral}
  }
) {
  predict(runId: $runId, rows: [$row]) {
    label confidence warnings
    probabilities { label probability }
  }
  explain(runId: $runId, row: $row) {
    label method outputSpace baseValue output
    reasons
    contributions { feature value contribution }
  }
}
`;

export const GRAPHIQL_EXAMPLE_VARIABLES = JSON.stringify(
  { sessionId: SESSION_ID_PLACEHOLDER, runId: RUN_ID_PLACEHOLDER },
  null,
  2,
);

export const GRAPHIQL_OPTIONS: GraphiQLOptions = {
  title: 'Exoplanet Playground',
  // graphql-ws on the same path (src/http/server.ts); yoga's page would default to SSE.
  subscriptionsProtocol: 'WS',
  // Used while the browser has no stored tabs. (A `variables` option would overwrite the user's variables on
  // every visit, so the variables are seeded by the page instead: see seedVariablesScript.)
  defaultTabs: [{ query: GRAPHIQL_EXAMPLE_DOCUMENT, variables: GRAPHIQL_EXAMPLE_VARIABLES }],
};

/**
 * GraphiQL 5 fills the variables editor from its stored `graphiql:variables` only (not from the default tab), so a
 * first visit would show empty variables. This script, run before GraphiQL starts, stores the example variables
 * when the browser has no GraphiQL state yet; later visits keep what the user pasted.
 */
function seedVariablesScript(variables: string): string {
  // JSON is valid JavaScript; escaping `<` keeps `</script>` inside the data from ending the element.
  const literal = JSON.stringify(variables).replace(/</g, '\\u003c');
  return `<script>try{if(localStorage.getItem('graphiql:tabState')===null&&localStorage.getItem('graphiql:variables')===null)localStorage.setItem('graphiql:variables',${literal})}catch{}</script>`;
}

/** render-graphiql's page with the variables seed inserted at the start of its body, before GraphiQL's script. */
export function withVariablesSeed(html: string, options: GraphiQLOptions): string {
  const body = /<body[^>]*>/.exec(html);
  if (!body) throw new Error('render-graphiql returned a page without <body>');
  const at = body.index + body[0].length;
  const variables = options.defaultTabs?.[0]?.variables;
  return variables ? html.slice(0, at) + seedVariablesScript(variables) + html.slice(at) : html;
}

/**
 * Renders the page in a short-lived worker thread. render-graphiql is a 9 MB module of string constants (about
 * 75 MB of RSS once imported, which a module never gives back); the worker's heap goes away with it, and this
 * process keeps only the 9 MB page.
 */
function renderInWorker(options: GraphiQLOptions): Promise<string> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { renderGraphiQL } = require(workerData.module);
    parentPort.postMessage(renderGraphiQL(workerData.options));`;
  const module = createRequire(import.meta.url).resolve('@graphql-yoga/render-graphiql');
  return new Promise((resolve, reject) => {
    // No execArgv: the code is plain CommonJS and needs none of the app's loaders.
    const worker = new Worker(source, { eval: true, workerData: { module, options }, execArgv: [] });
    worker.once('message', (html: unknown) => {
      if (typeof html === 'string') resolve(html);
      else reject(new Error('the GraphiQL render worker sent no page'));
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      reject(new Error(`the GraphiQL render worker exited (code ${code}) before sending the page`));
    });
  });
}

let cached: { key: string; page: Promise<Uint8Array<ArrayBuffer>> } | null = null;

/** yoga's `renderGraphiQL`: the page is built on the first visit (not at start-up) and then served from memory. */
export function renderOfflineGraphiQL(options: GraphiQLOptions): Promise<Uint8Array<ArrayBuffer>> {
  // yoga hands the same options on every request; a different set (none today) would build its own page.
  const key = JSON.stringify(options);
  if (cached?.key !== key) {
    const page = renderInWorker(options).then((html) => new TextEncoder().encode(withVariablesSeed(html, options)));
    // A failure must not stick: the next visit tries again.
    page.catch(() => {
      if (cached?.page === page) cached = null;
    });
    cached = { key, page };
  }
  return cached.page;
}
