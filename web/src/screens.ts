import type { MessageKey } from './i18n';

/**
 * The console's screens, each shown to whoever may call the operation it stands on: the list
 * comes from the API's own access rules (GET /auth/me names the operations a user's roles
 * allow), so the menu cannot drift from what the server would permit.
 */
export interface Screen {
  readonly path: string;
  readonly label: MessageKey;
  readonly needs: string;
}

export const SCREENS: readonly Screen[] = [
  { path: '/portfolio', label: 'nav.portfolio', needs: 'getPortfolio' },
  { path: '/inbox', label: 'nav.inbox', needs: 'getInbox' },
  { path: '/loans', label: 'nav.loans', needs: 'listLoans' },
  { path: '/borrowers', label: 'nav.borrowers', needs: 'getBorrowers' },
  { path: '/risk', label: 'nav.risk', needs: 'getRiskStress' },
  { path: '/exposure', label: 'nav.exposure', needs: 'getExposure' },
  { path: '/books', label: 'nav.books', needs: 'getTrialBalance' },
  { path: '/audit', label: 'nav.audit', needs: 'verifyAuditChain' },
  { path: '/proof', label: 'nav.proof', needs: 'getLoansByRefVault' },
  { path: '/admin', label: 'nav.admin', needs: 'createUser' },
];
