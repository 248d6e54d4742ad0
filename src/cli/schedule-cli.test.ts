import { describe, expect, it } from 'vitest';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';

const zalog = (args: string[]) => runZalog(args);

describe('zalog schedule', () => {
  it('prints JSON lines with decimal strings and totals that sum, without a database', async () => {
    const result = await zalog(['schedule', '--principal', '1500000.00', '--rate', '23.5', '--start', '2027-12-15', '--months', '12', '--type', 'annuity', '--json']);
    expect(result.code).toBe(0);
    const lines = result.output.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toHaveLength(13);
    expect(lines[0]).toEqual({ number: 1, dueDate: '2028-01-17', days: 33, principal: '109716.31', interest: '31825.00', payment: '141541.31', balance: '1390283.69' });
    expect(lines[12].totals.principal).toBe('1500000.00');
    const interest = lines.slice(0, 12).reduce((sum: bigint, line: { interest: string }) => sum + BigInt(line.interest.replace('.', '')), 0n);
    expect(lines[12].totals.interest).toBe(`${interest / 100n}.${String(interest % 100n).padStart(2, '0')}`);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('refuses a float-looking rate and an unknown type with exit 2', async () => {
    expect((await zalog(['schedule', '--principal', '1500000', '--rate', '23.5%', '--start', '2027-12-15', '--months', '12', '--type', 'annuity'])).code).toBe(2);
    const unknown = await zalog(['schedule', '--principal', '1500000', '--rate', '23.5', '--start', '2027-12-15', '--months', '12', '--type', 'balloon']);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toMatch(/annuity, bullet or interest-only/);
    const balloon = await zalog(['schedule', '--principal', '1500000.00', '--rate', '23.5', '--start', '2027-12-15', '--months', '12', '--type', 'interest-only', '--balloon', 'half']);
    expect(balloon.code).toBe(2);
    expect(balloon.output).toMatch(/--balloon is a percentage/);
    const tooLong = await zalog(['schedule', '--principal', '1500000.00', '--rate', '23.5', '--start', '2027-12-15', '--months', '121', '--type', 'annuity']);
    expect(tooLong.code).toBe(2);
    expect(tooLong.output).toMatch(/--months is a whole number from 1 to 120/);
  }, PROCESS_TEST_TIMEOUT_MS);
});
