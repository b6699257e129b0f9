/** Times and values as people read them. */

export function formatTime(ms: number | null | undefined): string {
  if (!ms) return '—';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatAgo(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return 'never';
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return formatTime(ms);
}

export function formatValue(value: string | number | undefined): string {
  if (value === undefined) return '—';
  return typeof value === 'number' ? String(Math.round(value * 1000) / 1000) : value;
}
