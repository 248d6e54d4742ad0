import { type ReactNode } from 'react';
import { NavLink as RouterLink, useLocation } from 'react-router';
import { AppShell, Burger, Group, NavLink, Text, Button, Badge } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQueryClient } from '@tanstack/react-query';
import { api, setCsrfToken } from '../api';
import { LanguageSwitch } from './LanguageSwitch';
import { useI18n } from '../i18n';
import { useSession } from '../session';
import { SCREENS } from '../screens';
import { DemoBanner } from './DemoBanner';

const ROLE_KEYS = {
  borrower: 'role.borrower', credit_officer: 'role.credit_officer', risk_officer: 'role.risk_officer', treasury: 'role.treasury', auditor: 'role.auditor', admin: 'role.admin',
} as const;

export function Layout({ children }: { children: ReactNode }) {
  const [opened, { toggle, close }] = useDisclosure();
  const { t } = useI18n();
  const { me, can } = useSession();
  const client = useQueryClient();
  const location = useLocation();
  const screens = SCREENS.filter((screen) => can(screen.needs));
  const isBorrower = me?.roles.includes('borrower') ?? false;
  const logout = async () => {
    await api.POST('/api/v1/auth/logout');
    setCsrfToken(undefined);
    client.clear();
    window.location.assign('/');
  };
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t('nav.menu')} />
            <Text fw={700} size="lg">zalog</Text>
            <Text size="sm" c="dimmed" visibleFrom="sm">{isBorrower ? t('app.portal') : t('app.console')}</Text>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <DemoBanner />
            <LanguageSwitch />
            <Text size="sm" visibleFrom="sm" data-testid="whoami">{me?.displayName}</Text>
            <Button size="xs" variant="default" onClick={() => void logout()}>{t('app.logout')}</Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label={t('nav.menu')}>
        <nav data-testid="nav">
          {isBorrower
            ? <>
              <NavLink component={RouterLink} to="/portal" label={t('nav.portal')} active={location.pathname === '/portal' || location.pathname.startsWith('/portal/loans')} onClick={close} />
              <NavLink component={RouterLink} to="/portal/apply" label={t('nav.apply')} active={location.pathname.startsWith('/portal/apply')} onClick={close} />
              <NavLink component={RouterLink} to="/portal/money" label={t('nav.money')} active={location.pathname.startsWith('/portal/money')} onClick={close} />
              <NavLink component={RouterLink} to="/portal/notices" label={t('nav.notices')} active={location.pathname.startsWith('/portal/notices')} onClick={close} />
              <NavLink component={RouterLink} to="/proof" label={t('nav.proof')} active={location.pathname.startsWith('/proof')} onClick={close} />
            </>
            : screens.map((screen) => (
              <NavLink key={screen.path} component={RouterLink} to={screen.path} label={t(screen.label)} active={location.pathname.startsWith(screen.path)} onClick={close} />
            ))}
        </nav>
        <Group gap={4} mt="md" px="xs">
          {me?.roles.map((role) => <Badge key={role} variant="light" size="sm">{role in ROLE_KEYS ? t(ROLE_KEYS[role as keyof typeof ROLE_KEYS]) : role}</Badge>)}
        </Group>
      </AppShell.Navbar>
      <AppShell.Main>{children}</AppShell.Main>
    </AppShell>
  );
}
