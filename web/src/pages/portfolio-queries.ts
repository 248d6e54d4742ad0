import { queryOptions } from '@tanstack/react-query';
import { api, must } from '../api';
import type { Portfolio } from '../types';

/** The portfolio screen's reads, shared by the page and main.tsx's prefetch of the first screen. */
export const portfolioQuery = queryOptions({
  queryKey: ['portfolio'],
  queryFn: async () => must(await api.GET('/api/v1/portfolio', { params: { query: { nearest: 10 } } })) as unknown as Portfolio,
  refetchInterval: 15_000,
});

export const currentPriceQuery = queryOptions({
  queryKey: ['prices', 'current'],
  queryFn: async () => must(await api.GET('/api/v1/prices/current')),
  refetchInterval: 15_000,
});
