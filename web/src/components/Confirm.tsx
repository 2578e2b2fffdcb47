import type { JSX } from 'solid-js';
import { Modal } from './Modal.tsx';
import { CopyButton } from './bits.tsx';

/** Asks before something that cannot be undone; keeping things as they are has the focus. */
export function Confirm(props: { title: string; confirm: string; onConfirm: () => void; onClose: () => void; children: JSX.Element }) {
  return (
    <Modal title={props.title} onClose={props.onClose}>
      {props.children}
      <div class="actions">
        <button class="btn" autofocus onClick={props.onClose}>Keep it</button>
        <button class="btn deny" onClick={props.onConfirm}>{props.confirm}</button>
      </div>
    </Modal>
  );
}

/** A secret shown once (a new key, a webhook's signing secret), with a copy button and the warning. */
export function ShownOnce(props: { title: string; warning: JSX.Element; secret: string; copyLabel: string; testId: string; onClose: () => void }) {
  return (
    <Modal title={props.title} onClose={props.onClose} describedBy="shown-once-warning">
      <p id="shown-once-warning" class="info-note">{props.warning}</p>
      <p class="key-once"><code class="wrap" data-testid={props.testId}>{props.secret}</code> <CopyButton text={props.secret} label={props.copyLabel} /></p>
      <div class="actions"><button class="btn primary" onClick={props.onClose}>I have copied it</button></div>
    </Modal>
  );
}
