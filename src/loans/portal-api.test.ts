import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { startHttpStub, type HttpStub } from '../test-support/http-stub.js';
import { originate, seedLendingWorld } from '../test-support/loans.js';
import { fixedPriceService } from '../test-support/prices.js';
import { accountProblem, innProblem } from '../borrowers/identifiers.js';
import { loadRequisites, requisitesProblems } from './requisites.js';

/**
 * What the miners' portal reads (issue 19) through the API any client uses: a quote that leaves
 * nothing behind, the ladder of a live loan with its prices and cure, where to pay, and the
 * statement and schedule as CSV and as a Russian PDF (read back with poppler's pdftotext).
 */

const run = promisify(execFile);
let stub: HttpStub;
let t: TestApp;
let ref: string;
let dir: string;

beforeAll(async () => {
  stub = await startHttpStub();
  t = await openTestApp();
  dir = await mkdtemp(path.join(tmpdir(), 'zalog-docs-'));
  await fixedPriceService(t.test.db, stub, '100000.00'); // 8,000,000.00 RUB/BTC
  await seedLendingWorld(t, stub, { openDay: '2025-03-17', borrowers: ['B-1', 'B-2'] });
  ref = (await originate(t, { borrower: 'B-1', amount: '1000000.00', months: 12, type: 'annuity', collateral: '0.25' })).ref;
}, 120_000);
afterAll(async () => {
  await t.close();
  await stub.close();
  await rm(dir, { recursive: true, force: true });
});

const terms = 'product=FIX&amount=1000000.00&months=12&repaymentType=annuity&collateral=0.25';

describe('a quote', () => {
  it('is the offer an application would get, with the ladder\'s prices, and leaves no application behind', async () => {
    const before = (await t.as('borrower1').get('/api/v1/borrowers/B-1/loan-applications')).json().applications.length;
    const quoted = await t.as('borrower1').get(`/api/v1/borrowers/B-1/loan-quote?${terms}`);
    expect(quoted.statusCode, quoted.body).toBe(200);
    const quote = quoted.json();
    expect(quote).toMatchObject({ quote: true, offerId: null, applicationId: null, ratePercent: '23.5', price: '8000000.00', blockingReasons: [] });
    // 1,000,000.00 RUB at 50% LTV at 8,000,000.00 RUB/BTC asks 0.25 BTC; the warning (60%) is
    // reached at 1,000,000 / (0.25 x 0.6) = 6,666,666.66 RUB/BTC (the highest price at or above it).
    expect(quote.collateralRequired).toBe('0.25000000');
    expect(quote.levels).toMatchObject({ forBtc: '0.25000000', warning: '6666666.66', marginCall: '5714285.71', liquidation: '5000000.00', curePeriodHours: 48 });
    expect((await t.as('borrower1').get('/api/v1/borrowers/B-1/loan-applications')).json().applications.length).toBe(before);
    const applied = await t.as('borrower1').post('/api/v1/borrowers/B-1/loan-applications', { product: 'FIX', amount: '1000000.00', months: 12, repaymentType: 'annuity', collateral: '0.25' });
    expect(applied.statusCode, applied.body).toBe(201);
    const offer = applied.json().offer;
    for (const field of ['ratePercent', 'fee', 'totalInterest', 'totalCost', 'collateralRequired', 'schedule']) expect(offer[field], field).toEqual(quote[field]);
  });

  it('refuses what an application would refuse, and another borrower\'s (404)', async () => {
    const bad = await t.as('borrower1').get('/api/v1/borrowers/B-1/loan-quote?product=FIX&amount=1.00&months=12&repaymentType=annuity&collateral=0.25');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('amount_out_of_range');
    expect((await t.as('borrower1').get('/api/v1/borrowers/B-1/loan-quote?product=FIX&amount=abc&months=12&repaymentType=annuity&collateral=0.25')).statusCode).toBe(400);
    expect((await t.as('borrower2').get(`/api/v1/borrowers/B-1/loan-quote?${terms}`)).statusCode).toBe(404);
  });
});

describe('a live loan', () => {
  it('shows its ladder: thresholds, the prices that reach them, exact debt and collateral', async () => {
    const loan = (await t.as('borrower1').get('/api/v1/borrowers/B-1/risk')).json().loans.find((l: { loan: string }) => l.loan === ref);
    expect(loan).toMatchObject({ state: 'healthy', sats: '25000000', thresholds: { warningPercent: '60', marginCallPercent: '70', liquidationPercent: '80', targetPercent: '50', haircutPercent: '0' }, callTimeLeftMs: null });
    expect(BigInt(loan.debtKopecks)).toBeGreaterThanOrEqual(100_000_000n);
    // The warning price from the debt: the highest price at which debt / (0.25 BTC x price) >= 60%.
    const debt = BigInt(loan.debtKopecks);
    const warning = BigInt(loan.prices.warning.replace('.', ''));
    expect(debt * 10n ** 8n * 10n ** 12n >= 25_000_000n * warning * 10n ** 6n * 600_000n).toBe(true);
    expect(debt * 10n ** 8n * 10n ** 12n >= 25_000_000n * (warning + 1n) * 10n ** 6n * 600_000n).toBe(false);
  });

  it('says where to pay: the bank\'s requisites and the purpose naming the loan', async () => {
    const money = (await t.as('borrower1').get('/api/v1/borrowers/B-1/money')).json();
    expect(money.repayTo).toHaveLength(1);
    const pay = money.repayTo[0];
    expect(pay).toMatchObject({ reference: ref, bik: '044525999' });
    expect(pay.purpose).toContain(ref);
    expect(accountProblem(pay.bik, pay.account)).toBeUndefined();
    expect(accountProblem(pay.bik, pay.correspondentAccount)).toBeUndefined();
    expect(innProblem(pay.inn, 'organisation')).toBeUndefined();
  });
});

