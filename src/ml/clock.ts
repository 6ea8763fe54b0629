/**
 * Milliseconds on the process's monotonic clock. It is the same clock in every thread, so a stamp taken in a
 * training thread and one taken on the main thread subtract exactly: `performance.timeOrigin` is set per thread
 * (their sums drifted 38 ms apart in a long test process), and `Date` can step.
 */
export const processClockMs = (): number => Number(process.hrtime.bigint()) / 1e6;
