import { queryOptions } from '@tanstack/react-query';
import { api, must } from '../api';
import type { BorrowerRisk } from '../types';

/**
 * The portal's first reads, shared by its pages and main.tsx's prefetch: a miner who opens a loan's
 * page (from a notice's link, say) gets its data asked for as soon as /auth/me answers, beside the
 * page's code, rather than after both have arrived one after the other.
 */
export const myRiskQuery = (borrowerRef: string) => queryOptions({
  queryKey: ['my-risk', borrowerRef],
  queryFn: async () => must(await api.GET('/api/v1/borrowers/{ref}/risk', { params: { path: { ref: borrowerRef } } })) as unknown as BorrowerRisk,
  refetchInterval: 15_000,
});

export interface PortalLoan { ref: string; status: string; amount: string; months: number; rate: { percent: string }; disbursedOn: string | null; maturityOn: string | null }

/** The loan itself (404 when it is not the reader's: no retry). */
export const portalLoanQuery = (loanRef: string) => queryOptions({
  queryKey: ['portal-loan', loanRef],
  queryFn: async () => must(await api.GET('/api/v1/loans/{ref}', { params: { path: { ref: loanRef } } })) as unknown as PortalLoan,
  retry: false,
});
