/** Counts open live connections by kind, wrapping the live routes' shutdown tracking. */
import { liveConnections } from './registry.ts';

export type LiveKind = 'longpoll' | 'websocket' | 'ndjson';
type Track = (release: () => void) => () => void;

export function countedTrack(kind: LiveKind, track: Track): Track {
  return (release) => {
    liveConnections.inc({ kind });
    const untrack = track(release);
    let open = true;
    return () => {
      if (open) liveConnections.dec({ kind });
      open = false;
      untrack();
    };
  };
}
