/**
 * A client that goes away mid-upload (issue 17 goal 2): whether it drops the connection while the body is still
 * arriving or right after sending it (while the upload thread validates it), the server leaves no `.part` file and no
 * dataset row behind, and the next upload, through the same upload thread, works.
 */
import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, type TestServer } from './harness.js';

const BOUNDARY = '----abort-test-boundary';

function csv(rows: number): string {
  const lines = ['period,depth,snr,label'];
  for (let i = 0; i < rows; i++)
    lines.push(
      `${(1 + i / 7).toFixed(4)},${String(100 + (i % 89))},${String(7 + (i % 31))},${i % 2 ? 'planet' : 'fp'}`,
    );
  return lines.join('\n') + '\n';
}

/** The multipart body of POST /api/upload with `content` as the file. */
function restBody(content: string): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="label_column"\r\n\r\nlabel\r\n` +
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n`,
    ),
    Buffer.from(content),
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/** The multipart body of the GraphQL uploadDataset mutation with `content` as the file. */
function graphqlBody(content: string): Buffer {
  const operations = JSON.stringify({
    query: 'mutation ($file: File!) { uploadDataset(file: $file, labelColumn: "label") { id } }',
    variables: { file: null },
  });
  return Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.file"]}\r\n` +
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n`,
    ),
    Buffer.from(content),
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/**
 * Sends the first `sendBytes` of `body` (declared whole in content-length), then destroys the socket after
 * `delayMs`. Resolves once the socket is closed.
 */
function abortedPost(
  url: string,
  path: string,
  body: Buffer,
  sendBytes: number,
  delayMs: number,
  token: string | null,
): Promise<void> {
  return new Promise((resolve) => {
    const request = http.request(`${url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
        'content-length': String(body.length),
        'graphql-preflight': '1',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    request.on('error', () => undefined); // the abort itself
    request.on('close', () => {
      resolve();
    });
    request.write(body.subarray(0, sendBytes), () => {
      setTimeout(() => request.destroy(), delayMs);
    });
  });
}

describe('a client that aborts an upload', () => {
  let server: TestServer;
  const content = csv(120_000); // about 3 MB
  beforeAll(async () => {
    server = await startServer({ asOwner: true });
  });
  afterAll(() => server.stop());

  const files = () => fs.readdirSync(server.config.uploadDir);
  const datasets = async () =>
    (await server.data<{ datasets: { kind: string }[] }>('{ datasets { kind } }')).datasets.filter(
      (d) => d.kind === 'UPLOAD',
    ).length;

  for (const [name, path, body] of [
    ['REST /api/upload', '/api/upload', restBody(content)],
    ['GraphQL uploadDataset', '/graphql', graphqlBody(content)],
  ] as const) {
    it(`${name}: mid-body, then right after the body (while it is validated): nothing left, the server fine`, async () => {
      const before = files();
      const uploads = await datasets();
      await abortedPost(server.url, path, body, Math.floor(body.length / 2), 50, server.ownerToken);
      await abortedPost(server.url, path, body, body.length, 0, server.ownerToken);

      // The next upload goes through the same (single) upload thread, after anything the aborted ones left to it.
      const form = new FormData();
      form.set('file', new Blob([csv(500)]), 'small.csv');
      form.set('label_column', 'label');
      const response = await fetch(`${server.url}/api/upload`, {
        method: 'POST',
        body: form,
        headers: server.ownerToken ? { authorization: `Bearer ${server.ownerToken}` } : {},
      });
      expect(response.status).toBe(201);
      await waitFor(() => (files().some((f) => f.endsWith('.part')) ? undefined : true), 30_000);
      // The upload cut mid-body stored nothing; the one whose body had all arrived may have been stored whole (its
      // file and its row) before the server saw the client go — its file is renamed before its row is written, so
      // wait until the two agree (an orphan file never would).
      let added: string[] = [];
      let stored = 0;
      await waitFor(async () => {
        added = files().filter((f) => !before.includes(f));
        stored = (await datasets()) - uploads;
        return added.length === stored ? true : undefined;
      }, 30_000).catch(() => undefined);
      expect(added.filter((f) => f.endsWith('.part'))).toEqual([]);
      expect(stored === 1 || stored === 2).toBe(true);
      expect(added).toHaveLength(stored);
      expect(await server.gql('{ health { status } }')).not.toHaveProperty('errors');
    });
  }
});
