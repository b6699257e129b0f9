/**
 * Signing in and everything a mailed link or the set-up link opens: each page finishes its job here
 * (create the first admin, accept an invitation, verify an email, reset a password) and signs the
 * person in where the job proved who they are.
 */
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { CONSOLE_PAGES } from '../../../shared/console-pages.js';
import { api } from '../api.js';
import type { PublicUser } from '../api-types.js';
import { signIn } from '../session.js';
import { Button, ErrorNotice, Field, Form, Notice, Page } from '../ui/components.js';
import { useAction, useFragmentParam } from '../ui/hooks.js';

/** The gateway checks too (gateway/accounts/passwords.ts); the page says it first. */
const MIN_PASSWORD = 10;
const PASSWORD_HINT = `At least ${MIN_PASSWORD} characters. A few unrelated words make a strong one.`;

function NewPassword(props: { value: string; onValue: (v: string) => void; label?: string }) {
  return (
    <Field
      label={props.label ?? 'Password'}
      type="password"
      name="new-password"
      autocomplete="new-password"
      required
      minLength={MIN_PASSWORD}
      maxLength={256}
      hint={PASSWORD_HINT}
      value={props.value}
      onValue={props.onValue}
    />
  );
}

function AuthCard(props: { title: string; children: preact.ComponentChildren }) {
  return (
    <div class="auth-card">
      <Page title={props.title}>{props.children}</Page>
    </div>
  );
}

export function SignInPage() {
  const { route, query } = useLocation();
  const [email, setEmail] = useState(query.email ?? '');
  const [password, setPassword] = useState('');
  const action = useAction(async () => {
    await signIn(email, password);
    route(safeNext(query.next), true);
  });
  return (
    <AuthCard title="Sign in">
      <Form onSubmit={() => void action.run()} label="Sign in">
        <Field
          label="Email"
          type="email"
          name="email"
          autocomplete="username"
          required
          value={email}
          onValue={setEmail}
        />
        <Field
          label="Password"
          type="password"
          name="password"
          autocomplete="current-password"
          required
          value={password}
          onValue={setPassword}
        />
        <ErrorNotice error={action.error} />
        <Button kind="primary" type="submit" busy={action.busy}>
          Sign in
        </Button>
      </Form>
      <p>
        <a href={CONSOLE_PAGES.forgotPassword}>Forgot your password?</a>
      </p>
    </AuthCard>
  );
}

/** Only a path of this console, never another site (no open redirect through ?next=). */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?!\/)[\w\-/]*$/.test(next) ? next : CONSOLE_PAGES.devices;
}

export function ForgotPasswordPage() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const action = useAction(async () => {
    await api.request('POST', '/api/auth/forgot-password', { email });
    setSent(true);
  });
  return (
    <AuthCard title="Forgot your password?">
      {sent ? (
        <Notice kind="success">
          If {email} has an account, a link to choose a new password is on its way. It works for 60 minutes.
        </Notice>
      ) : (
        <Form onSubmit={() => void action.run()} label="Request a reset link">
          <p>We will mail you a link to choose a new password.</p>
          <Field
            label="Email"
            type="email"
            name="email"
            autocomplete="email"
            required
            value={email}
            onValue={setEmail}
          />
          <ErrorNotice error={action.error} />
          <Button kind="primary" type="submit" busy={action.busy}>
            Send the link
          </Button>
        </Form>
      )}
      <p>
        <a href={CONSOLE_PAGES.signIn}>Back to sign in</a>
      </p>
    </AuthCard>
  );
}

/**
 * Signing up with a maker organization from its sign-up link (`/sign-up?org=<id>`): the gateway
 * mails a link to finish (the verify-email page), so an address is proven before any account exists.
 */
export function SignUpPage() {
  const { query } = useLocation();
  const orgId = query.org ?? '';
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const action = useAction(async () => {
    await api.request('POST', '/api/registrations', { orgId, email });
    setSent(true);
  });
  return (
    <AuthCard title="Sign up">
      {!orgId ? (
        <Notice kind="warning">
          This page needs the sign-up link of an organization (it ends with <code>?org=…</code>). Ask the
          organization for its link.
        </Notice>
      ) : sent ? (
        <Notice kind="success">
          A link to finish signing up is on its way to {email}, unless the address already has an account
          (then sign in, or ask for a new password). Open the link on this device or any other.
        </Notice>
      ) : (
        <Form onSubmit={() => void action.run()} label="Sign up">
          <p>We will mail you a link to choose your password and finish.</p>
          <Field
            label="Email"
            type="email"
            name="email"
            autocomplete="email"
            required
            maxLength={254}
            value={email}
            onValue={setEmail}
          />
          <ErrorNotice error={action.error} />
          <Button kind="primary" type="submit" busy={action.busy}>
            Send me the link
          </Button>
        </Form>
      )}
      <p>
        <a href={CONSOLE_PAGES.signIn}>I have an account: sign in</a>
      </p>
    </AuthCard>
  );
}

