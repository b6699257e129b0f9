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

const round = (n: number) => String(Math.round(n * 1000) / 1000);

/** A datastream value; a location ([longitude, latitude]) reads as "lon, lat". */
export function formatValue(value: string | number | readonly number[] | undefined): string {
  if (value === undefined) return '—';
  if (Array.isArray(value)) return value.map(round).join(', ');
  return typeof value === 'number' ? round(value) : String(value);
}
