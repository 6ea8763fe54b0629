/**
 * Uploads are parsed while they arrive (issue 17 goal 2): a client that sends the first part of a CSV and then
 * pauses has that part parsed by the upload thread before it sends the rest (the server's 'dataset uploaded' line
 * times the thread's first answer against the file's last byte), over GraphQL multipart and REST; and a REST form
 * whose label field comes after the file gets the upload that label asks for.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, type TestServer } from './harness.js';

const BOUNDARY = '----stream-test-boundary';
const PAUSE_MS = 1500;

function csv(rows: number): string {
  const lines = ['period,depth,snr,verdict'];
  for (let i = 0; i < rows; i++)
    lines.push(
      `${(1 + i / 7).toFixed(4)},${String(100 + (i % 89))},${String(7 + (i % 31))},${i % 2 ? 'planet' : 'fp'}`,
    );
  return lines.join('\n') + '\n';
}

const part = (name: string, value: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const filePart = (name: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="slow.csv"\r\nContent-Type: text/csv\r\n\r\n`;

/** Sends `head`, waits PAUSE_MS, sends `tail`; resolves with the status and body of the answer. */
function slowPost(
  url: string,
  path: string,
  head: Buffer,
  tail: Buffer,
  token: string | null,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
        'content-length': String(head.length + tail.length),
        'graphql-preflight': '1',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    request.on('error', reject);
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body });
      });
    });
    request.write(head, () => {
      setTimeout(() => request.end(tail), PAUSE_MS);
    });
  });
}

