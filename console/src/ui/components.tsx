/** The console's building blocks: one look for every page (styles in styles.css). */
import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { useTitle } from './hooks.js';

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  useTitle(props.title);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-header">
        <h1 id="page-title">{props.title}</h1>
        {props.actions ? <div class="page-actions">{props.actions}</div> : null}
      </header>
      {props.children}
    </section>
  );
}

/** The input attributes the console's forms use. */
interface InputProps {
  type?: 'text' | 'email' | 'password' | 'number' | 'search' | 'tel' | 'url' | 'datetime-local';
  /** The id of a <datalist> of suggestions. */
  list?: string;
  name?: string;
  autocomplete?: preact.InputHTMLAttributes<HTMLInputElement>['autocomplete'];
  autocapitalize?: 'off' | 'none' | 'on' | 'sentences' | 'words' | 'characters';
  spellcheck?: boolean;
  required?: boolean;
  disabled?: boolean;
  minLength?: number;
  maxLength?: number;
  min?: number;
  max?: number;
  step?: number | 'any';
  pattern?: string;
  placeholder?: string;
}

/** A labelled input; the hint and the error are tied to it for screen readers. */
export function Field(
  props: InputProps & {
    label: string;
    value: string;
    onValue: (value: string) => void;
    hint?: string;
    invalid?: string | undefined;
  },
) {
  const { label, value, onValue, hint, invalid, type = 'text', ...rest } = props;
  const id = useId();
  const described = [hint ? `${id}-hint` : '', invalid ? `${id}-error` : ''].filter(Boolean).join(' ');
  // Preact types each input type separately; this one component serves several.
  const inputAttributes = {
    id,
    type,
    value,
    onInput: (e: Event) => onValue((e.currentTarget as HTMLInputElement).value),
    'aria-invalid': invalid ? 'true' : undefined,
    'aria-describedby': described || undefined,
    ...rest,
  } as preact.InputHTMLAttributes<HTMLInputElement>;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input {...inputAttributes} />
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {invalid ? (
        <p class="field-error" id={`${id}-error`}>
          {invalid}
        </p>
      ) : null}
    </div>
  );
}

export function Select(props: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  options: readonly { value: string; label: string; disabled?: boolean }[];
  hint?: string;
  name?: string;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        value={props.value}
        disabled={props.disabled}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onChange={(e) => props.onValue((e.currentTarget as HTMLSelectElement).value)}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value} disabled={o.disabled}>
            {o.label}
          </option>
        ))}
      </select>
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
    </div>
  );
}

/** A form whose submit runs `onSubmit` (the browser's own validation first). */
export function Form(props: {
  onSubmit: () => void;
  children: ComponentChildren;
  label?: string;
  class?: string;
}) {
  return (
    <form
      class={props.class ?? 'form'}
      aria-label={props.label}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      {props.children}
    </form>
  );
}

export function Button(
  props: Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'type'> & {
    kind?: 'primary' | 'secondary' | 'danger' | 'quiet';
    busy?: boolean;
    type?: 'button' | 'submit';
  },
) {
  const { kind = 'secondary', busy, children, type = 'button', disabled, ...rest } = props;
  return (
    <button
      type={type}
      class={`button button-${kind}`}
      disabled={disabled || busy}
      aria-busy={busy ? 'true' : undefined}
      {...rest}
    >
      {children}
    </button>
  );
}

/** An API error as a person reads it: the gateway's message, and its code for support. */
export function ErrorNotice(props: { error: ApiError | undefined; title?: string }) {
  if (!props.error) return null;
  return (
    <div class="notice notice-error" role="alert">
      {props.title ? <strong>{props.title} </strong> : null}
      {props.error.message} <span class="code">({props.error.code})</span>
    </div>
  );
}

export function Notice(props: { kind?: 'info' | 'success' | 'warning'; children: ComponentChildren }) {
  return (
    <div class={`notice notice-${props.kind ?? 'info'}`} role="status">
      {props.children}
    </div>
  );
}

export function Loading(props: { label?: string }) {
  return (
    <p class="loading" role="status">
      {props.label ?? 'Loading…'}
    </p>
  );
}

/**
 * Asks before something that cannot be undone: a modal <dialog> (focus trapped and restored by the
 * browser; Escape cancels).
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby={`${id}-title`}
      onClose={() => props.open && props.onCancel()}
    >
      <h2 id={`${id}-title`}>{props.title}</h2>
      <div class="dialog-body">{props.children}</div>
      <div class="dialog-actions">
        <Button kind="quiet" onClick={props.onCancel}>
          Cancel
        </Button>
        <Button kind="danger" busy={props.busy} onClick={props.onConfirm}>
          {props.confirmLabel}
        </Button>
      </div>
    </dialog>
  );
}

export function Badge(props: { tone?: 'good' | 'bad' | 'neutral' | 'warn'; children: ComponentChildren }) {
  return <span class={`badge badge-${props.tone ?? 'neutral'}`}>{props.children}</span>;
}

/** Wide tables scroll sideways on a phone instead of breaking the page. */
export function Table(props: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard.
    <section class="table-wrap" tabIndex={0} aria-label={props.label}>
      <table>{props.children}</table>
    </section>
  );
}
