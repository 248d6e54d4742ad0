import { useQuery } from '@tanstack/react-query';
import { Badge } from '@mantine/core';
import { useI18n } from '../i18n';

/** In the demo bank, its clock (Moscow time) and speed; nothing in a real bank (no /api/v1/demo). */
export function DemoBanner() {
  const { t, time } = useI18n();
  const query = useQuery({
    queryKey: ['demo'],
    queryFn: async () => {
      const response = await fetch('/api/v1/demo', { credentials: 'same-origin' });
      if (!response.ok) return null;
      return (await response.json()) as { now: string; speed: number; story: string };
    },
    refetchInterval: (q) => (q.state.data === null ? false : 1_000),
    retry: false,
  });
  if (query.data === null || query.data === undefined) return null;
  return <Badge color="grape" size="lg" variant="filled" data-testid="demo-clock">{t('demo.clock', { time: time(query.data.now), speed: query.data.speed })}</Badge>;
}
