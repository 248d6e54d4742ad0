import { type ReactNode, useState } from 'react';
import { Alert, Badge, Button, Center, Group, Loader, Modal, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { UseQueryResult } from '@tanstack/react-query';
import { ApiProblem } from '../api';
import { useI18n, type MessageKey } from '../i18n';

export function NoAccess({ notFound = false }: { notFound?: boolean }) {
  const { t } = useI18n();
  return (
    <Center p="xl">
      <Alert color="red" title={notFound ? t('common.notFound') : t('common.noAccess')} data-testid="no-access">
        {notFound ? t('common.notFoundText') : t('common.noAccessText')}
      </Alert>
    </Center>
  );
}

export function PageTitle({ children, right }: { children: ReactNode; right?: ReactNode }) {
  return (
    <Group justify="space-between" mb="md" wrap="wrap">
      <Title order={2}>{children}</Title>
      {right}
    </Group>
  );
}

/** An API error as people read it: the message, and the code for support. */
export function ProblemAlert({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (error === null || error === undefined) return null;
  const problem = error instanceof ApiProblem ? error : undefined;
  return (
    <Alert color="red" title={t('common.error')} role="alert">
      <Text size="sm">{problem?.message ?? String(error)}</Text>
      {problem !== undefined && <Text size="xs" c="dimmed">{problem.code}</Text>}
    </Alert>
  );
}

/** Loading and error states of a read, then its data. */
export function Loaded<T>({ query, children }: { query: UseQueryResult<T>; children: (data: T) => ReactNode }) {
  if (query.isLoading) return <Center p="lg"><Loader size="sm" /></Center>;
  if (query.error) return <ProblemAlert error={query.error} />;
  if (query.data === undefined) return null;
  return <>{children(query.data)}</>;
}

const STATE_COLORS: Record<string, string> = { healthy: 'green', warning: 'yellow', margin_call: 'orange', accelerated_call: 'red', liquidation: 'red' };

export function StateBadge({ state }: { state: string | null | undefined }) {
  const { t } = useI18n();
  if (state === null || state === undefined) return <Text size="sm" c="dimmed">—</Text>;
  const key = `state.${state}` as MessageKey;
  return <Badge color={STATE_COLORS[state] ?? 'gray'} variant="light" tt="none" style={{ overflow: 'visible' }}
    // The tint carries the colour; the text stays dark, so it reads at WCAG AA contrast on every tint.
    styles={{ label: { overflow: 'visible', color: 'var(--mantine-color-dark-8)' } }}>{t(key)}</Badge>;
}

/**
 * A button for an action that changes something: it asks for confirmation (with a form when the
 * action takes input), runs the call, shows the API's refusal in the dialog, and refreshes every
 * read when it succeeds. Four-eyes actions say that they become a proposal.
 */
export function ActionButton<T>({ label, title, run, children, color, disabled, testId, onDone }: {
  label: string; title?: string; run: (idempotencyKey: string) => Promise<T>; children?: ReactNode; color?: string; disabled?: boolean; testId?: string; onDone?: (result: T) => void;
}) {
  const { t } = useI18n();
  const [opened, setOpened] = useState(false);
  // One key per opening of the dialog: a second click or a retry of the same action is the same request.
  const [key, setKey] = useState('');
  const client = useQueryClient();
  const mutation = useMutation({
    mutationFn: () => run(key),
    onSuccess: async (result) => {
      setOpened(false);
      onDone?.(result);
      await client.invalidateQueries();
    },
  });
  return (
    <>
      <Button size="xs" color={color} disabled={disabled} onClick={() => { mutation.reset(); setKey(crypto.randomUUID()); setOpened(true); }} data-testid={testId}>{label}</Button>
      <Modal opened={opened} onClose={() => setOpened(false)} title={title ?? label}>
        <Stack>
          {children}
          <ProblemAlert error={mutation.error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpened(false)}>{t('common.cancel')}</Button>
            <Button color={color} loading={mutation.isPending} onClick={() => mutation.mutate()} data-testid={testId === undefined ? undefined : `${testId}-confirm`}>{t('common.confirm')}</Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

/** A label over a value, for a page's key figures. */
export function Figure({ label, value, testId }: { label: string; value: ReactNode; testId?: string }) {
  return (
    <Stack gap={0}>
      <Text size="xs" c="dimmed">{label}</Text>
      <Text fw={600} data-testid={testId}>{value}</Text>
    </Stack>
  );
}

/**
 * A table that may scroll sideways on a phone: its scrolling region takes keyboard focus and has
 * a name, as WCAG asks of a scrollable region (axe-core: scrollable-region-focusable).
 */
export function ScrollTable({ label, minWidth = 0, children }: { label: string; minWidth?: number; children: ReactNode }) {
  return <Table.ScrollContainer minWidth={minWidth} scrollAreaProps={{ viewportProps: { tabIndex: 0, 'aria-label': label } }}>{children}</Table.ScrollContainer>;
}
