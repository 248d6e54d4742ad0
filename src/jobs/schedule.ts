import type { Database } from '../db/database.js';

/**
 * A periodic job inside the service: every `everyMs` (and once at start), the instance that takes
 * the job's advisory lock runs it; the others skip that round. A run never overlaps itself, and a
 * failure is logged, not thrown: the next round tries again. Returns a stop function.
 */
export interface Job {
  readonly name: string;
  /** A session advisory-lock key unique to this job. */
  readonly lockKey: number;
  readonly everyMs: number;
  run(db: Database): Promise<object | undefined>;
}

export interface JobLogger {
  info(object: object, message: string): void;
  error(object: object, message: string): void;
}

export function scheduleJob(db: Database, job: Job, logger: JobLogger): () => void {
  let running = false;
  const round = async () => {
    if (running) return;
    running = true;
    const lock = await db.tryLeadership(job.lockKey).catch(() => null);
    try {
      if (lock === null) return;
      const summary = await job.run(db);
      if (summary !== undefined) logger.info({ job: job.name, summary }, `${job.name} done`);
    } catch (error) {
      logger.error({ job: job.name, err: error }, `${job.name} failed`);
    } finally {
      await lock?.release().catch(() => undefined);
      running = false;
    }
  };
  const timer = setInterval(() => void round(), job.everyMs);
  timer.unref();
  void round();
  return () => clearInterval(timer);
}
