import { randomBytes } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import type { App } from '../api/app.js';
import type { Database } from '../db/database.js';
import { innProblem, ogrnipProblem, ogrnProblem, withAccountKey } from '../borrowers/identifiers.js';
import { requiredSats } from '../loans/collateral.js';
import { formatSats, parseKopecks, parsePrice } from '../money/money.js';
import { latestDuePeriod, reportDueOn } from '../compliance/rules.js';
import { createUser } from '../identity/identity-repository.js';
import type { AssignableRole } from '../identity/roles.js';
import { DEFAULT_PRODUCT, MARKET_PRODUCT_2026, type ProductTerms } from '../loans/product.js';
import { saveSnapshots } from '../underwriting/network-data.js';
import { NETWORK_JUNE_2022 } from './crash-2022.js';

/**
 * The demo bank: its staff, its product, three miners of every kind with their farms, and four
 * loans of different health, built the way a bank would build them, through the HTTP API as its
 * own users (logged in with a session cookie and the CSRF header, every change under four eyes
 * where the service asks for them). Only what has no API is written directly: the users (as
 * `zalog users create-admin` does, each with a random password printed once) and the network
 * data underwriting rests on (what the hourly network job would have fetched in June 2022).
 *
 * The miners and their identifiers are fictional (valid check digits, no real company); the
 * rules applied to them are the bank's rules of today (the 2024 mining law), as if in force then.
 */

export interface DemoUser { readonly username: string; readonly displayName: string; readonly roles: readonly AssignableRole[]; readonly borrowerId: string | null; readonly password: string }

export const DEMO_PRODUCT: ProductTerms = {
  ...DEFAULT_PRODUCT,
  name: 'Майнинг-залог (демо)',
  borrowerKinds: ['company', 'entrepreneur', 'individual'],
  rate: { kind: 'fixed', percent: '23.5' },
  // A product for individuals states the order the law (353-FZ art. 5 p. 20) gives payments.
  waterfall: ['interest_overdue', 'principal_overdue', 'penalty', 'interest', 'principal', 'fee'],
};

const STAFF: ReadonlyArray<Omit<DemoUser, 'password'>> = [
  { username: 'admin', displayName: 'Анна Админова', roles: ['admin'], borrowerId: null },
  { username: 'admin2', displayName: 'Борис Второв', roles: ['admin'], borrowerId: null },
  { username: 'officer', displayName: 'Ольга Кредитова', roles: ['credit_officer'], borrowerId: null },
  { username: 'officer2', displayName: 'Олег Проверкин', roles: ['credit_officer'], borrowerId: null },
  { username: 'risk', displayName: 'Роман Рисков', roles: ['risk_officer'], borrowerId: null },
  { username: 'risk2', displayName: 'Рита Контролёва', roles: ['risk_officer'], borrowerId: null },
  { username: 'treasury', displayName: 'Татьяна Казначеева', roles: ['treasury'], borrowerId: null },
  { username: 'treasury2', displayName: 'Тимур Сверкин', roles: ['treasury'], borrowerId: null },
  { username: 'auditor', displayName: 'Алла Аудитова', roles: ['auditor'], borrowerId: null },
  { username: 'miner-ivanov', displayName: 'Сергей Иванов', roles: ['borrower'], borrowerId: 'IVANOV' },
  { username: 'miner-petrov', displayName: 'Алексей Петров', roles: ['borrower'], borrowerId: 'IP-PETROV' },
  { username: 'miner-sever', displayName: 'ООО «Северный хэш»', roles: ['borrower'], borrowerId: 'SEVER-HASH' },
];

/** A number of `length` digits from `prefix`, its last digit(s) chosen to pass `problem`. */
function withCheckDigits(prefix: string, length: number, problem: (value: string) => string | undefined): string {
  const free = length - prefix.length;
  for (let n = 0; n < 10 ** free; n += 1) {
    const candidate = `${prefix}${String(n).padStart(free, '0')}`;
    if (problem(candidate) === undefined) return candidate;
  }
  throw new Error(`no valid number from ${prefix}`);
}

