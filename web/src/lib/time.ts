/** Human durations for ages and countdowns: "42 s", "5 min", "3 h 10 min", "2 d". */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

export function age(iso: string, now: number): string {
  return shortDuration(now - Date.parse(iso));
}

/** Time left until `iso`, or null when it has passed. */
export function timeLeft(iso: string | null, now: number): { text: string; ms: number } | null {
  if (!iso) return null;
  const ms = Date.parse(iso) - now;
  return ms > 0 ? { text: shortDuration(ms), ms } : null;
}

export function dateTime(iso: string): string {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
