import type { Job } from '../jobs/schedule.js';
import { systemUser } from '../identity/identity-repository.js';
import { makeCheckpoint, readCheckpointFile, type CheckpointTarget } from './checkpoint-file.js';

/** A checkpoint of the audit chain at least this often. */
export const CHECKPOINT_EVERY_MS = 24 * 3_600_000;

/**
 * The service's checkpoint job: every hour it looks at the checkpoint file, and when the newest
 * checkpoint there is a day old (or there is none) it makes one. A broken chain is never
 * anchored: the job logs it as an error each round until someone looks.
 */
export function auditCheckpointJob(target: CheckpointTarget, logger: { error(object: object, message: string): void }, now: () => Date = () => new Date()): Job {
  return {
    name: 'audit-checkpoint',
    lockKey: 7_207_107,
    everyMs: 3_600_000,
    async run(db) {
      const lines = await readCheckpointFile(target.file);
      const newest = lines.flatMap((l) => (l.checkpoint === undefined ? [] : [Date.parse(l.checkpoint.at)])).reduce((a, b) => Math.max(a, b), 0);
      const at = now();
      if (at.getTime() - newest < CHECKPOINT_EVERY_MS) return undefined;
      const system = await systemUser(db);
      const made = await makeCheckpoint(db, target, { actorUserId: system.id, actor: system.username }, at);
      if (!made.ok) {
        logger.error({ problem: made.problem }, 'audit checkpoint refused: the audit chain is broken');
        return undefined;
      }
      return { headId: made.checkpoint.headId, count: made.checkpoint.count, file: target.file };
    },
  };
}