const BIK = '044525225';
interface Session { readonly cookie: string; readonly csrf: string }

/** One user's client of the API: logged in once, every change with the CSRF header and an idempotency key. */
class Client {
  #counter = 0;
  constructor(private readonly app: App, private readonly name: string, private readonly session: Session) {}

  static async logIn(app: App, username: string, password: string): Promise<Client> {
    const response = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
    if (response.statusCode !== 200) throw new Error(`demo: ${username} could not log in: ${response.body}`);
    const cookie = response.cookies.find((c) => c.name === 'zalog_session');
    return new Client(app, username, { cookie: `zalog_session=${cookie!.value}`, csrf: response.json().csrfToken as string });
  }

  async call<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: unknown, expected: number[] = [200, 201, 202]): Promise<T> {
    this.#counter += 1;
    const options: InjectOptions = {
      method, url,
      headers: { cookie: this.session.cookie, ...(method === 'GET' ? {} : { 'x-csrf-token': this.session.csrf, 'idempotency-key': `demo-${this.name}-${this.#counter}-${randomBytes(4).toString('hex')}` }) },
      ...(payload === undefined ? {} : { payload: payload as object }),
    };
    const response = await this.app.inject(options);
    if (!expected.includes(response.statusCode)) throw new Error(`demo: ${this.name} ${method} ${url} answered ${response.statusCode}: ${response.body}`);
    return response.json() as T;
  }
}

export interface DemoBank {
  readonly users: readonly DemoUser[];
  readonly loans: Readonly<Record<string, string>>;
  /** A client logged in as one of the demo's users (the story acts through them). */
  client(username: string): Promise<Client>;
}

export type { Client as DemoClient };

/**
 * The BTC that puts a loan of `amount` roubles at `ltvPercent` at the current price (rounded up to
 * the satoshi), so each demo loan starts where its story needs it: integer maths on the decimal
 * strings the API gives.
 */
async function collateralAt(client: Client, amount: string, ltvPercent: bigint): Promise<string> {
  const current = await client.call<{ price: { price: string } | null }>('GET', '/api/v1/prices/current');
  if (current.price === null) throw new Error('demo: no price yet');
  const debt = parseKopecks(amount);
  const price = parsePrice(current.price.price);
  if (!debt.ok || !price.ok) throw new Error(`demo: cannot read ${amount} or ${current.price.price}`);
  return formatSats(requiredSats(debt.value, price.value, ltvPercent * 10_000n, 0n));
}

