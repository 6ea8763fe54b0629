import { describe, expect, it } from 'vitest';
import { initTensorflow, tfBackendName } from '../../src/ml/models/tf-backend.js';

describe('TensorFlow.js backend name', () => {
  it('names the backend before loading TensorFlow.js, and loading it picks that same backend', async () => {
    // Each test file has its own module registry: TensorFlow.js is not loaded in this one yet.
    const expected = tfBackendName();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(expected);
    const { backend } = await initTensorflow();
    expect(backend).toBe(expected);
    expect(tfBackendName()).toBe(backend);
  });
});
