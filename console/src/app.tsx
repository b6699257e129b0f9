/** The console's shell: header, navigation for what this person may do, and the pages. */
import { useEffect, useState } from 'preact/hooks';
import { ErrorBoundary, LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { CONSOLE_PAGES } from '../../shared/console-pages.js';
import { AccountPage } from './pages/account-page.js';
import { AddDevicePage } from './pages/add-device-page.js';
import { AuditPage } from './pages/audit-page.js';
import {
  ForgotPasswordPage,
  InvitationPage,
  ResetPasswordPage,
  SetupPage,
  SignInPage,
  SignUpPage,
  safeNext,
  VerifyEmailPage,
} from './pages/auth-pages.js';
import { DevicePage } from './pages/device-page.js';
import { DevicesPage } from './pages/devices-page.js';
import { OrgsPage } from './pages/orgs-page.js';
import { InvitationsPage, UsersPage } from './pages/people-pages.js';
import { RolesPage } from './pages/roles-page.js';
import { StaticTokensPage } from './pages/static-tokens-page.js';
import { TemplatesPage } from './pages/templates-page.js';
import { can, me, sessionState, signOut, startSession } from './session.js';
import { Loading, Page } from './ui/components.js';
import { ThemeToggle } from './ui/theme.js';

/** Pages anyone may open: signing in and the pages that mailed or printed links land on. */
const OPEN_PAGES: readonly string[] = [
  CONSOLE_PAGES.signIn,
  CONSOLE_PAGES.setup,
  CONSOLE_PAGES.forgotPassword,
  CONSOLE_PAGES.signUp,
  CONSOLE_PAGES.invitation,
  CONSOLE_PAGES.verifyEmail,
  CONSOLE_PAGES.resetPassword,
];

const NAV: readonly { href: string; label: string; permission?: readonly string[] }[] = [
  { href: CONSOLE_PAGES.devices, label: 'Devices' },
  {
    href: CONSOLE_PAGES.addDevice,
    label: 'Add a device',
    // Claiming by code and provisioning both need devices.provision (the API checks it).
    permission: ['devices.provision'],
  },
  { href: CONSOLE_PAGES.orgs, label: 'Organizations', permission: ['org.view'] },
  { href: CONSOLE_PAGES.users, label: 'People', permission: ['users.view'] },
  { href: CONSOLE_PAGES.invitations, label: 'Invitations', permission: ['users.invite'] },
  { href: CONSOLE_PAGES.roles, label: 'Roles', permission: ['roles.view'] },
  { href: CONSOLE_PAGES.templates, label: 'Products', permission: ['templates.view'] },
  { href: CONSOLE_PAGES.staticTokens, label: 'Static tokens', permission: ['static-tokens.manage'] },
  { href: CONSOLE_PAGES.audit, label: 'Audit log', permission: ['audit.view'] },
];

function Header() {
  const { path } = useLocation();
  const [open, setOpen] = useState(false);
  const signedIn = sessionState.value === 'signed-in';
  useEffect(() => setOpen(false), [path]);
  return (
    <header class="app-header">
      <a class="brand" href={signedIn ? CONSOLE_PAGES.devices : CONSOLE_PAGES.signIn}>
        Tether
      </a>
      {signedIn ? (
        <>
          <button
            type="button"
            class="menu-button"
            aria-expanded={open}
            aria-controls="main-nav"
            onClick={() => setOpen(!open)}
          >
            Menu
          </button>
          <nav id="main-nav" class={open ? 'nav nav-open' : 'nav'} aria-label="Main">
            <ul>
              {NAV.filter((item) => !item.permission || item.permission.some(can)).map((item) => (
                <li key={item.href}>
                  <a href={item.href} aria-current={path === item.href ? 'page' : undefined}>
                    {item.label}
                  </a>
                </li>
              ))}
              <li>
                <a
                  href={CONSOLE_PAGES.account}
                  aria-current={path === CONSOLE_PAGES.account ? 'page' : undefined}
                >
                  {me.value?.user.email ?? 'Account'}
                </a>
              </li>
              <li>
                <button type="button" class="link-button" onClick={() => void signOut()}>
                  Sign out
                </button>
              </li>
            </ul>
          </nav>
        </>
      ) : null}
      <ThemeToggle />
    </header>
  );
}

/** Sends a signed-out person to sign in (and back afterwards), and a signed-in one past sign-in. */
function Guard() {
  const { path, query, route } = useLocation();
  const state = sessionState.value;
  const open = OPEN_PAGES.includes(path);
  useEffect(() => {
    if (state === 'signed-out' && !open) {
      const next = path === '/' ? '' : `?next=${encodeURIComponent(path)}`;
      route(`${CONSOLE_PAGES.signIn}${next}`, true);
    }
    // Signed in on the sign-in page: on to where the person was going (?next=), else the devices.
    if (state === 'signed-in' && (path === '/' || path === CONSOLE_PAGES.signIn)) {
      route(path === CONSOLE_PAGES.signIn ? safeNext(query.next) : CONSOLE_PAGES.devices, true);
    }
  }, [state, path, open]);
  return null;
}

function NotFound() {
  return (
    <Page title="Page not found">
      <p>
        There is no page here. <a href={CONSOLE_PAGES.devices}>Go to your devices.</a>
      </p>
    </Page>
  );
}

export function App() {
  useEffect(() => {
    void startSession().catch(() => {
      sessionState.value = 'signed-out';
    });
  }, []);
  return (
    <LocationProvider>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <Guard />
      <main id="main" tabIndex={-1}>
        {sessionState.value === 'unknown' ? (
          <Loading />
        ) : (
          <ErrorBoundary>
            <Router>
              <Route path={CONSOLE_PAGES.signIn} component={SignInPage} />
              <Route path={CONSOLE_PAGES.setup} component={SetupPage} />
              <Route path={CONSOLE_PAGES.forgotPassword} component={ForgotPasswordPage} />
              <Route path={CONSOLE_PAGES.signUp} component={SignUpPage} />
              <Route path={CONSOLE_PAGES.invitation} component={InvitationPage} />
              <Route path={CONSOLE_PAGES.verifyEmail} component={VerifyEmailPage} />
              <Route path={CONSOLE_PAGES.resetPassword} component={ResetPasswordPage} />
              <Route path={CONSOLE_PAGES.home} component={DevicesPage} />
              <Route path={CONSOLE_PAGES.devices} component={DevicesPage} />
              <Route path={CONSOLE_PAGES.device} component={DevicePage} />
              <Route path={CONSOLE_PAGES.addDevice} component={AddDevicePage} />
              <Route path={CONSOLE_PAGES.account} component={AccountPage} />
              <Route path={CONSOLE_PAGES.orgs} component={OrgsPage} />
              <Route path={CONSOLE_PAGES.users} component={UsersPage} />
              <Route path={CONSOLE_PAGES.invitations} component={InvitationsPage} />
              <Route path={CONSOLE_PAGES.roles} component={RolesPage} />
              <Route path={CONSOLE_PAGES.templates} component={TemplatesPage} />
              <Route path={CONSOLE_PAGES.staticTokens} component={StaticTokensPage} />
              <Route path={CONSOLE_PAGES.audit} component={AuditPage} />
              <Route default component={NotFound} />
            </Router>
          </ErrorBoundary>
        )}
      </main>
    </LocationProvider>
  );
}
