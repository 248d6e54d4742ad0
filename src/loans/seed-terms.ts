import { DEFAULT_PRODUCT, type ProductTerms } from './product.js';

/** The product seeded loans are issued under (src/loans/seed.ts): the default at a fixed 23.5%. */
export const FIXED_TERMS: ProductTerms = { ...DEFAULT_PRODUCT, name: 'Seeded loans (fixed 23.5%)', rate: { kind: 'fixed', percent: '23.5' } };