describe('an upload is parsed while it arrives', () => {
  let server: TestServer;
  const content = Buffer.from(csv(150_000)); // about 4 MB: several of the upload thread's 1 MiB slices
  const split = 3 * 1024 * 1024;
  beforeAll(async () => {
    server = await startServer({ asOwner: true, captureLogs: 'info' });
    // The upload thread started (0.3–2 s under load): the pauses below time the parse, not the thread's start.
    const form = new FormData();
    form.set('label_column', 'verdict');
    form.set('file', new Blob([csv(100)]), 'warm.csv');
    const warm = await fetch(`${server.url}/api/upload`, {
      method: 'POST',
      body: form,
      headers: server.ownerToken ? { authorization: `Bearer ${server.ownerToken}` } : {},
    });
    expect(warm.status).toBe(201);
  });
  afterAll(() => server.stop());

  /** The stages of the newest 'dataset uploaded' line after `seen` lines. */
  const uploadedLine = (seen: number) =>
    waitFor(() => server.logs.slice(seen).find((line) => line.msg === 'dataset uploaded'), 10_000) as Promise<{
      arriving: boolean;
      rows: number;
      stages: Record<string, number>;
      reusedSlices: number;
    }>;

  it('GraphQL uploadDataset: the first 3 MB are parsed before the client sends the rest', async () => {
    const seen = server.logs.length;
    const operations = JSON.stringify({
      query:
        'mutation ($file: File!) { uploadDataset(file: $file, labelColumn: "verdict") { id rowCount labelColumn } }',
      variables: { file: null },
    });
    const head = Buffer.concat([
      Buffer.from(part('operations', operations) + part('map', '{"0":["variables.file"]}') + filePart('0')),
      content.subarray(0, split),
    ]);
    const tail = Buffer.concat([content.subarray(split), Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
    const { status, body } = await slowPost(server.url, '/graphql', head, tail, server.ownerToken);
    expect(status, body).toBe(200);
    expect(JSON.parse(body)).toMatchObject({ data: { uploadDataset: { rowCount: 150_000, labelColumn: 'verdict' } } });
    const line = await uploadedLine(seen);
    expect(line.arriving).toBe(true);
    // The thread answered for its first slice while the client was still holding back the rest of the file.
    expect(line.stages.firstParsed).toBeLessThan(line.stages.received - PAUSE_MS / 2);
  });

  it('REST /api/upload: the same (fields before the file)', async () => {
    const seen = server.logs.length;
    const head = Buffer.concat([
      Buffer.from(part('label_column', 'verdict') + part('name', 'slow one') + filePart('file')),
      content.subarray(0, split),
    ]);
    const tail = Buffer.concat([content.subarray(split), Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
    const { status, body } = await slowPost(server.url, '/api/upload', head, tail, server.ownerToken);
    expect(status, body).toBe(201);
    const answer = JSON.parse(body) as { data: { dataset: { rowCount: number; labelColumn: string; name: string } } };
    expect(answer.data.dataset).toMatchObject({ rowCount: 150_000, labelColumn: 'verdict', name: 'slow one' });
    const line = await uploadedLine(seen);
    expect(line.arriving).toBe(true);
    expect(line.stages.firstParsed).toBeLessThan(line.stages.received - PAUSE_MS / 2);
  });

  it('a 15 MB upload sent at once: the slices the thread gives back are filled again, and every byte is kept as sent', async () => {
    const seen = server.logs.length;
    const rows = 700_000;
    const big = Buffer.from(csv(rows));
    const form = new FormData();
    form.set('label_column', 'verdict');
    form.set('file', new Blob([big]), 'big.csv');
    const response = await fetch(`${server.url}/api/upload`, {
      method: 'POST',
      body: form,
      headers: server.ownerToken ? { authorization: `Bearer ${server.ownerToken}` } : {},
    });
    expect(response.status).toBe(201);
    const { data } = (await response.json()) as { data: { dataset: { id: string } } };
    const line = await uploadedLine(seen);
    expect(line.rows).toBe(rows);
    // The thread holds at most the 8 MB window (+ the slice just sent) and the loop fills one more: past 10 fresh 1 MB
    // slices every one is a slice given back, however fast either side runs (15 whole slices: at least 5).
    expect(line.reusedSlices).toBeGreaterThanOrEqual(5);
    // Every value was parsed from the bytes sent: the period column grows with the row.
    const { dataset } = await server.data<{ dataset: { columns: { name: string; min: number; max: number }[] } }>(
      'query ($id: ID!) { dataset(id: $id) { columns { name min max } } }',
      { id: data.dataset.id },
    );
    expect(dataset.columns.find((c) => c.name === 'period')).toMatchObject({
      min: 1,
      max: Number((1 + (rows - 1) / 7).toFixed(4)),
    });
    // The database's gzip, compressed from the same slices: without the local file, rows past the stored preview are
    // read from it (written back to disk), and that file is the upload byte for byte.
    const file = path.join(server.config.uploadDir, `${data.dataset.id}.csv`);
    fs.rmSync(file);
    const { dataset: again } = await server.data<{ dataset: { previewRows: { period: number }[] } }>(
      'query ($id: ID!) { dataset(id: $id) { previewRows(limit: 1, offset: 650000) } }',
      { id: data.dataset.id },
    );
    expect(again.previewRows).toHaveLength(1);
    expect(fs.readFileSync(file).equals(big)).toBe(true);
  });

  it('REST /api/upload with the label and name fields after the file: the upload they ask for, stored once', async () => {
    const form = Buffer.concat([
      Buffer.from(filePart('file')),
      Buffer.from(csv(2_000)),
      // Without its label field the file has no label column ("verdict" is not a name that is detected).
      Buffer.from(`\r\n${part('label_column', 'verdict')}${part('name', 'late fields')}--${BOUNDARY}--\r\n`),
    ]);
    const { status, body } = await slowPost(server.url, '/api/upload', form, Buffer.alloc(0), server.ownerToken);
    expect(status, body).toBe(201);
    const answer = JSON.parse(body) as { data: { dataset: { rowCount: number; labelColumn: string; name: string } } };
    expect(answer.data.dataset).toMatchObject({ rowCount: 2_000, labelColumn: 'verdict', name: 'late fields' });
    const { datasets } = await server.data<{ datasets: { name: string }[] }>('{ datasets { name } }');
    expect(datasets.filter((d) => d.name === 'late fields')).toHaveLength(1);
  });
});
