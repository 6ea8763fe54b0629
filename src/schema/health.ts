import { builder } from './builder.js';
import type { DependencyStatus, HealthReport } from '../services/health.js';

const DependencyHealth = builder.objectRef<DependencyStatus>('DependencyHealth').implement({
  description: 'One dependency of this server: the database, Redis (REDIS_URL) or the training queue.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'database, redis or queue.' }),
    ok: t.exposeBoolean('ok'),
    detail: t.exposeString('detail', {
      nullable: true,
      description: 'Why it is down; for the queue, its kind (in-process or bullmq).',
    }),
    latencyMs: t.exposeInt('latencyMs', { nullable: true }),
  }),
});

const Health = builder.objectRef<HealthReport>('Health').implement({
  description: 'Liveness, readiness (every dependency answers) and the state of the training queue.',
  fields: (t) => ({
    status: t.exposeString('status', { description: 'ok, or degraded while a dependency is down.' }),
    ready: t.exposeBoolean('ready', {
      description: 'Every dependency answers (GET /api/ready answers 503 otherwise).',
    }),
    dependencies: t.field({ type: [DependencyHealth], resolve: (report) => report.dependencies }),
    queue: t.exposeString('queue', { description: 'in-process, or bullmq (REDIS_URL: shared by every instance).' }),
    workers: t.exposeInt('workers', {
      nullable: true,
      description: 'Processes with training workers the shared queue sees; null with the in-process queue.',
    }),
    version: t.exposeString('version'),
    uptimeSeconds: t.exposeInt('uptimeSeconds'),
    tfBackend: t.exposeString('tfBackend', {
      nullable: true,
      description:
        'TensorFlow.js backend of neural networks: tensorflow (native), wasm or cpu. Judged from the installed files without loading TensorFlow.js, which loads in worker threads with the first neural network.',
    }),
    queuedRuns: t.exposeInt('queuedRuns'),
    runningRuns: t.exposeInt('runningRuns'),
    nodeVersion: t.exposeString('nodeVersion'),
  }),
});

builder.queryField('health', (t) =>
  t.field({
    type: Health,
    resolve: (_root, _args, { services }) => services.health.report(),
  }),
);

builder.subscriptionField('heartbeat', (t) =>
  t.int({
    description: 'Counts up once per `intervalMs`, `count` times, then completes: a connectivity check for clients.',
    args: {
      count: t.arg.int({ defaultValue: 3, required: true }),
      intervalMs: t.arg.int({ defaultValue: 1000, required: true }),
    },
    subscribe: async function* (_root, { count, intervalMs }) {
      const times = Math.min(Math.max(count, 1), 100);
      const interval = Math.min(Math.max(intervalMs, 10), 60_000);
      for (let i = 1; i <= times; i++) {
        if (i > 1) await new Promise((resolve) => setTimeout(resolve, interval));
        yield i;
      }
    },
    resolve: (value) => value,
  }),
);
