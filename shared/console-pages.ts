/**
 * The web console's pages: one list that the gateway serves (each path answers the console's
 * index.html) and the console's router draws. Mailed links and the set-up link land on these.
 */
export const CONSOLE_PAGES = {
  home: '/',
  signIn: '/sign-in',
  setup: '/setup',
  forgotPassword: '/forgot-password',
  /** A maker's sign-up link: `/sign-up?org=<id>` (where the org has opened self-registration). */
  signUp: '/sign-up',
  /** Mailed links: `${publicUrl}/<kind>#token=…` (gateway/app.ts); the token stays in the fragment. */
  invitation: '/invitation',
  verifyEmail: '/verify-email',
  resetPassword: '/reset-password',
  devices: '/devices',
  device: '/devices/:id',
  addDevice: '/add-device',
  account: '/account',
  orgs: '/admin/orgs',
  users: '/admin/users',
  roles: '/admin/roles',
  invitations: '/admin/invitations',
  templates: '/admin/templates',
  staticTokens: '/admin/static-tokens',
  audit: '/admin/audit',
} as const;

export type ConsolePage = keyof typeof CONSOLE_PAGES;

/** Where the built console's hashed scripts and styles are served. */
export const CONSOLE_ASSETS_PATH = '/assets';

/**
 * The header every cookie-authenticated console request carries. A cross-site form cannot set a
 * custom header, and a cross-site script that tries needs a CORS preflight the gateway never grants.
 */
export const CONSOLE_CSRF_HEADER = 'x-tether-console';
