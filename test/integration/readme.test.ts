/**
 * The README cannot rot: every GraphQL operation in its ```graphql blocks and every curl command in its ```bash blocks
 * runs, in the README's order, against a real server, and must succeed. Ids in the examples (ses_…, run_…, ds_…) are
 * replaced by the ones this server hands out; `http://localhost:5000` by its address. A block preceded by
 * `<!-- readme-test: skip -->` is not run (say why next to it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kind, OperationTypeNode, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startServer, waitFor, type TestServer } from './harness.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

interface Block {
  lang: string;
  code: string;
  line: number;
}

/** Fenced code blocks in document order, without those marked to skip. */
function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith('```'); i++) body.push(lines[i]);
    const before = lines.slice(Math.max(0, start - 3), start).join('\n');
    if (before.includes('<!-- readme-test: skip')) continue;
    blocks.push({ lang: open[1], code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

const CURL_END = '@@readme-test: end of answer@@';

/** Runs a bash block as written (ids and address replaced), with curl wrapped to mark the end of each answer. */
async function runCurlBlock(code: string): Promise<string[]> {
  const wrapper = `curl() { command curl --silent --show-error "$@"; printf '\\n${CURL_END}\\n'; }\n`;
  const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', wrapper + code], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split(`${CURL_END}\n`)
    .map((answer) => answer.trim())
    .filter((answer) => answer !== '');
}

const countCurls = (code: string) => (code.match(/^\s*curl\s/gm) ?? []).length;

interface Ids {
  session?: string;
  run?: string;
  dataset?: string;
  prediction?: string;
}

const ID_PATTERNS: [keyof Ids, RegExp][] = [
  ['session', /\bses_[\w-]{16}\b/g],
  ['run', /\brun_[\w-]{16}\b/g],
  ['dataset', /\bds_[\w-]{16}\b/g],
  ['prediction', /\bpred_[\w-]{16}\b/g],
];

/** Learns ids from an answer: the first ses_/run_/ds_/pred_ id of each kind it mentions at a known key. */
function learnIds(ids: Ids, body: unknown): void {
  const text = JSON.stringify(body);
  const take = (key: string) => new RegExp(`"${key}":"([\\w-]+)"`).exec(text)?.[1];
  ids.session = take('session_id') ?? ids.session;
  ids.run = take('run_id') ?? ids.run;
  ids.dataset = take('dataset_id') ?? ids.dataset;
}

describe('README', () => {
  let server: TestServer;
  const ids: Ids = {};
  const blocks = codeBlocks(readme);

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  /** Waits until the session's latest run has ended (the README polls; the test does not sleep blindly). */
  async function waitForSessionRun(): Promise<void> {
    if (!ids.session) return;
    await waitFor(
      async () => {
        const result = await server.gql<{ session: { latestRun: { id: string; status: string } | null } | null }>(
          'query ($s: ID!) { session(id: $s) { latestRun { id status } } }',
          { s: ids.session },
        );
        const latest = result.data?.session?.latestRun;
        if (!latest) return true;
        ids.run = latest.id;
        return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(latest.status) ? true : undefined;
      },
      180_000,
      250,
    );
  }

  it('has GraphQL operations and curl commands to check', () => {
    expect(blocks.filter((b) => b.lang === 'graphql').length).toBeGreaterThanOrEqual(1);
    expect(blocks.reduce((n, b) => n + (b.lang === 'bash' ? countCurls(b.code) : 0), 0)).toBeGreaterThanOrEqual(10);
  });

  it('every GraphQL operation runs without errors, and the example planet is predicted a planet', async () => {
    const graphqlIds: Ids = {};
    for (const block of blocks.filter((b) => b.lang === 'graphql')) {
      const document = parse(block.code);
      for (const definition of document.definitions) {
        if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
        const operation: OperationDefinitionNode = definition;
        const name = operation.name?.value ?? '(anonymous)';
        const query = block.code.slice(operation.loc?.start, operation.loc?.end);
        const variables: Record<string, string> = {};
        for (const variable of operation.variableDefinitions ?? []) {
          const key = variable.variable.name.value;
          const value = { s: graphqlIds.session, r: graphqlIds.run, d: graphqlIds.dataset }[key];
          if (!value)
            throw new Error(`README line ${block.line}: ${name} needs $${key}, which no earlier operation produced`);
          variables[key] = value;
        }
        if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
          const { events, error } = await collect<Record<string, { status?: string }>>(
            server.wsClient(),
            query,
            variables,
            180_000,
          );
          expect(error, `${name} (README line ${block.line})`).toBeUndefined();
          expect(events.length, name).toBeGreaterThan(0);
          expect(Object.values(events.at(-1) ?? {})[0]?.status, `${name}: the run should succeed`).toBe('SUCCEEDED');
          continue;
        }
        const result = await server.gql(query, variables);
        expect(result.errors, `${name} (README line ${block.line})`).toBeUndefined();
        const data = result.data ?? {};
        if ('createSession' in data) graphqlIds.session = (data.createSession as { id: string }).id;
        if ('startTraining' in data) graphqlIds.run = (data.startTraining as { id: string }).id;
        if ('predict' in data) {
          const predictions = data.predict as { label: string }[];
          expect(predictions[0]?.label, `${name}: Kepler-227 b is a confirmed planet`).toBe('planet');
        }
      }
    }
    expect(graphqlIds.run).toBeDefined();
  }, 300_000);

  it('every curl command of the README answers success', async () => {
    for (const block of blocks.filter((b) => b.lang === 'bash' && countCurls(b.code) > 0)) {
      if (/\/result|\/predict|\/api\/custom\/result/.test(block.code)) await waitForSessionRun();
      let concrete = block.code.replaceAll('http://localhost:5000', server.url);
      for (const [key, pattern] of ID_PATTERNS) {
        const id = ids[key];
        if (id) concrete = concrete.replace(pattern, id);
      }
      const answers = await runCurlBlock(concrete);
      expect(answers.length, `README line ${block.line}: one answer per curl`).toBe(countCurls(block.code));
      for (const answer of answers) {
        let body: unknown;
        try {
          body = JSON.parse(answer);
        } catch {
          throw new Error(`README line ${block.line}: not JSON:\n${answer.slice(0, 500)}`);
        }
        const envelope = body as { status?: string; success?: boolean; data?: unknown; errors?: unknown };
        const ok =
          envelope.status === 'success' ||
          envelope.status === 'healthy' ||
          envelope.success === true ||
          (envelope.data !== undefined && envelope.errors === undefined);
        expect(ok, `README line ${block.line}:\n${block.code}\n→ ${answer.slice(0, 800)}`).toBe(true);
        learnIds(ids, body);
        const uploaded = (body as { data?: { uploadDataset?: { id: string } } }).data?.uploadDataset;
        if (uploaded) ids.dataset = uploaded.id;
      }
    }
    expect(ids.session).toBeDefined();
  }, 600_000);
});
