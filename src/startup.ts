/**
 * What the server says when it starts: one summary a person can act on (where GraphiQL is, which data it serves
 * and from where, the TensorFlow.js backend, the database), and one clear line for a port already in use.
 */
import type { AppConfig } from './config.js';
import type { Services } from './services/container.js';
import { Caller } from './services/owners.js';

const formatCount = (n: number) => n.toLocaleString('en-US');

/** The lines printed once the server listens on `baseUrl` (http://host:port). */
export async function startupSummary(config: AppConfig, services: Services, baseUrl: string): Promise<string[]> {
  const datasets = (await services.datasets.list(Caller.server())).filter((d) => d.kind === 'NASA');
  const width = Math.max(...datasets.map((d) => d.id.length));
  const lines = [
    `Exoplanet Playground is running.`,
    `  GraphiQL   ${baseUrl}/graphql   (queries, mutations, live training subscriptions)`,
    `  REST       ${baseUrl}/          (the original Flask API's routes)`,
    `  Datasets`,
  ];
  for (const dataset of datasets) {
    const name = dataset.id.padEnd(width);
    if (!dataset.available || !dataset.source) {
      lines.push(`    ${name}  not available: ${dataset.hint ?? ''}`);
      continue;
    }
    const rows = await services.datasets.knownRowCount(dataset.id);
    const exported = dataset.source.exportedAt
      ? `, exported ${dataset.source.exportedAt.toISOString().slice(0, 10)}`
      : '';
    const where =
      dataset.source.kind === 'EMBEDDED_SNAPSHOT'
        ? 'embedded snapshot'
        : `${dataset.source.folder}/${dataset.source.fileName}`;
    lines.push(
      `    ${name}  ${rows === null ? 'rows counted on first use' : `${formatCount(rows)} rows`} (${where}${exported})`,
    );
  }
  const { tfBackend } = await services.health.report();
  lines.push(
    `  TF.js      ${tfBackend ?? 'tfjs-node when installed, else WASM, else CPU'} (loaded by the first neural network, in its worker)`,
  );
  lines.push(`  Database   ${config.databasePath}`);
  lines.push(`  Uploads    ${config.uploadDir}`);
  return lines;
}

/** One line for a listen error a person can fix (port in use, no permission), else null. */
export function listenErrorMessage(error: unknown, config: AppConfig): string | null {
  const code = error instanceof Error && 'code' in error ? (error as NodeJS.ErrnoException).code : undefined;
  const next = config.port === 0 ? 5001 : Math.min(config.port + 1, 65535);
  if (code === 'EADDRINUSE') {
    return `Port ${config.port} on ${config.host} is already in use (another server is running there). Stop it, or choose another port: PORT=${next} npm start`;
  }
  if (code === 'EACCES') {
    return `Port ${config.port} on ${config.host} needs privileges this user does not have. Choose a port above 1023: PORT=${next > 1023 ? next : 5000} npm start`;
  }
  if (code === 'EADDRNOTAVAIL') {
    return `HOST=${config.host} is not an address of this machine. Use HOST=127.0.0.1 (this machine only) or HOST=0.0.0.0 (every interface).`;
  }
  return null;
}
