import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { accountProblem, bikProblem, innProblem, kppProblem } from '../borrowers/identifiers.js';

/**
 * Where a borrower sends roubles: the bank's own payment requisites and the purpose line that
 * carries the loan's reference (repayments are matched by it, servicing.ts). A bank deploys its
 * own file (ZALOG_BANK_FILE); config/bank.json holds fictional requisites for the demo, with valid
 * control digits so a payment form accepts them. Checked once at start: a wrong digit in the
 * account the bank prints on every statement must stop the service, not a miner's payment.
 */
export interface BankRequisites {
  readonly name: string;
  readonly nameEn: string;
  readonly inn: string;
  readonly kpp: string;
  readonly bik: string;
  readonly correspondentAccount: string;
  /** The account repayments go to (a transit account, 47422, in a bank's chart). */
  readonly repaymentAccount: string;
  /** The payment purpose, `{loan}` replaced by the loan's reference. */
  readonly purposeTemplate: string;
  readonly purposeTemplateEn: string;
  /**
   * The custodian that holds collateral in the custodial mode, and what a miner does to deposit
   * with it (`{loan}` replaced by the loan's reference, which the custodian's confirmation quotes).
   */
  readonly custodian?: { readonly name: string; readonly nameEn: string; readonly instructions: string; readonly instructionsEn: string; readonly contact: string };
}

export const BANK_FILE = fileURLToPath(new URL('../../config/bank.json', import.meta.url).href.replace('/dist/config/', '/config/'));

export function requisitesProblems(value: unknown): string[] {
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of ['name', 'nameEn', 'purposeTemplate', 'purposeTemplateEn'] as const) {
    if (typeof r[field] !== 'string' || (r[field] as string).length < 1 || (r[field] as string).length > 210) problems.push(`${field}: 1 to 210 characters`);
  }
  for (const field of ['purposeTemplate', 'purposeTemplateEn'] as const) {
    if (typeof r[field] === 'string' && !(r[field] as string).includes('{loan}')) problems.push(`${field}: must contain {loan}, the reference repayments are matched by`);
  }
  if (r.custodian !== undefined) {
    const c = (typeof r.custodian === 'object' && r.custodian !== null ? r.custodian : {}) as Record<string, unknown>;
    for (const field of ['name', 'nameEn', 'contact'] as const) {
      if (typeof c[field] !== 'string' || (c[field] as string).length < 1 || (c[field] as string).length > 210) problems.push(`custodian.${field}: 1 to 210 characters`);
    }
    for (const field of ['instructions', 'instructionsEn'] as const) {
      if (typeof c[field] !== 'string' || (c[field] as string).length < 1 || (c[field] as string).length > 1000) problems.push(`custodian.${field}: 1 to 1000 characters`);
      else if (!(c[field] as string).includes('{loan}')) problems.push(`custodian.${field}: must contain {loan}, the reference the custodian's confirmation quotes`);
    }
  }
  const add = (field: string, problem: string | undefined) => { if (problem !== undefined) problems.push(`${field}: ${problem}`); };
  add('inn', innProblem(r.inn, 'organisation'));
  add('kpp', kppProblem(r.kpp));
  add('bik', bikProblem(r.bik));
  if (bikProblem(r.bik) === undefined) {
    add('correspondentAccount', typeof r.correspondentAccount === 'string' && !r.correspondentAccount.startsWith('30101') ? 'a correspondent account starts 30101' : accountProblem(r.bik, r.correspondentAccount));
    add('repaymentAccount', accountProblem(r.bik, r.repaymentAccount));
  }
  return problems;
}

export async function loadRequisites(file = process.env.ZALOG_BANK_FILE ?? BANK_FILE): Promise<BankRequisites> {
  const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
  const problems = requisitesProblems(parsed);
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
  return parsed as BankRequisites;
}

/** What a borrower fills in its payment order to repay `loan`. */
export function paymentDetails(bank: BankRequisites, loan: string) {
  return {
    recipient: bank.name, recipientEn: bank.nameEn, inn: bank.inn, kpp: bank.kpp, bik: bank.bik,
    correspondentAccount: bank.correspondentAccount, account: bank.repaymentAccount,
    purpose: bank.purposeTemplate.replaceAll('{loan}', loan), purposeEn: bank.purposeTemplateEn.replaceAll('{loan}', loan), reference: loan,
  };
}

/** What a miner reads to deposit collateral with the custodian for `loan`; null when the bank names none. */
export function custodianInstructions(bank: BankRequisites, loan: string) {
  const c = bank.custodian;
  if (c === undefined) return null;
  return { name: c.name, nameEn: c.nameEn, instructions: c.instructions.replaceAll('{loan}', loan), instructionsEn: c.instructionsEn.replaceAll('{loan}', loan), contact: c.contact, reference: loan };
}

let cached: Promise<BankRequisites> | undefined;

/** The bank's requisites, read and checked once per process (the service reads them at start). */
export function bankRequisites(): Promise<BankRequisites> {
  cached ??= loadRequisites();
  return cached;
}
