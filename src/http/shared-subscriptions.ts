/**
 * Shared execution of fanned-out subscription events over WebSocket (an envelop plugin).
 */
import {
  createSourceEventStream,
  execute as executeOnce,
  getOperationAST,
  Kind,
  OperationTypeNode,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

/**
 * Subscription root fields whose events are objects published once for all subscribers and whose selection reads only
 * the event, never the context: one execution per (event, operation) can serve them all. Their streams start with a
 * per-subscriber snapshot, then events numbered by an increasing `seq` (the WebSocket fan-out, ws-fanout.ts, skips
 * shared events its subscriber's snapshot already covers).
 */
const SHARED_EXECUTION_FIELDS: ReadonlySet<string> = new Set(['trainingProgress']);

/** Whether an operation is a single shared-execution subscription field (one result per event for all). */
export function isSharedOperation(document: DocumentNode, operationName: string | null | undefined): boolean {
  const operation = getOperationAST(document, operationName);
  const root = operation?.operation === OperationTypeNode.SUBSCRIPTION ? operation.selectionSet.selections : undefined;
  return root?.length === 1 && root[0].kind === Kind.FIELD && SHARED_EXECUTION_FIELDS.has(root[0].name.value);
}

/**
 * Same text, operation and variables ⇒ same results (the document's source text, so no parse cache is assumed); null
 * when the document carries no source text.
 */
export function sharedOperationKey(args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues'>) {
  const text = args.document.loc?.source.body;
  return text === undefined
    ? null
    : `${text}\0${args.operationName ?? ''}\0${JSON.stringify(args.variableValues ?? {})}`;
}

/** The source event behind each shared result, for sharedEventSeq. */
const eventOfResult = new WeakMap<ExecutionResult, object>();

/** The `seq` of the event a shared result was executed from (undefined: unknown, e.g. a result another hook replaced). */
export function sharedEventSeq(result: ExecutionResult): number | undefined {
  const event = eventOfResult.get(result);
  return event && 'seq' in event && typeof event.seq === 'number' ? event.seq : undefined;
}

/**
 * WebSocket fan-out: runs a subscription's selection set once per (event object, query, operation name, variables)
 * and hands the same ExecutionResult to every subscriber with that operation — with 1,000 subscribers of a run this
 * saves 999 executions per event. Only the engine is shared: context, validation, the other plugins' subscribe hooks
 * and error masking (onNext, per subscriber, without mutating the result) still run per subscription. Per-subscriber
 * snapshots are distinct objects, so they are executed on their own as before.
 */
export function useSharedSubscriptionExecution(): Plugin {
  const resultsByEvent = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>();
  const sharedSubscribe = async (args: ExecutionArgs) => {
    const stream = await createSourceEventStream(args);
    if (!isAsyncIterable(stream)) return stream;
    const key = sharedOperationKey(args);
    const run = (event: unknown) => executeOnce({ ...args, rootValue: event });
    const resultFor = (event: unknown) => {
      if (typeof event !== 'object' || event === null || key === null) return run(event);
      let results = resultsByEvent.get(event);
      if (!results)
        resultsByEvent.set(event, (results = new Map<string, ExecutionResult | Promise<ExecutionResult>>()));
      let result = results.get(key);
      if (!result) {
        result = run(event);
        results.set(key, result);
        if (result instanceof Promise)
          void result.then(
            (settled) => eventOfResult.set(settled, event),
            () => undefined,
          );
        else eventOfResult.set(result, event);
      }
      return result;
    };
    const source = stream[Symbol.asyncIterator]();
    const mapped: AsyncIterableIterator<ExecutionResult> = {
      [Symbol.asyncIterator]: () => mapped,
      next: async () => {
        const next = await source.next();
        if (next.done) return { done: true, value: undefined };
        // Our selection resolves synchronously: no extra await (a microtask per subscriber and event) unless needed.
        const result = resultFor(next.value);
        return { done: false, value: result instanceof Promise ? await result : result };
      },
      return: async () => {
        await source.return?.();
        return { done: true, value: undefined };
      },
    };
    return mapped;
  };
  return {
    onSubscribe: ({ args, setSubscribeFn }) => {
      // envelop types the arguments loosely (`any`); they are graphql-js's.
      if (isSharedOperation(args.document as DocumentNode, args.operationName as string | undefined))
        setSubscribeFn(sharedSubscribe);
    },
  };
}
