/** A person's own account: who they are, their organization, and a new password. */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { me } from '../session.js';
import { Button, ErrorNotice, Field, Form, Notice, Page } from '../ui/components.js';
import { useAction } from '../ui/hooks.js';

export function AccountPage() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [done, setDone] = useState(false);
  const change = useAction(async () => {
    await api.request('POST', '/api/me/password', { currentPassword: current, newPassword: next });
    setCurrent('');
    setNext('');
    setDone(true);
  });
  const m = me.value;
  return (
    <Page title="Your account">
      <dl class="details card">
        <dt>Email</dt>
        <dd>{m?.user.email}</dd>
        <dt>Organization</dt>
        <dd>{m?.org?.name}</dd>
        <dt>Role</dt>
        <dd>{m?.user.roleId}</dd>
        <dt>Permissions</dt>
        <dd>{m?.permissions.join(', ')}</dd>
      </dl>
      <section class="card" aria-labelledby="password-title">
        <h2 id="password-title">Change password</h2>
        <Form label="Change password" onSubmit={() => void change.run()}>
          <input type="text" name="username" autocomplete="username" value={m?.user.email} hidden readOnly />
          <Field
            label="Current password"
            type="password"
            autocomplete="current-password"
            required
            value={current}
            onValue={setCurrent}
          />
          <Field
            label="New password"
            type="password"
            autocomplete="new-password"
            required
            minLength={10}
            hint="At least 10 characters. Your other sessions are signed out."
            value={next}
            onValue={setNext}
          />
          {done ? <Notice kind="success">Password changed.</Notice> : null}
          <ErrorNotice error={change.error} />
          <Button kind="primary" type="submit" busy={change.busy}>
            Change password
          </Button>
        </Form>
      </section>
    </Page>
  );
}
