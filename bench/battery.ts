/**
 * The hardening battery (issue 12): a few hundred bad inputs, as an attacker or an unlucky user would send them,
 * against the real server started as its own process (production mode, so crashes and leaks show as they would
 * in a deployment). Every answer is classified:
 *  - clean: a 4xx with a body, a GraphQL error carrying a code other than INTERNAL_SERVER_ERROR, a graphql-ws
 *    `error` message or a 44xx close code, or a null for an unknown id;
 *  - accepted: a 2xx success (listed: each should be harmless, e.g. an ignored extra field);
 *  - server error: a 5xx (the message is masked, but it is a bug);
 *  - leak: an answer naming a server path, a stack frame or an internal library;
 *  - hang: no answer within HANG_MS;
 *  - crash: the server process exited (it is restarted and the battery goes on).
 * Then the health p99 while clients send the amplification query (20 aliases of datasets { previewRows }).
 *
 *   npm run bench:battery            (about a minute)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HANG_MS = 15_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-battery-'));

type Outcome = 'clean' | 'accepted' | 'server error' | 'leak' | 'hang' | 'crash';
interface Answer {
  status: number;
  body: string;
}
interface Case {
  group: string;
  name: string;
  /** HTTP cases return an answer; WebSocket cases classify themselves. */
  run: () => Promise<Answer | Outcome>;
}
interface Result {
  group: string;
  name: string;
  outcome: Outcome;
  detail: string;
}

// ------------------------------------------------------------------------------------------------------------
// The server, as its own process

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

let server: ChildProcess | null = null;
let serverExited = false;
/** Read through a call: the flag changes in the child's exit handler, which TypeScript's narrowing cannot see. */
const exited = (): boolean => serverExited;
let base = '';
let crashes = 0;

async function startServer(): Promise<void> {
  const port = await freePort();
  base = `http://127.0.0.1:${String(port)}`;
  serverExited = false;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      SECRET_KEY: crypto.randomBytes(24).toString('hex'),
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_PATH: path.join(dir, 'battery.db'),
      UPLOAD_DIR: path.join(dir, 'uploads'),
      MAX_UPLOAD_MB: '25',
      LOG_LEVEL: 'error',
      CORS_ORIGINS: 'http://localhost:5173',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (process.env.BATTERY_LOGS === '1') process.stderr.write(chunk);
  });
  child.on('exit', () => {
    serverExited = true;
  });
  server = child;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(`${base}/api/health`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (exited()) throw new Error('the server exited while starting (BATTERY_LOGS=1 shows its log)');
    if (Date.now() > deadline) throw new Error('the server did not start within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function stopServer(): Promise<void> {
  const child = server;
  if (!child || serverExited) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// ------------------------------------------------------------------------------------------------------------
// Requests

async function request(pathname: string, init: RequestInit = {}): Promise<Answer | Outcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
  }, HANG_MS);
  try {
    const response = await fetch(`${base}${pathname}`, { ...init, signal: controller.signal });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    if (controller.signal.aborted) return 'hang';
    if (serverExited) return 'crash';
    // A refused connection with the server alive: the server dropped the socket (e.g. a 431 from Node itself).
    return { status: 0, body: String(error) };
  } finally {
    clearTimeout(timer);
  }
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };

function gql(query: string, variables?: unknown): Promise<Answer | Outcome> {
  return request('/graphql', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ query, variables }) });
}

function rawPost(pathname: string, body: string, headers: Record<string, string>): Promise<Answer | Outcome> {
  return request(pathname, { method: 'POST', headers, body });
}

function multipart(
  pathname: string,
  parts: { name: string; value: string | Buffer; filename?: string }[],
  headers: Record<string, string> = {},
): Promise<Answer | Outcome> {
  const form = new FormData();
  for (const part of parts) {
    if (part.filename !== undefined)
      form.append(
        part.name,
        new Blob([typeof part.value === 'string' ? part.value : new Uint8Array(part.value)]),
        part.filename,
      );
    else form.append(part.name, typeof part.value === 'string' ? part.value : part.value.toString('utf8'));
  }
  return request(pathname, { method: 'POST', headers, body: form });
}

function graphqlUpload(file: string | Buffer, filename = 'data.csv', extra = ''): Promise<Answer | Outcome> {
  return multipart(
    '/graphql',
    [
      {
        name: 'operations',
        value: JSON.stringify({
          query: `mutation ($f: File!) { uploadDataset(file: $f${extra}) { id } }`,
          variables: { f: null },
        }),
      },
      { name: 'map', value: JSON.stringify({ 0: ['variables.f'] }) },
      { name: '0', value: file, filename },
    ],
    { 'graphql-preflight': '1' },
  );
}

