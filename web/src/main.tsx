import '@mantine/core/styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { MantineProvider, createTheme, defaultVariantColorsResolver, parseThemeColor, type VariantColorsResolver } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter } from 'react-router';
import { I18nProvider } from './i18n';
import { meQuery, SessionProvider } from './session';
import { currentPriceQuery, portfolioQuery } from './pages/portfolio-queries';
import { myRiskQuery, portalLoanQuery, type PortalLoan } from './pages/portal-queries';
import type { BorrowerRisk } from './types';
import { App } from './App';

// Mantine's default "dimmed" grey is under WCAG AA contrast on white for small text: a darker one.
const cssVariablesResolver = () => ({ variables: {}, light: { '--mantine-color-dimmed': '#555a61' }, dark: {} });

// Badges and light buttons keep their colour in the tint and write dark text on it; filled ones
// sit on a dark shade under white text. Mantine's defaults (shade 6, and even shade 9 of green)
// fall under WCAG AA (4.5:1) for small text; axe-core checks every main page in the e2e tests.
const DARK_FILL: Record<string, string> = { green: '#1e6b30', yellow: '#7a5000', orange: '#9c3a08', teal: '#0b645a', lime: '#3f6212', cyan: '#0b6075' };
const variantColorResolver: VariantColorsResolver = (input) => {
  const colours = defaultVariantColorsResolver(input);
  const parsed = parseThemeColor({ color: input.color ?? input.theme.primaryColor, theme: input.theme });
  if (!parsed.isThemeColor) return colours;
  if (input.variant === 'light') return { ...colours, color: 'var(--mantine-color-dark-8)' };
  if (input.variant === 'filled') {
    const fill = DARK_FILL[parsed.color] ?? `var(--mantine-color-${parsed.color}-9)`;
    return { ...colours, background: fill, hover: fill, color: 'var(--mantine-color-white)' };
  }
  return colours;
};

const theme = createTheme({ primaryColor: 'indigo', primaryShade: 8, variantColorResolver, defaultRadius: 'sm', fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif' });

// Reads are cached for a few seconds and refreshed on focus; a failed read is tried once more.
const queries = new QueryClient({ defaultOptions: { queries: { staleTime: 5_000, retry: 1, refetchOnWindowFocus: true } } });

// The first screen's data is asked for as soon as we know who is logged in (index.html preloads
// /auth/me, so that answer is usually here when this script runs), not after React has drawn the
// shell and routed to the page: the portfolio's figures arrive while the first render is under way.
if (location.pathname === '/' || location.pathname === '/portfolio') {
  void queries.fetchQuery(meQuery).then((me) => {
    if (me?.operations.has('getPortfolio') && !me.passwordChangeRequired) {
      void queries.prefetchQuery(portfolioQuery);
      void queries.prefetchQuery(currentPriceQuery);
    }
  }, () => undefined);
}

/** What public/boot.js leaves: the portal's first reads, started before this script ran. */
interface BootAnswer { readonly key: string; readonly body: unknown }
interface Boot { readonly risk?: Promise<BootAnswer | undefined>; readonly loan?: Promise<BootAnswer | undefined> }

// The portal's first reads, started by boot.js before this script ran: into the cache, so a loan's
// page renders with its data.
const boot = (globalThis as { zalogBoot?: Boot }).zalogBoot;
void boot?.risk?.then((answer) => { if (answer?.body !== undefined) queries.setQueryData(myRiskQuery(answer.key).queryKey, answer.body as BorrowerRisk); });
void boot?.loan?.then((answer) => { if (answer?.body !== undefined) queries.setQueryData(portalLoanQuery(answer.key).queryKey, answer.body as PortalLoan); });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={cssVariablesResolver}>
      <QueryClientProvider client={queries}>
        <I18nProvider>
          <SessionProvider>
            <BrowserRouter>
              <App />
            </BrowserRouter>
          </SessionProvider>
        </I18nProvider>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
