import { useQuery } from '@tanstack/react-query';
import { Badge, Tooltip } from '@mantine/core';
import { api, must } from '../api';
import { useI18n } from '../i18n';

/** In the demo bank, its clock (Moscow time) and speed, read every second; nothing in a real bank. */
export function DemoBanner() {
  const { t, time } = useI18n();
  const query = useQuery({
    queryKey: ['demo'],
    queryFn: async () => must(await api.GET('/api/v1/demo')).demo,
    refetchInterval: (q) => (q.state.data === null ? false : 1_000),
    retry: false,
  });
  const demo = query.data;
  if (demo === null || demo === undefined) return null;
  return (
    <Tooltip label={`${demo.story} · ${demo.prices}`} multiline w={420}>
      <Badge color="grape" size="lg" variant="filled" tt="none" data-testid="demo-clock">{t('demo.clock', { time: time(demo.now), speed: demo.speed })}</Badge>
    </Tooltip>
  );
}