// ------------------------------------------------------------------------------------------------------------
// Classification

const LEAK = [
  new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
  new RegExp(repoRoot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
  /node_modules/,
  /\bat [\w.<>]+ \(/,
  /\.ts:\d+:\d+/,
  /SqliteError|better-sqlite3|drizzle|SQLITE_/,
  /\/(tmp|home|root|usr|var)\/\S+/,
];

function classify(answer: Answer | Outcome): { outcome: Outcome; detail: string } {
  if (typeof answer === 'string') return { outcome: answer, detail: '' };
  const detail = `${String(answer.status)} ${answer.body.slice(0, 140).replace(/\s+/g, ' ')}`;
  if (LEAK.some((pattern) => pattern.test(answer.body))) return { outcome: 'leak', detail };
  if (answer.status >= 500) return { outcome: 'server error', detail };
  if (answer.status >= 400) return { outcome: answer.body.length > 0 ? 'clean' : 'server error', detail };
  // Node refuses some requests itself (431, a malformed request line) by closing the socket: a clean refusal.
  if (answer.status === 0) return { outcome: 'clean', detail };
  const parsed = parseJson(answer.body);
  if (isRecord(parsed)) {
    const errors = parsed.errors;
    if (Array.isArray(errors) && errors.length > 0) {
      const codes = errors.map((error) =>
        isRecord(error) && isRecord(error.extensions) ? error.extensions.code : null,
      );
      const masked = codes.some((code) => code === undefined || code === null || code === 'INTERNAL_SERVER_ERROR');
      return { outcome: masked ? 'server error' : 'clean', detail };
    }
    // An unknown id answers null (a deletion, false): the right answer, nothing to refuse.
    if (isRecord(parsed.data) && Object.values(parsed.data).every((value) => value === null || value === false))
      return { outcome: 'clean', detail };
  }
  return { outcome: 'accepted', detail };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ------------------------------------------------------------------------------------------------------------
// WebSocket cases: each sends frames and waits for an error message, a close, or silence.

function wsCase(
  frames: string[],
  options: { origin?: string; expectReply?: boolean } = {},
): () => Promise<Answer | Outcome> {
  return () =>
    new Promise((resolve) => {
      const socket = new WebSocket(`${base.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', {
        headers: options.origin ? { origin: options.origin } : {},
      });
      let settled = false;
      const finish = (outcome: Answer | Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.terminate();
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        finish(serverExited ? 'crash' : 'hang');
      }, HANG_MS);
      socket.on('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => {
          finish({ status: response.statusCode ?? 0, body });
        });
      });
      socket.on('open', () => {
        for (const frame of frames) socket.send(frame);
      });
      socket.on('message', (data: Buffer) => {
        const message = parseJson(data.toString('utf8'));
        if (!isRecord(message)) return;
        if (message.type === 'error') finish({ status: 400, body: JSON.stringify(message) });
        if (message.type === 'next') finish({ status: 200, body: JSON.stringify(message.payload) });
      });
      socket.on('close', (code, reason) => {
        const text = reason.toString('utf8') || `close ${String(code)}`;
        // 44xx: graphql-ws refusals; 1009: a frame over the size limit (ws's maxPayload).
        const refused = (code >= 4400 && code < 4500) || code === 1009;
        finish(refused ? { status: 400, body: text } : { status: code >= 4500 ? 500 : 200, body: text });
      });
      socket.on('error', () => {
        if (serverExited) finish('crash');
      });
    });
}

// ------------------------------------------------------------------------------------------------------------
// Set-up: what the bad inputs aim at (a session, a trained run, an upload, the catalog)

interface Fixtures {
  sessionId: string;
  runId: string;
  datasetId: string;
  models: { id: string; hyperparameters: { name: string; type: string }[] }[];
}

async function data(query: string, variables?: unknown): Promise<Record<string, unknown>> {
  const answer = await gql(query, variables);
  if (typeof answer === 'string') throw new Error(`set-up ${answer}`);
  const parsed = parseJson(answer.body);
  if (!isRecord(parsed) || !isRecord(parsed.data) || parsed.errors)
    throw new Error(`set-up failed: ${answer.body.slice(0, 300)}`);
  return parsed.data;
}

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

async function setUp(): Promise<Fixtures> {
  const created = await data('mutation { createSession { id } }');
  const sessionId = String(field(created.createSession, 'id'));
  await data('mutation ($i: ConfigureSessionInput!) { configureSession(input: $i) { id } }', {
    i: { sessionId, datasetId: 'kepler', modelType: 'logistic_regression' },
  });
  const started = await data('mutation ($s: ID!) { startTraining(sessionId: $s) { id } }', { s: sessionId });
  const runId = String(field(started.startTraining, 'id'));
  for (;;) {
    const view = await data('query ($r: ID!) { trainingRun(id: $r) { status } }', { r: runId });
    const status = field(view.trainingRun, 'status');
    if (status === 'SUCCEEDED') break;
    if (status === 'FAILED' || status === 'CANCELLED') throw new Error(`set-up run ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const upload = await graphqlUpload(fs.readFileSync(path.join(repoRoot, 'examples/kepler-sample.csv')));
  const uploaded = typeof upload === 'string' ? null : parseJson(upload.body);
  const datasetId = String(field(field(field(uploaded, 'data'), 'uploadDataset'), 'id'));
  const catalog = await data('{ models { id hyperparameters { name type } } }');
  const models = (Array.isArray(catalog.models) ? catalog.models : []).map((model) => ({
    id: String(field(model, 'id')),
    hyperparameters: (Array.isArray(field(model, 'hyperparameters'))
      ? (field(model, 'hyperparameters') as unknown[])
      : []
    ).map((parameter) => ({ name: String(field(parameter, 'name')), type: String(field(parameter, 'type')) })),
  }));
  return { sessionId, runId, datasetId, models };
}

// ------------------------------------------------------------------------------------------------------------
// The bad inputs

const HOSTILE_IDS = [
  '',
  'x'.repeat(10_000),
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  "' OR 1=1 --",
  '\u0000',
  '🪐'.repeat(50),
  'ds_../../battery.db',
  'null',
  '<script>alert(1)</script>',
];

function cases(f: Fixtures): Case[] {
  const list: Case[] = [];
  const add = (group: string, name: string, run: () => Promise<Answer | Outcome>) => {
    list.push({ group, name, run });
  };

  // GraphQL documents
  const documents: [string, string][] = [
    ['empty document', ''],
    ['unclosed selection', '{ health {'],
    ['only a brace', '{'],
    ['unknown field', '{ nope }'],
    ['NUL byte', '{ health\u0000 { status } }'],
    ['100 KB of braces', '{'.repeat(100_000)],
    ['depth 40', `{ ${'session(id: "x") { runs { '.repeat(20)} id ${'} }'.repeat(20)} }`],
    ['1,000 aliases', `{ ${Array.from({ length: 1000 }, (_, i) => `a${String(i)}: health { status }`).join(' ')} }`],
    ['field duplication 10,000', `{ health { ${'status '.repeat(10_000)} } }`],
    ['directive bomb', `{ health ${'@skip(if: false) '.repeat(1000)} { status } }`],
    ['fragment cycle', 'fragment A on Query { ...B } fragment B on Query { ...A } { ...A }'],
    ['two operations, no name', 'query A { health { status } } query B { health { status } }'],
    ['subscription over POST without SSE', 'subscription { trainingProgress(runId: "x") { seq } }'],
    [
      'introspection 12 deep',
      `{ __schema { types { ${'fields { type { ofType { '.repeat(6)} name ${'} } }'.repeat(6)} } } }`,
    ],
    [
      '20 aliases of datasets { previewRows }',
      `{ ${Array.from({ length: 20 }, (_, i) => `a${String(i)}: datasets { id previewRows(limit: 100) }`).join(' ')} }`,
    ],
    ['datasets limit 1e9', '{ datasets(limit: 1000000000) { id } }'],
    ['datasets negative offset', '{ datasets(offset: -5) { id } }'],
    ['Int overflow', '{ trainingRuns(sessionId: "x", first: 99999999999) { totalCount } }'],
    ['mutation over GET-like query', 'mutation { createSession { id } } query { health { status } }'],
    ['unknown type in variables', 'query ($x: Nope) { health { status } }'],
  ];
  for (const [name, query] of documents) add('graphql document', name, () => gql(query));

  // Variables and ids
  add('graphql variables', 'variables as a string', () =>
    rawPost(
      '/graphql',
      JSON.stringify({ query: 'query ($i: ID!) { session(id: $i) { id } }', variables: 'x' }),
      JSON_HEADERS,
    ),
  );
  add('graphql variables', 'variables as an array', () =>
    rawPost(
      '/graphql',
      JSON.stringify({ query: 'query ($i: ID!) { session(id: $i) { id } }', variables: [1] }),
      JSON_HEADERS,
    ),
  );
  add('graphql variables', 'missing required variable', () => gql('query ($i: ID!) { session(id: $i) { id } }', {}));
  add('graphql variables', 'object for an ID', () =>
    gql('query ($i: ID!) { session(id: $i) { id } }', { i: { a: 1 } }),
  );
  add('graphql variables', 'unknown operationName', () =>
    rawPost('/graphql', JSON.stringify({ query: '{ health { status } }', operationName: 'Nope' }), JSON_HEADERS),
  );
  const idQueries: [string, string][] = [
    ['session', 'query ($i: ID!) { session(id: $i) { id } }'],
    ['dataset', 'query ($i: ID!) { dataset(id: $i) { id } }'],
    ['trainingRun', 'query ($i: ID!) { trainingRun(id: $i) { id } }'],
    ['prediction', 'query ($i: ID!) { prediction(id: $i) { id } }'],
    ['startTraining', 'mutation ($i: ID!) { startTraining(sessionId: $i) { id } }'],
    ['cancelTraining', 'mutation ($i: ID!) { cancelTraining(runId: $i) { id } }'],
    ['deleteSession', 'mutation ($i: ID!) { deleteSession(id: $i) }'],
    ['predict', 'query ($i: ID!) { predict(runId: $i, rows: [{}]) { label } }'],
  ];
  for (const [name, query] of idQueries)
    for (const id of HOSTILE_IDS.slice(0, 6))
      add('hostile ids', `${name}(${JSON.stringify(id).slice(0, 24)})`, () => gql(query, { i: id }));

  // Session configuration: every hyperparameter of every model with values of the wrong kind or out of range
  const configure = (input: Record<string, unknown>) =>
    gql('mutation ($i: ConfigureSessionInput!) { configureSession(input: $i) { id } }', {
      i: { sessionId: f.sessionId, ...input },
    });
  const badValues: Record<string, unknown[]> = {
    INT: [-1, 1e12, 'ten', [[[[1]]]]],
    FLOAT: [-1e308, 'NaN', { value: 1 }, 'Infinity'],
    BOOL: ['yes', 2],
    ENUM: ['nope', 7],
    INT_LIST: [[-1], Array.from({ length: 100 }, () => 4096), 'wide', [[[1]]]],
  };
  for (const model of f.models)
    for (const parameter of model.hyperparameters)
      for (const value of badValues[parameter.type] ?? [])
        add('hyperparameters', `${model.id}.${parameter.name} = ${JSON.stringify(value).slice(0, 30)}`, () =>
          configure({ modelType: model.id, hyperparameters: { [parameter.name]: value } }),
        );
  // Built as text: JSON.stringify itself overflows the stack on 10,000 levels.
  const configureRaw = (inputJson: string) =>
    rawPost(
      '/graphql',
      `{"query":"mutation ($i: ConfigureSessionInput!) { configureSession(input: $i) { id } }","variables":{"i":${inputJson}}}`,
      JSON_HEADERS,
    );
  const nested = (levels: number, open: string, close: string, inner: string) =>
    `${open.repeat(levels)}${inner}${close.repeat(levels)}`;
  add('configure', 'n_estimators nested 10,000 deep', () =>
    configureRaw(
      `{"sessionId":"${f.sessionId}","modelType":"random_forest","hyperparameters":{"n_estimators":${nested(10_000, '[', ']', '5')}}}`,
    ),
  );
  add('configure', 'preprocessingConfig 5,000 deep', () =>
    configureRaw(`{"sessionId":"${f.sessionId}","preprocessingConfig":${nested(5000, '{"a":', '}', '1')}}`),
  );
  const configureCases: [string, Record<string, unknown>][] = [
    ['unknown hyperparameter', { modelType: 'random_forest', hyperparameters: { nope: 1 } }],
    ['hyperparameters as a list', { modelType: 'random_forest', hyperparameters: [1, 2] }],
    [
      '__proto__ hyperparameter',
      { modelType: 'random_forest', hyperparameters: JSON.parse('{"__proto__": {"x": 1}}') as unknown },
    ],
    ['unknown model type', { modelType: 'quantum_forest' }],
    ['model type 10,000 chars', { modelType: 'm'.repeat(10_000) }],
    ['unknown dataset', { datasetId: 'nope' }],
    ['dataset path', { datasetId: '../../etc/passwd' }],
    ['shares summing to 2', { split: { train: 1, validation: 0.5, test: 0.5 } }],
    ['negative share', { split: { train: 1.2, validation: -0.1, test: -0.1 } }],
    ['NaN share', { split: { train: 'NaN', validation: 0.1, test: 0.2 } }],
    ['unknown feature', { datasetId: 'kepler', features: ['nope'] }],
    ['10,000 features', { datasetId: 'kepler', features: Array.from({ length: 10_000 }, (_, i) => `f${String(i)}`) }],
    ['empty feature list', { datasetId: 'kepler', features: [] }],
    ['seed as a float', { seed: 1.5 }],
    ['seed 2^40', { seed: 2 ** 40 }],
    ['task unknown', { task: 'QUANTUM' }],
    ['preprocessingConfig a string', { preprocessingConfig: 'x' }],
    ['unknown session', { sessionId: 'nope' }],
  ];
  for (const [name, input] of configureCases) add('configure', name, () => configure(input));
  for (const step of [-1, 0, 99, 2 ** 31])
    add('configure', `setSessionStep ${String(step)}`, () =>
      gql('mutation ($s: ID!, $n: Int!) { setSessionStep(sessionId: $s, step: $n) { id } }', {
        s: f.sessionId,
        n: step,
      }),
    );

  // Prediction and explanation
  const predictRows = (rows: unknown) =>
    gql('query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label } }', { r: f.runId, rows });
  const rowCases: [string, unknown][] = [
    ['no rows', []],
    ['1,001 rows', Array.from({ length: 1001 }, () => ({}))],
    ['a row that is a string', ['koi_period']],
    ['a row that is a list', [[1, 2, 3]]],
    ['text in numeric columns', [{ koi_period: 'long', koi_depth: 'deep' }]],
    ['nested objects', [{ koi_period: { a: { b: 1 } } }]],
    ['1 MB string cell', [{ koi_period: 'x'.repeat(1_000_000) }]],
    ['10,000 columns', [Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`c${String(i)}`, i]))]],
    ['Infinity as text', [{ koi_period: 'Infinity' }]],
    ['__proto__ row', [JSON.parse('{"__proto__": {"koi_period": 1}}') as unknown]],
  ];
  for (const [name, rows] of rowCases) add('predict', name, () => predictRows(rows));
  const explainCases: [string, Record<string, unknown>][] = [
    ['unknown class', { r: f.runId, row: {}, label: 'nope' }],
    ['row a number', { r: f.runId, row: 5 }],
    ['row a list', { r: f.runId, row: [1] }],
    ['row with text', { r: f.runId, row: { koi_period: 'x'.repeat(200) } }],
  ];
  for (const [name, variables] of explainCases)
    add('explain', name, () =>
      gql(
        'query ($r: ID!, $row: JSON!, $label: String) { explain(runId: $r, row: $row, label: $label) { label } }',
        variables,
      ),
    );
  const batchCases: [string, Record<string, unknown>][] = [
    ['neither dataset nor file', { r: f.runId }],
    ['unknown dataset', { r: f.runId, d: 'nope' }],
    ['dataset path', { r: f.runId, d: '../battery.db' }],
    ['unknown run', { r: 'nope', d: 'kepler' }],
  ];
  for (const [name, variables] of batchCases)
    add('predictBatch', name, () =>
      gql('mutation ($r: ID!, $d: ID) { predictBatch(runId: $r, datasetId: $d) { id } }', variables),
    );

  // HTTP around /graphql
  const big = JSON.stringify({ query: '{ health { status } }', variables: { pad: 'x'.repeat(6 * 1024 * 1024) } });
  const httpCases: [string, () => Promise<Answer | Outcome>][] = [
    ['application/xml body', () => rawPost('/graphql', '<query/>', { 'content-type': 'application/xml' })],
    ['text/plain body', () => rawPost('/graphql', '{ health { status } }', { 'content-type': 'text/plain' })],
    ['no body', () => rawPost('/graphql', '', { 'content-type': 'application/json' })],
    ['invalid JSON', () => rawPost('/graphql', '{"query": ', JSON_HEADERS)],
    ['JSON array', () => rawPost('/graphql', '[1,2,3]', JSON_HEADERS)],
    ['query a number', () => rawPost('/graphql', '{"query": 5}', JSON_HEADERS)],
    ['6 MB JSON body', () => rawPost('/graphql', big, JSON_HEADERS)],
    [
      'JSON nested 100,000 deep',
      () =>
        rawPost(
          '/graphql',
          `{"query":"{ health { status } }","variables":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
          JSON_HEADERS,
        ),
    ],
    [
      'GET mutation',
      () =>
        request(`/graphql?query=${encodeURIComponent('mutation { createSession { id } }')}`, {
          headers: { 'graphql-preflight': '1', accept: 'application/json' },
        }),
    ],
    [
      'GET without preflight',
      () =>
        request(`/graphql?query=${encodeURIComponent('{ health { status } }')}`, {
          headers: { accept: 'application/json' },
        }),
    ],
    ['broken percent-encoding', () => request('/graphql?query=%E0%A4%A', { headers: { 'graphql-preflight': '1' } })],
    [
      'URL of 20,000 characters',
      () => request(`/graphql?query=${'a'.repeat(20_000)}`, { headers: { 'graphql-preflight': '1' } }),
    ],
    [
      '2,000 headers',
      () =>
        request('/api/health', {
          headers: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`x-h${String(i)}`, 'v'])),
        }),
    ],
    ['PUT /graphql', () => request('/graphql', { method: 'PUT', body: '{}' })],
    ['x-request-id of 10,000 chars', () => request('/api/health', { headers: { 'x-request-id': 'r'.repeat(10_000) } })],
    ['x-request-id with a newline', () => request('/api/health', { headers: { 'x-request-id': 'a\u2028b' } })],
  ];
  for (const [name, run] of httpCases) add('http', name, run);

  // Multipart and uploads
  const rows = fs.readFileSync(path.join(repoRoot, 'examples/kepler-sample.csv'), 'utf8');
  const uploadCases: [string, () => Promise<Answer | Outcome>][] = [
    ['multipart without preflight', () => multipart('/graphql', [{ name: 'operations', value: '{}' }])],
    [
      'operations not JSON',
      () =>
        multipart(
          '/graphql',
          [
            { name: 'operations', value: 'nope' },
            { name: 'map', value: '{}' },
          ],
          { 'graphql-preflight': '1' },
        ),
    ],
    [
      'map not JSON',
      () =>
        multipart(
          '/graphql',
          [
            { name: 'operations', value: '{"query":"{ health { status } }"}' },
            { name: 'map', value: '[[[' },
          ],
          { 'graphql-preflight': '1' },
        ),
    ],
    [
      'map to a missing file',
      () =>
        multipart(
          '/graphql',
          [
            {
              name: 'operations',
              value: JSON.stringify({
                query: 'mutation ($f: File!) { uploadDataset(file: $f) { id } }',
                variables: { f: null },
              }),
            },
            { name: 'map', value: '{"9":["variables.f"]}' },
          ],
          { 'graphql-preflight': '1' },
        ),
    ],
    ['empty file', () => graphqlUpload('')],
    ['header only', () => graphqlUpload('koi_period,koi_disposition\n')],
    ['binary garbage', () => graphqlUpload(crypto.randomBytes(64 * 1024), 'x.csv')],
    ['one column', () => graphqlUpload('label\na\nb\n')],
    ['one class only', () => graphqlUpload(`a,b,label\n${'1,2,x\n'.repeat(50)}`)],
    ['label column absent', () => graphqlUpload(rows, 'k.csv', ', labelColumn: "nope"')],
    ['a 20 MB cell', () => graphqlUpload(`a,label\n${'9'.repeat(20 * 1024 * 1024)},x\n1,y\n`)],
    ['file over MAX_UPLOAD_MB', () => graphqlUpload(Buffer.alloc(26 * 1024 * 1024, 0x31))],
    ['ragged rows', () => graphqlUpload('a,b,label\n1,2\n1,2,3,4,5\n3,y\n')],
    ['NUL bytes', () => graphqlUpload(`a,label\n1\u0000,x\n2,y\n`)],
    ['UTF-16', () => graphqlUpload(Buffer.from(`a,label\n1,x\n2,y\n`, 'utf16le'))],
    [
      '10,000 columns',
      () =>
        graphqlUpload(
          `${Array.from({ length: 10_000 }, (_, i) => `c${String(i)}`).join(',')},label\n${'1,'.repeat(10_000)}x\n${'2,'.repeat(10_000)}y\n`,
        ),
    ],
    ['duplicate header names', () => graphqlUpload('a,a,label\n1,2,x\n3,4,y\n')],
    [
      '1,000 classes',
      () =>
        graphqlUpload(`a,label\n${Array.from({ length: 1000 }, (_, i) => `${String(i)},c${String(i)}`).join('\n')}\n`),
    ],
    ['path traversal file name', () => graphqlUpload(rows, '../../../../etc/cron.d/x.csv')],
    ['file name of 5,000 chars', () => graphqlUpload(rows, `${'n'.repeat(5000)}.csv`)],
    ['name of 10,000 chars', () => graphqlUpload(rows, 'k.csv', `, name: "${'n'.repeat(10_000)}"`)],
  ];
  for (const [name, run] of uploadCases) add('upload', name, run);

  // The REST layer
  const restJson = (method: string, pathname: string, body: string, headers: Record<string, string> = {}) =>
    request(pathname, { method, headers: { 'content-type': 'application/json', ...headers }, body });
  const restCases: [string, () => Promise<Answer | Outcome>][] = [
    ['POST /select invalid JSON', () => restJson('POST', '/select', '{"model_type":')],
    [
      'POST /select model_type unknown',
      () => restJson('POST', '/select', JSON.stringify({ session_id: f.sessionId, model_type: 'nope' })),
    ],
    [
      'POST /select hyperparameters a string',
      () => restJson('POST', '/select', JSON.stringify({ session_id: f.sessionId, hyperparameters: 'x' })),
    ],
    [
      'POST /select nested 10,000 deep',
      () =>
        restJson(
          'POST',
          '/select',
          `{"session_id":"${f.sessionId}","hyperparameters":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
        ),
    ],
    ['POST /select body 6 MB', () => restJson('POST', '/select', JSON.stringify({ pad: 'x'.repeat(6 * 1024 * 1024) }))],
    [
      'POST /select XML',
      () => request('/select', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<a/>' }),
    ],
    ['GET /select unknown session', () => request('/select?session_id=nope')],
    ['POST /training unknown session', () => restJson('POST', '/training', JSON.stringify({ session_id: 'nope' }))],
    ['POST /training session a number', () => restJson('POST', '/training', JSON.stringify({ session_id: 5 }))],
    ['GET /training without session', () => request('/training')],
    ['POST /predict no body', () => restJson('POST', '/predict', '')],
    [
      'POST /predict rows a string',
      () => restJson('POST', '/predict', JSON.stringify({ session_id: f.sessionId, data: 'x' })),
    ],
    ['POST /result unknown session', () => restJson('POST', '/result', JSON.stringify({ session_id: 'nope' }))],
    ['GET /api/hyperparameters/nope', () => request('/api/hyperparameters/nope')],
    ['GET /api/hyperparameters/<10,000 chars>', () => request(`/api/hyperparameters/${'m'.repeat(10_000)}`)],
    ['GET /api/sessions/../../etc/passwd', () => request('/api/sessions/..%2F..%2Fetc%2Fpasswd')],
    ['DELETE /api/sessions/nope', () => request('/api/sessions/nope', { method: 'DELETE' })],
    ['GET /api/predictions/nope.csv', () => request('/api/predictions/nope.csv')],
    ['GET /api/predictions/..%2F..%2Fbattery.db.csv', () => request('/api/predictions/..%2F..%2Fbattery.db.csv')],
    ['POST /api/upload without a file', () => multipart('/api/upload', [{ name: 'nope', value: 'x' }])],
    ['POST /api/upload JSON', () => restJson('POST', '/api/upload', '{}')],
    [
      'POST /api/upload binary garbage',
      () => multipart('/api/upload', [{ name: 'file', value: crypto.randomBytes(4096), filename: 'x.csv' }]),
    ],
    [
      'POST /api/upload-csv one class',
      () =>
        multipart('/api/upload-csv', [{ name: 'file', value: `a,label\n${'1,x\n'.repeat(20)}`, filename: 'x.csv' }]),
    ],
    [
      'POST /api/upload from a foreign origin',
      () =>
        multipart('/api/upload', [{ name: 'file', value: rows, filename: 'k.csv' }], {
          origin: 'https://evil.example',
        }),
    ],
    [
      'form POST /training from a foreign origin',
      () =>
        request('/training', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
          body: `session_id=${f.sessionId}`,
        }),
    ],
    ['POST /api/custom/train nothing', () => restJson('POST', '/api/custom/train', '{}')],
    ['GET /api/custom/progress/nope', () => request('/api/custom/progress/nope')],
    ['GET /api/custom/result/nope', () => request('/api/custom/result/nope')],
    ['POST /api/pretrained/predict nothing', () => restJson('POST', '/api/pretrained/predict', '{}')],
    ['GET /api/pretrained/result/nope', () => request('/api/pretrained/result/nope')],
    ['DELETE /api/health', () => request('/api/health', { method: 'DELETE' })],
    ['GET /api/datasets?limit=-1', () => request('/api/datasets?limit=-1')],
    ['GET /nope', () => request('/nope')],
  ];
  for (const [name, run] of restCases) add('rest', name, run);

  // graphql-ws
  const init = JSON.stringify({ type: 'connection_init' });
  const subscribe = (query: string, id = '1') => JSON.stringify({ id, type: 'subscribe', payload: { query } });
  const wsCases: [string, () => Promise<Answer | Outcome>][] = [
    ['foreign Origin', wsCase([init], { origin: 'https://evil.example' })],
    ['a frame that is not JSON', wsCase([init, 'nope'])],
    ['unknown message type', wsCase([init, JSON.stringify({ type: 'nope' })])],
    ['subscribe before connection_init', wsCase([subscribe('{ health { status } }')])],
    ['connection_init twice', wsCase([init, init])],
    ['unclosed subscription document', wsCase([init, subscribe('subscription { trainingProgress(runId: "x") {')])],
    [
      '1,000 aliases',
      wsCase([
        init,
        subscribe(`{ ${Array.from({ length: 1000 }, (_, i) => `a${String(i)}: health { status }`).join(' ')} }`),
      ]),
    ],
    [
      'subscription to an unknown run',
      wsCase([init, subscribe('subscription { trainingProgress(runId: "nope") { seq } }')]),
    ],
    [
      'same id twice',
      wsCase([
        init,
        subscribe('subscription { trainingProgress(runId: "nope") { seq } }'),
        subscribe('subscription { trainingProgress(runId: "nope") { seq } }'),
      ]),
    ],
    ['a 5 MB frame', wsCase([init, 'x'.repeat(5 * 1024 * 1024)])],
  ];
  for (const [name, run] of wsCases) add('websocket', name, run);
  return list;
}

// ------------------------------------------------------------------------------------------------------------
// Health while the amplification query is sent

async function healthDuringAmplification(
  seconds: number,
): Promise<{ p50: number; p99: number; n: number; refused: number }> {
  const query = `{ ${Array.from({ length: 20 }, (_, i) => `a${String(i)}: datasets { id previewRows(limit: 1) }`).join(' ')} }`;
  const stopAt = Date.now() + seconds * 1000;
  let refused = 0;
  const attackers = Array.from({ length: 4 }, async () => {
    while (Date.now() < stopAt) {
      const answer = await gql(query);
      if (typeof answer !== 'string' && classify(answer).outcome === 'clean') refused++;
    }
  });
  const latencies: number[] = [];
  while (Date.now() < stopAt) {
    const started = performance.now();
    await request('/api/health');
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await Promise.all(attackers);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), n: latencies.length, refused };
}

// ------------------------------------------------------------------------------------------------------------

await startServer();
try {
  const fixtures = await setUp();
  // A few more uploads, so the amplification query would have something to multiply.
  for (let i = 0; i < 5; i++) await graphqlUpload(fs.readFileSync(path.join(repoRoot, 'examples/kepler-sample.csv')));
  const all = cases(fixtures);
  const results: Result[] = [];
  for (const item of all) {
    const { outcome, detail } = classify(await item.run());
    results.push({ group: item.group, name: item.name, outcome, detail });
    if (exited()) {
      crashes++;
      results[results.length - 1] = { ...results[results.length - 1], outcome: 'crash', detail };
      await startServer();
    }
  }
  const health = await healthDuringAmplification(5);

  const outcomes: Outcome[] = ['clean', 'accepted', 'server error', 'leak', 'hang', 'crash'];
  const groups = [...new Set(results.map((r) => r.group))];
  console.log(`\nHardening battery: ${String(results.length)} bad inputs against the real server (production mode)\n`);
  console.log(`| group | tried | ${outcomes.join(' | ')} |`);
  console.log(`|---|---|${outcomes.map(() => '---').join('|')}|`);
  for (const group of [...groups, 'all']) {
    const inGroup = results.filter((r) => group === 'all' || r.group === group);
    const counts = outcomes.map((o) => String(inGroup.filter((r) => r.outcome === o).length));
    console.log(`| ${group === 'all' ? '**all**' : group} | ${String(inGroup.length)} | ${counts.join(' | ')} |`);
  }
  const notClean = results.filter((r) => r.outcome !== 'clean');
  if (notClean.length > 0) {
    console.log('\nNot refused cleanly:');
    for (const r of notClean) console.log(`  [${r.outcome}] ${r.group} / ${r.name}: ${r.detail}`);
  }
  console.log(
    `\nhealth while 4 clients send 20 aliases of datasets { previewRows } for 5 s: p50 ${health.p50.toFixed(1)} ms, ` +
      `p99 ${health.p99.toFixed(1)} ms ${health.p99 <= 50 ? '✓' : '✗'} (goal ≤ 50 ms; ${String(health.n)} health requests, ` +
      `${String(health.refused)} amplification queries refused)`,
  );
  console.log(`server processes that exited: ${String(crashes)}`);
  const bad = results.filter((r) => ['server error', 'leak', 'hang', 'crash'].includes(r.outcome)).length;
  process.exitCode = bad === 0 ? 0 : 1;
} finally {
  await stopServer();
  fs.rmSync(dir, { recursive: true, force: true });
}
