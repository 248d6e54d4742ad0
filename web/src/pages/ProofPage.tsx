import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { Alert, Badge, Card, Group, SimpleGrid, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api';
import { useI18n } from '../i18n';
import { Figure, Loaded, PageTitle } from '../components/Common';
import type { ProofOfCollateral } from '../types';

/** The JSON the bank signed: the proof without its signature, keys sorted at every level (as the service's canonical JSON). */
function canonical(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sort(x)]));
    return v;
  };
  return JSON.stringify(sort(value));
}

const bytesOf = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

/**
 * The proof's Ed25519 signature checked in the browser (WebCrypto) against the key it names: true
 * or false, or undefined where the browser cannot check Ed25519 (then `zalog vault proof --verify`).
 */
async function signatureHolds(proof: ProofOfCollateral): Promise<boolean | undefined> {
  const { signature, ...body } = proof;
  try {
    const key = await crypto.subtle.importKey('spki', bytesOf(body.publicKey), { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, bytesOf(signature), new TextEncoder().encode(canonical(body)));
  } catch {
    return undefined;
  }
}

/**
 * The public proof of collateral as anyone may read it (GET /api/v1/proof-of-collateral, no
 * login): each live vault under its opaque reference, its addresses and BTC at a block height,
 * the total, the bank's signature (checked here in the browser). A borrower finds its own line by
 * the reference its vault shows (?ref=V-…, highlighted); an auditor re-derives every address with
 * `zalog vault proof --verify`.
 */
export default function ProofPage() {
  const { t, btc, time } = useI18n();
  const [params] = useSearchParams();
  const mine = params.get('ref');
  const proof = useQuery({ queryKey: ['proof'], queryFn: async () => must(await api.GET('/api/v1/proof-of-collateral')) as unknown as ProofOfCollateral });
  const [verified, setVerified] = useState<boolean | undefined | 'checking'>('checking');
  useEffect(() => {
    if (proof.data !== undefined) void signatureHolds(proof.data).then(setVerified);
  }, [proof.data]);
  return (
    <Loaded query={proof}>{(p) => (
      <>
        <PageTitle>{t('proof.title')}</PageTitle>
        <Text size="sm" mb="md">{t('proof.explain')}</Text>
        <SimpleGrid cols={{ base: 2, md: 4 }} mb="md">
          <Figure label={t('proof.total')} value={btc(p.totalBtc)} testId="proof-total" />
          <Figure label={t('proof.vaults')} value={p.vaults.length} />
          <Figure label={t('proof.height')} value={p.height ?? '—'} />
          <Figure label={t('proof.at')} value={time(p.at)} />
        </SimpleGrid>
        {verified === 'checking' ? null : verified === true
          ? <Alert color="green" mb="md" data-testid="proof-signature">{t('proof.signatureOk', { key: p.keyId })}</Alert>
          : verified === false
            ? <Alert color="red" mb="md" data-testid="proof-signature">{t('proof.signatureBad')}</Alert>
            : <Alert color="gray" mb="md" data-testid="proof-signature">{t('proof.signatureUnchecked')}</Alert>}
        <Text size="xs" c="dimmed" mb="md" ff="monospace" style={{ wordBreak: 'break-all' }}>{t('proof.blockHash')}: {p.blockHash ?? '—'}</Text>
        {p.vaults.map((vault) => (
          <Card key={vault.ref} withBorder mb="sm" padding="sm" data-testid={`proof-${vault.ref}`} bg={vault.ref === mine ? 'var(--mantine-color-yellow-light)' : undefined}>
            <Group justify="space-between" mb={4}>
              <Group gap="xs"><Text fw={600} ff="monospace">{vault.ref}</Text>{vault.ref === mine && <Badge color="yellow">{t('proof.yours')}</Badge>}<Badge variant="outline">{vault.network}</Badge></Group>
              <Text fw={600}>{btc(vault.btc)}</Text>
            </Group>
            <Text size="xs" ff="monospace" c="dimmed" style={{ wordBreak: 'break-all' }}>{vault.descriptor}</Text>
            {vault.addresses.length > 0 && (
              <Table mt={4} verticalSpacing={2}>
                <Table.Tbody>{vault.addresses.map((a) => (
                  <Table.Tr key={a.index}><Table.Td w={40}>{a.index}</Table.Td><Table.Td ff="monospace" style={{ wordBreak: 'break-all' }}>{a.address}</Table.Td><Table.Td ta="right">{btc(a.btc)}</Table.Td></Table.Tr>
                ))}</Table.Tbody>
              </Table>
            )}
          </Card>
        ))}
      </>
    )}</Loaded>
  );
}
