/** Small hooks every page uses: load data, run an action, follow a live stream. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
  set: (value: T) => void;
}

/** Loads `load()` when `deps` change; aborts a load that a newer one replaced. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    load(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        setError(asApiError(failure));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [...deps, round]);
  return { data, error, loading, reload: () => setRound((n) => n + 1), set: setData };
}

export interface Action<A extends unknown[]> {
  run: (...args: A) => Promise<boolean>;
  busy: boolean;
  error: ApiError | undefined;
  clear: () => void;
}

/** Runs a person's action: one at a time, its error kept to show beside the form. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<unknown>): Action<A> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const latest = useRef(action);
  latest.current = action;
  const run = useCallback(async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      await latest.current(...args);
      return true;
    } catch (failure) {
      setError(asApiError(failure));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { run, busy, error, clear: () => setError(undefined) };
}

export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as { code?: string; message?: string } | undefined;
  return new ApiError(e?.code ?? 'INTERNAL', e?.message ?? String(error), 0);
}

/** The page's title in the tab, for people and for screen readers announcing navigation. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Tether`;
  }, [title]);
}

/** Reads `#token=…` (mailed links) or `#code=…` (the set-up link) from the address, once. */
export function useFragmentParam(name: string): string {
  const [value] = useState(() => new URLSearchParams(location.hash.slice(1)).get(name) ?? '');
  useEffect(() => {
    // The secret has been read: take it out of the address bar and the history entry.
    if (value) history.replaceState(history.state, '', location.pathname + location.search);
  }, [value]);
  return value;
}
