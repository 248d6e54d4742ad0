import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../test-support/app.js';
import { DEFAULT_PRODUCT, penaltyMillionthsPerDay, productProblems, type ProductTerms } from './product.js';

describe('product terms (pure)', () => {
  it('accepts the default product: Sovcombank-like pricing, Ledn\'s 50/70/80 ladder, a 48-hour cure', () => {
    expect(productProblems(DEFAULT_PRODUCT)).toEqual([]);
  });

  it.each<[string, (t: ProductTerms) => ProductTerms, RegExp]>([
    ['a ladder that does not rise', (t) => ({ ...t, collateral: { ...t.collateral, ltv: { ...t.collateral.ltv, marginCall: '55' } } }), /marginCall: above warning/],
    ['a liquidation LTV above 100%', (t) => ({ ...t, collateral: { ...t.collateral, ltv: { ...t.collateral.ltv, liquidation: '101' } } }), /at most 100/],
    ['a target above the origination LTV', (t) => ({ ...t, collateral: { ...t.collateral, ltv: { ...t.collateral.ltv, target: '55' } } }), /target/],
    ['a minimum above the maximum', (t) => ({ ...t, amount: { min: '30000000.00', max: '100000.00' } }), /minimum is not above/],
    ['an amount with a float', (t) => ({ ...t, amount: { min: '1e5', max: '100000.00' } }), /amount.min/],
    ['another day count', (t) => ({ ...t, dayCount: '30/360' as never }), /dayCount/],
    ['a fee above 10%', (t) => ({ ...t, originationFeePercent: '12' }), /originationFeePercent/],
  ])('refuses %s', (_name, change, message) => {
    expect(productProblems(change(DEFAULT_PRODUCT)).map((p) => `${p.field}: ${p.message}`).join('; ')).toMatch(message);
  });

  it('caps the penalty for individuals at 20% a year (353-FZ art. 5 part 21), not for companies', () => {
    expect(penaltyMillionthsPerDay(DEFAULT_PRODUCT, 'company', 365)).toBe(1_000n); // 0.1% a day
    expect(penaltyMillionthsPerDay(DEFAULT_PRODUCT, 'individual', 365)).toBe(547n); // 20% / 365, rounded down
    expect(penaltyMillionthsPerDay(DEFAULT_PRODUCT, 'individual', 366)).toBe(546n);
    expect(penaltyMillionthsPerDay({ ...DEFAULT_PRODUCT, penaltyPercentPerDay: '0.01' }, 'individual', 365)).toBe(100n);
  });
});

describe('products and key rates through the API', () => {
  let t: TestApp;
  beforeAll(async () => { t = await openTestApp(); });
  afterAll(() => t.close());
  const put = (name: 'admin' | 'risk' | 'officer', url: string, payload: object) => t.as(name).inject({ method: 'PUT', url, payload });

  it('creates a product, versions it, and keeps every version readable', async () => {
    const created = await t.as('admin').post('/api/v1/loan-products', { code: 'MINER-BTC', terms: DEFAULT_PRODUCT });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ code: 'MINER-BTC', version: 1, createdBy: 'admin' });
    const v2 = await t.as('admin').post('/api/v1/loan-products/MINER-BTC/versions', { terms: { ...DEFAULT_PRODUCT, originationFeePercent: '0.5' } });
    expect(v2.json()).toMatchObject({ version: 2, terms: { originationFeePercent: '0.5' } });
    expect((await t.as('borrower1').get('/api/v1/loan-products')).json().products).toEqual([expect.objectContaining({ code: 'MINER-BTC', version: 2 })]);
    expect((await t.as('officer').get('/api/v1/loan-products/MINER-BTC/versions/1')).json().terms.originationFeePercent).toBe('1');
    expect((await t.as('borrower1').get('/api/v1/loan-products/MINER-BTC/versions/1')).statusCode).toBe(404); // as if absent, like every staff-only record
    await expect(t.test.db.query("UPDATE loan_product_versions SET terms = '{}' WHERE version = 1")).rejects.toThrow();
  });

  it.each<[string, string, object, number, string]>([
    ['an invalid ladder', '/api/v1/loan-products', { code: 'BAD', terms: { ...DEFAULT_PRODUCT, collateral: { ...DEFAULT_PRODUCT.collateral, ltv: { ...DEFAULT_PRODUCT.collateral.ltv, warning: '90' } } } }, 400, 'invalid_product'],
    ['a taken code', '/api/v1/loan-products', { code: 'MINER-BTC', terms: DEFAULT_PRODUCT }, 409, 'product_exists'],
    ['a lower-case code', '/api/v1/loan-products', { code: 'miner', terms: DEFAULT_PRODUCT }, 400, 'validation_failed'],
    ['an unknown field', '/api/v1/loan-products', { code: 'X1', terms: { ...DEFAULT_PRODUCT, cashback: '1' } }, 400, 'validation_failed'],
    ['a version of no product', '/api/v1/loan-products/NOPE/versions', { terms: DEFAULT_PRODUCT }, 404, 'not_found'],
  ])('refuses %s and stores nothing', async (_name, url, body, status, code) => {
    const count = async () => (await t.test.db.query<{ n: bigint }>('SELECT count(*) AS n FROM loan_product_versions'))[0]!.n;
    const before = await count();
    const response = await t.as('admin').post(url, body);
    expect(response.statusCode).toBe(status);
    expect(response.json().error.code).toBe(code);
    expect(await count()).toBe(before);
  });

  it('lets officers and borrowers read products but not write them', async () => {
    expect((await t.as('officer').post('/api/v1/loan-products', { code: 'X2', terms: DEFAULT_PRODUCT })).statusCode).toBe(403);
  });

  it('records the key-rate history; a risk officer sets it', async () => {
    expect((await put('risk', '/api/v1/key-rates/2025-10-27', { percent: '16.5', source: 'Bank of Russia press release of 24.10.2025' })).statusCode).toBe(200);
    expect((await put('risk', '/api/v1/key-rates/2025-12-22', { percent: '16', source: 'Bank of Russia' })).statusCode).toBe(200);
    expect((await t.as('auditor').get('/api/v1/key-rates')).json().keyRates).toEqual([
      { effectiveFrom: '2025-12-22', percent: '16.0000', source: 'Bank of Russia' },
      { effectiveFrom: '2025-10-27', percent: '16.5000', source: 'Bank of Russia press release of 24.10.2025' },
    ]);
    expect((await put('officer', '/api/v1/key-rates/2026-01-01', { percent: '15', source: 'x' })).statusCode).toBe(403);
    expect((await put('risk', '/api/v1/key-rates/2026-02-30', { percent: '15', source: 'x' })).json().error.code).toBe('invalid_date');
    expect((await put('risk', '/api/v1/key-rates/2026-03-01', { percent: '15.5%', source: 'x' })).statusCode).toBe(400);
  });
});

