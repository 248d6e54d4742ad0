import { accountProblem, innProblem, kppProblem, ogrnipProblem, ogrnProblem } from './identifiers.js';

/** A borrower's record as submitted, and its validation (pure). */

export type BorrowerKind = 'company' | 'entrepreneur' | 'individual';

export interface BorrowerInput {
  readonly ref: string;
  readonly kind: BorrowerKind;
  readonly name: string;
  readonly inn: string;
  readonly ogrn?: string;
  readonly kpp?: string;
  readonly regionCode: string;
  readonly address: string;
  readonly bik?: string;
  readonly account?: string;
  /** The state registration date (from the OGRN/OGRNIP record); a product may ask a borrower's age. */
  readonly registeredOn?: string;
  /** The group of connected borrowers it belongs to, if any (set through PUT /borrowers/{ref}/group). */
  readonly groupRef?: string;
}

export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/** Every problem with the record, field by field; empty when it is acceptable. */
export function borrowerProblems(input: BorrowerInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const add = (field: string, message: string | undefined) => { if (message !== undefined) problems.push({ field, message }); };
  add('inn', innProblem(input.inn, input.kind === 'company' ? 'organisation' : 'person'));
  if (input.kind === 'company') {
    add('ogrn', input.ogrn === undefined ? 'a company has an OGRN' : ogrnProblem(input.ogrn));
    add('kpp', input.kpp === undefined ? 'a company has a KPP' : kppProblem(input.kpp));
  } else if (input.kind === 'entrepreneur') {
    add('ogrn', input.ogrn === undefined ? 'an entrepreneur has an OGRNIP' : ogrnipProblem(input.ogrn));
    if (input.kpp !== undefined) add('kpp', 'only a company has a KPP');
  } else {
    if (input.ogrn !== undefined) add('ogrn', 'an individual has no OGRN');
    if (input.kpp !== undefined) add('kpp', 'only a company has a KPP');
  }
  if ((input.bik === undefined) !== (input.account === undefined)) add('account', 'give both the BIK and the account, or neither');
  else if (input.bik !== undefined) add('account', accountProblem(input.bik, input.account));
  // Not ledger/entry.ts isCalendarDate: it takes years 2000-2199 (business days), and a company may
  // have been registered in the 1990s.
  if (input.registeredOn !== undefined && (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(input.registeredOn) || Number.isNaN(Date.parse(`${input.registeredOn}T00:00:00Z`)) || new Date(`${input.registeredOn}T00:00:00Z`).toISOString().slice(0, 10) !== input.registeredOn)) add('registeredOn', 'a calendar date YYYY-MM-DD');
  if (input.registeredOn !== undefined && input.kind === 'individual') add('registeredOn', 'an individual has no state registration');
  if (!/^[0-9]{2}$/.test(input.regionCode)) add('regionCode', 'a region is its two-digit subject code, e.g. "38" for Irkutsk region');
  return problems;
}
