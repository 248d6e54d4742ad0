import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';
import * as zxcvbnEnglish from '@zxcvbn-ts/language-en';

/**
 * Password hashing with scrypt (memory-hard, in Node's own crypto, so no native addon to build).
 * Parameters are stored with each hash so they can be raised later without breaking old ones.
 * N = 2^15, r = 8, p = 1 takes 32 MiB and ~50-100 ms per hash on the CI machine: cheap for a login,
 * expensive for anyone guessing offline.
 */
const COST_LOG2 = 15;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_LENGTH = 64;
const SALT_LENGTH = 16;

export const PASSWORD_LENGTH_MIN = 12;
export const PASSWORD_LENGTH_MAX = 256;

function derive(password: string, salt: Buffer, costLog2: number, blockSize: number, parallelism: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** costLog2, r: blockSize, p: parallelism, maxmem: 256 * 2 ** costLog2 * blockSize };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * How hard a password is to guess, by zxcvbn (Dropbox's estimator, maintained as zxcvbn-ts):
 * dictionaries of common passwords, names and words, keyboard patterns, repeats, sequences and
 * dates. Score 3 ("safely unguessable: moderate protection from an offline attack") is the least
 * accepted, the level zxcvbn itself recommends; the user's own name and login count as guessable.
 */
export const PASSWORD_SCORE_MIN = 3;
let estimator: ZxcvbnFactory | undefined;

function strength(password: string, userInputs: readonly string[]) {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...zxcvbnCommon.dictionary, ...zxcvbnEnglish.dictionary },
    graphs: zxcvbnCommon.adjacencyGraphs,
    translations: zxcvbnEnglish.translations,
  });
  return estimator.check(password, [...userInputs]);
}

/** Why a password may not be used, or undefined. `userInputs`: the user's login and name. */
export function passwordProblem(password: unknown, userInputs: readonly string[] = []): string | undefined {
  if (typeof password !== 'string') return 'a password is a string';
  if (password.length < PASSWORD_LENGTH_MIN) return `a password has at least ${PASSWORD_LENGTH_MIN} characters`;
  if (password.length > PASSWORD_LENGTH_MAX) return `a password has at most ${PASSWORD_LENGTH_MAX} characters`;
  // zxcvbn's cost grows with length; beyond 100 characters it sees nothing new.
  const result = strength(password.slice(0, 100), userInputs.filter((input) => input.length > 0));
  if (result.score < PASSWORD_SCORE_MIN) {
    const why = [result.feedback.warning, ...result.feedback.suggestions].filter((text): text is string => typeof text === 'string' && text !== '').join(' ');
    return `the password is too easy to guess (strength ${result.score} of 4; at least ${PASSWORD_SCORE_MIN} is needed)${why === '' ? '' : `: ${why}`}`;
  }
  return undefined;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, COST_LOG2, BLOCK_SIZE, PARALLELISM);
  return `scrypt$${COST_LOG2}$${BLOCK_SIZE}$${PARALLELISM}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** A stored hash no password matches, for unknown users: the check costs the same either way. */
const DECOY = 'scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$' + Buffer.alloc(KEY_LENGTH).toString('base64');

export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parts = (stored ?? DECOY).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    await derive(password, Buffer.alloc(SALT_LENGTH), COST_LOG2, BLOCK_SIZE, PARALLELISM);
    return false;
  }
  const [, costLog2, blockSize, parallelism, salt, key] = parts;
  const expected = Buffer.from(key!, 'base64');
  const actual = await derive(password, Buffer.from(salt!, 'base64'), Number(costLog2), Number(blockSize), Number(parallelism));
  return stored !== undefined && expected.length === actual.length && timingSafeEqual(expected, actual);
}