describe('the ladder in the product', () => {
  const withLtv = (ltv: Partial<ProductTerms['collateral']['ltv']>, extra: Partial<ProductTerms['collateral']> = {}): ProductTerms =>
    ({ ...DEFAULT_PRODUCT, collateral: { ...DEFAULT_PRODUCT.collateral, ...extra, ltv: { ...DEFAULT_PRODUCT.collateral.ltv, ...ltv } } });
  const fields = (terms: ProductTerms) => productProblems(terms).map((p) => p.field);

  it('takes an accelerated call between the margin call and liquidation, with a shorter cure', () => {
    expect(productProblems(DEFAULT_PRODUCT)).toEqual([]);
    expect(fields(withLtv({ acceleratedCall: '70' }))).toEqual(['collateral.ltv.acceleratedCall']);
    expect(fields(withLtv({ acceleratedCall: '80' }))).toEqual(['collateral.ltv.acceleratedCall']);
    expect(fields(withLtv({}, { acceleratedCureHours: 49 }))).toEqual(['collateral.acceleratedCureHours']);
    const { acceleratedCall: _dropped, ...ltv } = DEFAULT_PRODUCT.collateral.ltv;
    expect(fields({ ...DEFAULT_PRODUCT, collateral: { ...DEFAULT_PRODUCT.collateral, ltv } })).toEqual(['collateral.acceleratedCureHours']);
  });

  it('takes a hysteresis band below the warning LTV', () => {
    expect(fields(withLtv({ hysteresisPoints: '2.5' }))).toEqual([]);
    expect(fields(withLtv({ hysteresisPoints: '60' }))).toEqual(['collateral.ltv.hysteresisPoints']);
    expect(fields(withLtv({ hysteresisPoints: 'x' }))).toEqual(['collateral.ltv.hysteresisPoints']);
  });

  it('takes liquidation terms: a floor discount above 0 and at most 50%, a fee up to 10%, a minimum in roubles, BTC or RUB back', () => {
    const sale = (liquidation: NonNullable<ProductTerms['collateral']['liquidation']>) => fields({ ...DEFAULT_PRODUCT, collateral: { ...DEFAULT_PRODUCT.collateral, liquidation } });
    expect(sale({ maxDiscountPercent: '3', feePercent: '0.5', minimumRemaining: '50000.00', surplus: 'rub' })).toEqual([]);
    expect(sale({})).toEqual([]);
    expect(sale({ maxDiscountPercent: '0' })).toEqual(['collateral.liquidation.maxDiscountPercent']);
    expect(sale({ maxDiscountPercent: '51' })).toEqual(['collateral.liquidation.maxDiscountPercent']);
    expect(sale({ feePercent: '10.5' })).toEqual(['collateral.liquidation.feePercent']);
    expect(sale({ minimumRemaining: '-1.00' })).toEqual(['collateral.liquidation.minimumRemaining']);
    expect(sale({ surplus: 'eth' as 'btc' })).toEqual(['collateral.liquidation.surplus']);
  });
});

describe('a product\'s custody', () => {
  it('names the modes it allows, the least confirmations and whether a recovery path is required, checked as a whole', () => {
    const with_ = (custody: unknown) => productProblems({ ...DEFAULT_PRODUCT, collateral: { ...DEFAULT_PRODUCT.collateral, custody } as ProductTerms['collateral'] }).map((p) => p.field);
    expect(with_({ modes: ['collaborative'], confirmations: 6, recoveryPath: 'required' })).toEqual([]);
    expect(with_({ modes: [] })).toEqual(['collateral.custody.modes']);
    expect(with_({ modes: ['bank', 'bank'] })).toEqual(['collateral.custody.modes']);
    expect(with_({ modes: ['cold storage'] })).toEqual(['collateral.custody.modes']);
    expect(with_({ modes: ['bank'], confirmations: 0 })).toEqual(['collateral.custody.confirmations']);
    expect(with_({ modes: ['custodial', 'bank'], recoveryPath: 'required' })).toEqual(['collateral.custody.recoveryPath']);
  });
});
