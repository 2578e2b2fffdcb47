import { createSignal, onCleanup } from 'solid-js';

/** The current time, updated every second while the component lives (ages and countdowns). */
export function useNow() {
  const [now, setNow] = createSignal(Date.now());
  const timer = setInterval(() => setNow(Date.now()), 1000);
  onCleanup(() => clearInterval(timer));
  return now;
}