describe('the bank\'s requisites', () => {
  it('ship valid and refuse a wrong control digit or a purpose without the loan', async () => {
    const shipped = await loadRequisites();
    expect(requisitesProblems(shipped)).toEqual([]);
    expect(requisitesProblems({ ...shipped, repaymentAccount: '47422810300000000001' })).toEqual(['repaymentAccount: the account number does not match the BIK (control key)']);
    expect(requisitesProblems({ ...shipped, purposeTemplate: 'Погашение кредита' })).toEqual(['purposeTemplate: must contain {loan}, the reference repayments are matched by']);
    const file = path.join(dir, 'bank.json');
    await writeFile(file, JSON.stringify({ ...shipped, inn: '7701000027' }));
    await expect(loadRequisites(file)).rejects.toThrow(/inn: the INN's control digit is wrong/);
    expect(requisitesProblems({ ...shipped, custodian: { ...shipped.custodian!, instructions: 'Переведите BTC кастодиану' } })).toEqual(['custodian.instructions: must contain {loan}, the reference the custodian\'s confirmation quotes']);
    expect(requisitesProblems({ ...shipped, custodian: 'x' })).toHaveLength(5);
  });
});

describe('the custodial mode', () => {
  it('tells the miner how to deposit with the custodian, quoting the loan, and takes its declared deposit as pending until treasury confirms it', async () => {
    const view = (await t.as('borrower1').get(`/api/v1/loans/${ref}/collateral`)).json();
    expect(view.custodian).toMatchObject({ reference: ref, name: expect.stringContaining('Кастоди') });
    expect(view.custodian.instructions).toContain(`номер кредита ${ref}`);
    expect(view.custodian.instructionsEn).toContain(`quoting loan ${ref}`);
    const declared = await t.as('borrower1').post(`/api/v1/loans/${ref}/collateral`, { btc: '0.05' });
    expect(declared.statusCode, declared.body).toBe(201);
    const after = (await t.as('borrower1').get(`/api/v1/loans/${ref}/collateral`)).json();
    expect(after.positions.at(-1)).toMatchObject({ btc: '0.05000000', state: 'pending', confirmedAt: null });
    expect(after.held).toBe(view.held);
  });
});

describe('documents', () => {
  it('the statement as CSV: the disbursement, the fee and the BTC, with running balances', async () => {
    const csv = await t.as('borrower1').get(`/api/v1/loans/${ref}/documents/statement?format=csv`);
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toMatch(new RegExp(`attachment; filename="${ref}-statement-\\d{4}-\\d{2}-\\d{2}\\.csv"`));
    const rows = csv.body.replace(/^\ufeff/, '').trim().split('\r\n');
    expect(rows[0]).toBe('Дата,Дата (по),Операция,"Изменение долга, RUB","Долг после, RUB","Изменение залога, BTC","Залог после, BTC"');
    // The fee is charged and paid from the loan in one go: no change to the debt, no line.
    expect(rows.slice(1)).toEqual([
      '2025-03-17,2025-03-17,Залог BTC принят,0.00,0.00,0.25000000,0.25000000',
      '2025-03-17,2025-03-17,Выдача кредита,1000000.00,1000000.00,0.00000000,0.25000000',
    ]);
    const en = await t.as('borrower1').get(`/api/v1/loans/${ref}/documents/schedule?format=csv&lang=en`);
    expect(en.body.replace(/^\ufeff/, '').split('\r\n')[0]).toBe('No.,Due date,"Payment, RUB","Principal, RUB","Interest, RUB","Balance after, RUB",Status');
    expect(en.body.trim().split('\r\n')).toHaveLength(13);
  });

  it('the statement and the schedule as PDF in Russian: the reference, Cyrillic text and grouped roubles come back out', async () => {
    for (const document of ['statement', 'schedule']) {
      const pdf = await t.as('borrower1').inject({ method: 'GET', url: `/api/v1/loans/${ref}/documents/${document}` });
      expect(pdf.statusCode, pdf.body).toBe(200);
      expect(pdf.headers['content-type']).toBe('application/pdf');
      expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
      const file = path.join(dir, `${document}.pdf`);
      await writeFile(file, pdf.rawPayload);
      const { stdout } = await run('pdftotext', ['-layout', file, '-']);
      if (process.env.ZALOG_KEEP_PDF) await run('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', file, path.join(process.env.ZALOG_KEEP_PDF, document)]);
      expect(stdout).toContain(document === 'statement' ? `Выписка по кредиту ${ref}` : `График платежей ${ref}`);
      expect(stdout).toContain('Заёмщик: Farm B-1 (B-1)');
      expect(stdout).toMatch(/\d\d\.\d\d\.\d{4} \d\d:\d\d мск/);
      expect(stdout).toContain(document === 'statement' ? '+1 000 000,00 ₽' : 'предстоит');
    }
  });

  it('are the borrower\'s own: another borrower gets 404, a bad format 400', async () => {
    expect((await t.as('borrower2').get(`/api/v1/loans/${ref}/documents/statement`)).statusCode).toBe(404);
    expect((await t.as('borrower1').get(`/api/v1/loans/${ref}/documents/statement?format=xlsx`)).statusCode).toBe(400);
    expect((await t.as('borrower1').get(`/api/v1/loans/${ref}/documents/contract`)).statusCode).toBe(400);
  });
});
