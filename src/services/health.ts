import { APP_VERSION } from '../version.js';

export interface HealthReport {
  status: 'ok';
  version: string;
  uptimeSeconds: number;
  tfBackend: string | null;
  queuedRuns: number;
  runningRuns: number;
  nodeVersion: string;
}

export interface QueueCounts {
  queued: number;
  running: number;
}

export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly queueCounts: () => Promise<QueueCounts>,
    private readonly tfBackend: () => string | null,
  ) {}

  async report(): Promise<HealthReport> {
    const counts = await this.queueCounts();
    return {
      status: 'ok',
      version: APP_VERSION,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      tfBackend: this.tfBackend(),
      queuedRuns: counts.queued,
      runningRuns: counts.running,
      nodeVersion: process.version,
    };
  }
}