export async function seedDemoBank(app: App, db: Database, now: () => Date): Promise<DemoBank> {
  const users: DemoUser[] = [];
  for (const spec of STAFF) {
    const password = `${randomBytes(9).toString('base64url')}-${randomBytes(6).toString('base64url')}`;
    const made = await createUser(db, { username: spec.username, displayName: spec.displayName, password, roles: spec.roles, borrowerId: spec.borrowerId });
    if (made === undefined) throw new Error(`demo: could not create ${spec.username}`);
    users.push({ ...spec, password });
  }
  const passwordOf = (username: string) => users.find((u) => u.username === username)!.password;
  const clients = new Map<string, Client>();
  const client = async (username: string) => {
    let found = clients.get(username);
    if (found === undefined) {
      found = await Client.logIn(app, username, passwordOf(username));
      clients.set(username, found);
    }
    return found;
  };
  const today = () => now().toISOString().slice(0, 10);

  // What the hourly network job would have stored: the difficulty in force in early June 2022.
  await db.transaction((tx) => saveSnapshots(tx, [{ source: 'demo: public chain, June 2022', observedAt: new Date(now().getTime() - 3_600_000), height: NETWORK_JUNE_2022.height, difficulty: 29_897_409_688_834n, feesSatsPerBlock: 2_000_000n }]));

  const admin = await client('admin');
  await admin.call('POST', '/api/v1/loan-products', { code: 'MINER', terms: DEMO_PRODUCT });
  // The market's published product (key rate + 7, companies a year old, 50% discount), and the
  // Bank of Russia's key rates it floats on in the demo's summer of 2022.
  // The same product counting pledged machines as a second layer: up to a quarter of the cover,
  // half of them kept under a stress (machines lose value when BTC falls).
  await admin.call('POST', '/api/v1/loan-products', { code: 'MINER-EQ', terms: { ...DEMO_PRODUCT, name: 'Майнинг-залог + оборудование (демо)', borrowerKinds: ['company', 'entrepreneur'], collateral: { ...DEMO_PRODUCT.collateral, equipment: { maxSharePercent: '25', stressPercent: '50' } } } });
  await admin.call('POST', '/api/v1/loan-products', { code: 'KEY7', terms: { ...MARKET_PRODUCT_2026, name: 'Ключевая + 7 для майнинговых компаний (опубликованные условия, 2026)' } });
  const risk = await client('risk');
  // A rule of the bank's side of the book: proposed by one risk officer, approved by the second.
  const byTwoRiskOfficers = async (url: string, body: Record<string, unknown>) => {
    const proposal = await risk.call<{ id: string }>('POST', url, body);
    await (await client('risk2')).call('POST', `/api/v1/approvals/${proposal.id}/approve`, {});
  };
  for (const [day, percent] of [['2022-05-27', '11'], ['2022-06-14', '9.5'], ['2022-07-25', '8']] as const) {
    await risk.call('PUT', `/api/v1/key-rates/${day}`, { percent, source: 'Банк России, решение Совета директоров' });
  }
  // The bank's Tier 1 capital (a small regional bank's), through four eyes like any change of it.
  await byTwoRiskOfficers('/api/v1/exposure/capital', { effectiveFrom: '2022-01-01', tier1: '2000000000.00', legalBasis: 'Форма 0409123 на 01.01.2022', reason: 'демо-банк' });
  // Today's limits and risk weight (seeded from 2025 with their sources) applied to the demo's 2022,
  // like its other rules, so its book is measured against them; each change through four eyes.
  const rules = await risk.call<{ inForce: { limits: Array<{ kind: string; regionCode: string | null; softPercent: string; hardPercent: string; legalBasis: string }>; weights: Array<{ borrowerKind: string | null; collateral: string; weightPercent: string; legalBasis: string }> } }>('GET', '/api/v1/exposure/rules?day=2025-01-01');
  const asOf2022 = { effectiveFrom: '2022-01-01', reason: 'демо: сегодняшние правила применены к 2022 году' };
  for (const limit of rules.inForce.limits) {
    await byTwoRiskOfficers('/api/v1/exposure/limits', { ...asOf2022, kind: limit.kind, regionCode: limit.regionCode, softPercent: limit.softPercent, hardPercent: limit.hardPercent, legalBasis: limit.legalBasis });
  }
  for (const weight of rules.inForce.weights) {
    await byTwoRiskOfficers('/api/v1/exposure/risk-weights', { ...asOf2022, borrowerKind: weight.borrowerKind, collateral: weight.collateral, weightPercent: weight.weightPercent, legalBasis: weight.legalBasis });
  }
  // Collateral is sold through the experimental legal regime, as today's rules allow; the demo's
  // bank applies them to 2022 like its other rules.
  await byTwoRiskOfficers('/api/v1/sale-channels', { effectiveFrom: '2022-01-01', channel: 'experimental_regime', allowed: true, legalBasis: '259-FZ в редакции 223-FZ от 08.08.2024: экспериментальный правовой режим (демо: сегодняшние правила применены к 2022 году)', reason: 'демо-банк' });

  const officer = await client('officer');
  const officer2 = await client('officer2');
  const borrowers = [
    {
      ref: 'IVANOV', kind: 'individual', name: 'Иванов Сергей Петрович', inn: withCheckDigits('5029011234', 12, (v) => innProblem(v, 'person')), regionCode: '50', address: 'Московская обл., г. Мытищи',
      sites: [{ name: 'Гараж', regionCode: '50', municipality: 'Мытищи', powerSource: 'own', capacityKw: 8, tariffRubPerKwh: '5.50', tariffFrom: '2022-01-01', machines: [{ model: 'Antminer S19 Pro', count: 2 }] }],
    },
    {
      ref: 'IP-PETROV', kind: 'entrepreneur', name: 'ИП Петров Алексей Викторович', inn: withCheckDigits('3811022334', 12, (v) => innProblem(v, 'person')), ogrn: withCheckDigits('32238500001234', 15, ogrnipProblem), regionCode: '38', address: 'Иркутская обл., г. Ангарск', registeredOn: '2021-11-02',
      sites: [{ name: 'Ангарск, цех 3', regionCode: '38', municipality: 'Ангарск', powerSource: 'own', capacityKw: 120, tariffRubPerKwh: '3.20', tariffFrom: '2022-01-01', machines: [{ model: 'Antminer S19 XP', count: 30 }] }],
    },
    {
      ref: 'SEVER-HASH', kind: 'company', name: 'ООО «Северный хэш»', inn: withCheckDigits('381100555', 10, (v) => innProblem(v, 'organisation')), ogrn: withCheckDigits('122380000555', 13, ogrnProblem), kpp: '381101001', regionCode: '38', address: 'Иркутская обл., г. Братск', registeredOn: '2020-09-14',
      sites: [
        // 40 of its S19 XP carry their serial numbers: the machines the bank may take in pledge.
        { name: 'Братск, площадка 1', regionCode: '38', municipality: 'Братск', powerSource: 'own', capacityKw: 600, tariffRubPerKwh: '2.90', tariffFrom: '2022-01-01', machines: [{ model: 'Antminer S19 XP', count: 120 }, { model: 'Antminer S19 XP', count: 40, installedOn: '2021-09-01', serials: Array.from({ length: 40 }, (_, i) => `S19XP-BR-${String(i + 1).padStart(3, '0')}`) }] },
        { name: 'Усть-Илимск (хостинг)', regionCode: '38', municipality: 'Усть-Илимск', powerSource: 'hosting', hostingOperator: 'ООО «Илим Дата»', capacityKw: 400, tariffRubPerKwh: '3.40', tariffFrom: '2022-01-01', machines: [{ model: 'Whatsminer M50S', count: 100 }] },
      ],
    },
  ] as const;
  for (const [index, b] of borrowers.entries()) {
    const { sites, ...record } = b;
    await officer.call('POST', '/api/v1/borrowers', { ...record, bik: BIK, account: withAccountKey(BIK, `${b.kind === 'individual' ? '40817810' : '40702810'}38000000${index}${index}1`.slice(0, 19)) });
    for (const site of sites) {
      const { machines, ...siteBody } = site;
      const made = await officer.call<{ siteId: string }>('POST', `/api/v1/borrowers/${b.ref}/sites`, siteBody);
      for (const machine of machines) await officer.call('POST', `/api/v1/borrowers/${b.ref}/sites/${made.siteId}/machines`, machine);
    }
    if (b.kind !== 'individual') {
      await officer.call('POST', `/api/v1/borrowers/${b.ref}/registry-records`, { number: `РМ-${2022_0001 + index}`, includedOn: '2022-01-10', status: 'included', checkedOn: today() });
      const period = latestDuePeriod(today());
      await officer.call('POST', `/api/v1/borrowers/${b.ref}/fns-reports`, { period, filedOn: reportDueOn(period), receipt: `ФНС-${b.ref}-${period}` });
    }
    for (const kind of b.kind === 'individual' ? ['owns_pledged_btc', 'no_tax_debt'] : ['no_economic_crime_record', 'owns_pledged_btc', 'no_tax_debt']) {
      await officer.call('POST', `/api/v1/borrowers/${b.ref}/attestations`, { kind, value: true });
    }
  }

  // The bank's ASIC price index (USD per TH/s by efficiency tier), and the company's machines valued on it.
  await risk.call('PUT', '/api/v1/equipment/price-index/2022-01-01', { below19: '60.00', from19to25: '45.00', from25to38: '20.00', from38to68: '8.00', above68: '2.00', source: 'демо: условные цены банка по уровням J/TH (не рыночные данные)' });
  await risk.call('POST', '/api/v1/borrowers/SEVER-HASH/equipment/revalue', {});
  const pledgeable = (await officer.call<{ sites: Array<{ machines: Array<{ id: string; serials: string[] }> }> }>('GET', '/api/v1/borrowers/SEVER-HASH/sites')).sites.flatMap((site) => site.machines).filter((m) => m.serials.length > 0).map((m) => m.id);

  // Four loans: the company's two (one prudent, one at the limit), the entrepreneur's and the individual's.
  const plans = [
    { key: 'prudent', borrower: 'SEVER-HASH', amount: '6000000.00', months: 12, collateralLtv: 35n },
    { key: 'cured', borrower: 'IP-PETROV', amount: '1500000.00', months: 12, collateralLtv: 48n },
    { key: 'liquidated', borrower: 'SEVER-HASH', amount: '4000000.00', months: 12, collateralLtv: 50n },
    { key: 'small', borrower: 'IVANOV', amount: '150000.00', months: 12, collateralLtv: 42n },
    // At the origination LTV with its machines counted: the BTC alone would be well past it.
    { key: 'layered', borrower: 'SEVER-HASH', amount: '3000000.00', months: 12, collateralLtv: 50n },
  ] as const;
  const loans: Record<string, string> = {};
  for (const plan of plans) {
    await officer.call('POST', `/api/v1/borrowers/${plan.borrower}/underwriting`, { amount: plan.amount, months: plan.months, annualRatePercent: '23.5', repayment: 'annuity' });
    // A loan with machines pledges the company's 40 and brings the BTC its offer asks beside them.
    const machines = plan.key === 'layered' ? { product: 'MINER-EQ', equipmentMachines: pledgeable } : { product: 'MINER' };
    const collateral = plan.key === 'layered'
      ? (await officer.call<{ collateralRequired: string }>('GET', `/api/v1/borrowers/${plan.borrower}/loan-quote?product=MINER-EQ&amount=${plan.amount}&months=${plan.months}&repaymentType=annuity&collateral=0.00000001&equipmentMachines=${pledgeable.join(',')}`)).collateralRequired
      : await collateralAt(officer, plan.amount, plan.collateralLtv);
    const applied = await officer.call<{ applicationId: string; offer: { offerId: string; blockingReasons: string[] } }>('POST', `/api/v1/borrowers/${plan.borrower}/loan-applications`, { ...machines, amount: plan.amount, months: plan.months, repaymentType: 'annuity', collateral });
    if (applied.offer.blockingReasons.length > 0) throw new Error(`demo: the offer for ${plan.borrower} is blocked: ${applied.offer.blockingReasons.join('; ')}`);
    const proposal = await officer.call<{ id: string }>('POST', `/api/v1/loan-applications/${applied.applicationId}/approval`, { offerId: applied.offer.offerId });
    const approved = await officer2.call<{ result: { loan: string } }>('POST', `/api/v1/approvals/${proposal.id}/approve`, {});
    const ref = approved.result.loan;
    const treasury = await client('treasury');
    const declared = await treasury.call<{ positionId: string }>('POST', `/api/v1/loans/${ref}/collateral`, { btc: collateral });
    const confirm = await treasury.call<{ id: string }>('POST', `/api/v1/collateral-positions/${declared.positionId}/confirmation`, { custodianRef: `CUST-${ref}` });
    await (await client('treasury2')).call('POST', `/api/v1/approvals/${confirm.id}/approve`, {});
    await officer.call('POST', `/api/v1/loans/${ref}/disbursement`, {});
    loans[plan.key] = ref;
  }
  // An application left for the inbox: the entrepreneur asks for more.
  await officer.call('POST', '/api/v1/borrowers/IP-PETROV/loan-applications', { product: 'MINER', amount: '500000.00', months: 6, repaymentType: 'annuity', collateral: await collateralAt(officer, '500000.00', 45n) });
  return { users, loans, client };
}
