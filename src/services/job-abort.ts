/**
 * Why a queue aborts a running run other than a user's cancel (the runner reads `signal.reason`). Its own module so
 * the runner does not load BullMQ.
 */

/** The abort reason a worker gives its run when it no longer holds the job's lock (another worker will run it). */
export const JOB_LOCK_LOST = 'job-lock-lost';
/** The abort reason of a run handed back by a stopping worker (the runner puts it back to QUEUED). */
export const JOB_HANDED_BACK = 'job-handed-back';
