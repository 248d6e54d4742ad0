import { describe, expect, it } from 'vitest';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';

describe('zalog eod', () => {
  it('refuses a number of workers that is not 1 to 8, and a chunk that is not a whole number, with exit 2 before opening a database', async () => {
    for (const workers of ['0', '9', 'two', '1.5']) {
      const result = await runZalog(['eod', '--date', '2026-01-16', '--workers', workers]);
      expect(result.code).toBe(2);
      expect(result.output).toMatch(/--workers is a whole number from 1 to 8/);
    }
    const chunk = await runZalog(['eod', '--date', '2026-01-16', '--chunk', '5k']);
    expect(chunk.code).toBe(2);
    expect(chunk.output).toMatch(/--chunk is a whole number of loans/);
  }, PROCESS_TEST_TIMEOUT_MS);
});
