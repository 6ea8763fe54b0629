/**
 * Loads TensorFlow.js once per thread and picks the fastest backend that works here:
 * native `@tensorflow/tfjs-node` (optional dependency, absent where libtensorflow cannot be downloaded),
 * else `@tensorflow/tfjs` on the WASM backend with SIMD (single-threaded: the threaded build needs
 * cross-origin-isolation headers and Blob workers that Node does not give it), else the pure-JS CPU backend.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type TfBackend = 'tensorflow' | 'wasm' | 'cpu';
export type Tf = typeof import('@tensorflow/tfjs');

export interface TensorflowRuntime {
  backend: TfBackend;
  tf: Tf;
}

let runtime: Promise<TensorflowRuntime> | null = null;
let backendInUse: TfBackend | null = null;

/** Memoised: every caller in this thread shares one TensorFlow.js instance and backend. */
export function initTensorflow(): Promise<TensorflowRuntime> {
  runtime ??= loadRuntime().then((loaded) => {
    backendInUse = loaded.backend;
    return loaded;
  });
  return runtime;
}

/**
 * The backend in use in this thread or, before TensorFlow.js has been loaded here, the one `initTensorflow` would
 * choose, judged from the installed files without loading it (for `health` and the start-up summary: loading costs
 * ~75 MB of memory and a second of CPU, so it waits for the first neural network).
 */
export function tfBackendName(): TfBackend {
  return backendInUse ?? expectedBackend();
}

let expected: TfBackend | null = null;

function expectedBackend(): TfBackend {
  expected ??= judgeBackend();
  return expected;
}

/** Native when the optional addon's binding was built, else WASM when its binaries are there, else CPU. */
function judgeBackend(): TfBackend {
  const require = createRequire(import.meta.url);
  const packageDir = (name: string): string | null => {
    try {
      return path.dirname(require.resolve(`${name}/package.json`));
    } catch {
      return null;
    }
  };
  const native = packageDir('@tensorflow/tfjs-node');
  if (native) {
    const lib = path.join(native, 'lib');
    const built =
      fs.existsSync(lib) &&
      fs
        .readdirSync(lib)
        .some((dir) => dir.startsWith('napi-v') && fs.existsSync(path.join(lib, dir, 'tfjs_binding.node')));
    if (built) return 'tensorflow';
  }
  const wasm = packageDir('@tensorflow/tfjs-backend-wasm');
  if (wasm && typeof WebAssembly === 'object' && fs.existsSync(path.join(wasm, 'dist', 'tfjs-backend-wasm.wasm')))
    return 'wasm';
  return 'cpu';
}

async function loadRuntime(): Promise<TensorflowRuntime> {
  const native = await tryNative();
  if (native) return { backend: 'tensorflow', tf: native };

  const tf: Tf = await import('@tensorflow/tfjs');
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The Emscripten loader reads the binary with `fs` in Node, so a plain folder path (with trailing slash) works.
    const require = createRequire(import.meta.url);
    const distFolder =
      path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
    wasm.setWasmPaths(distFolder);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return { backend: 'wasm', tf };
    }
    warnOnce('the WASM backend did not initialise');
  } catch (error) {
    warnOnce(`the WASM backend could not load (${describe(error)})`);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { backend: 'cpu', tf };
}

async function tryNative(): Promise<Tf | null> {
  // A variable specifier keeps TypeScript and bundlers from requiring the optional package or its types.
  const nativePackage = '@tensorflow/tfjs-node';
  try {
    const tf = (await import(nativePackage)) as Tf;
    await tf.setBackend('tensorflow');
    await tf.ready();
    return tf.getBackend() === 'tensorflow' ? tf : null;
  } catch {
    // Normal when the optional dependency is not installed: no log.
    return null;
  }
}

let warned = false;
function warnOnce(reason: string): void {
  if (warned) return;
  warned = true;
  console.warn(`[tensorflow] falling back to the CPU backend: ${reason}`);
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'message' in error) return String(error.message);
  return String(error);
}