function MissingSecret(props: { what: string }) {
  return (
    <Notice kind="warning">
      This page needs the {props.what} from your link. Open the whole link from the message (it ends with{' '}
      <code>#…</code>), or ask for a new one.
    </Notice>
  );
}

export function SetupPage() {
  const code = useFragmentParam('code');
  const { route } = useLocation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [organization, setOrganization] = useState('');
  const action = useAction(async () => {
    await api.request('POST', '/api/setup', {
      setupCode: code,
      email,
      password,
      ...(organization.trim() ? { organization: organization.trim() } : {}),
    });
    await signIn(email, password);
    route(CONSOLE_PAGES.devices, true);
  });
  return (
    <AuthCard title="Set up Tether">
      {code ? (
        <Form onSubmit={() => void action.run()} label="Create the first administrator">
          <p>Create the first administrator of this gateway. The set-up link works once.</p>
          <Field
            label="Organization name"
            name="organization"
            autocomplete="organization"
            maxLength={120}
            hint="Your company or home; you can rename it later."
            value={organization}
            onValue={setOrganization}
          />
          <Field
            label="Your email"
            type="email"
            name="email"
            autocomplete="username"
            required
            value={email}
            onValue={setEmail}
          />
          <NewPassword value={password} onValue={setPassword} />
          <ErrorNotice error={action.error} />
          <Button kind="primary" type="submit" busy={action.busy}>
            Create administrator
          </Button>
        </Form>
      ) : (
        <MissingSecret what="set-up code the gateway printed" />
      )}
    </AuthCard>
  );
}

/** Accepting an invitation and verifying a self-registration end alike: choose a password, go in. */
function ChoosePasswordPage(props: { title: string; intro: string; endpoint: string; submit: string }) {
  const token = useFragmentParam('token');
  const { route } = useLocation();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction(async () => {
    const { user } = await api.request<{ user: PublicUser }>('POST', props.endpoint, {
      token,
      password,
      ...(name.trim() ? { name: name.trim() } : {}),
    });
    await signIn(user.email, password);
    route(CONSOLE_PAGES.devices, true);
  });
  return (
    <AuthCard title={props.title}>
      {token ? (
        <Form onSubmit={() => void action.run()} label={props.title}>
          <p>{props.intro}</p>
          <Field
            label="Your name"
            name="name"
            autocomplete="name"
            maxLength={120}
            value={name}
            onValue={setName}
          />
          <NewPassword value={password} onValue={setPassword} />
          <ErrorNotice error={action.error} />
          <Button kind="primary" type="submit" busy={action.busy}>
            {props.submit}
          </Button>
        </Form>
      ) : (
        <MissingSecret what="token" />
      )}
    </AuthCard>
  );
}

export const InvitationPage = () => (
  <ChoosePasswordPage
    title="Accept your invitation"
    intro="Choose a password to finish creating your account."
    endpoint="/api/invitations/accept"
    submit="Create my account"
  />
);

export const VerifyEmailPage = () => (
  <ChoosePasswordPage
    title="Verify your email"
    intro="Your address is confirmed by this link. Choose a password to finish your account."
    endpoint="/api/registrations/verify"
    submit="Finish my account"
  />
);

export function ResetPasswordPage() {
  const token = useFragmentParam('token');
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const action = useAction(async () => {
    await api.request('POST', '/api/auth/reset-password', { token, password });
    setDone(true);
  });
  return (
    <AuthCard title="Choose a new password">
      {done ? (
        <Notice kind="success">
          Your password is changed and your other sessions are signed out.{' '}
          <a href={CONSOLE_PAGES.signIn}>Sign in</a> with the new one.
        </Notice>
      ) : token ? (
        <Form onSubmit={() => void action.run()} label="Choose a new password">
          <NewPassword label="New password" value={password} onValue={setPassword} />
          <ErrorNotice error={action.error} />
          <Button kind="primary" type="submit" busy={action.busy}>
            Change password
          </Button>
        </Form>
      ) : (
        <MissingSecret what="token" />
      )}
    </AuthCard>
  );
}
