import { onCleanup, onMount, type JSX } from 'solid-js';
import { Portal } from 'solid-js/web';

const FOCUSABLE = 'a[href], button:not([disabled]), textarea:not([disabled]), input:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** A dialog that traps focus while open and gives it back to where it was on close. */
export function Modal(props: { title: string; onClose: () => void; children: JSX.Element; describedBy?: string }) {
  let box!: HTMLDivElement;
  const before = document.activeElement as HTMLElement | null;
  const titleId = `dlg-${Math.random().toString(36).slice(2)}`;

  // On the document, not the dialog: focus may have dropped to <body> (e.g. a button that
  // disabled itself while sending), and Escape and the trap must still work.
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      props.onClose();
      return;
    }
    if (e.key !== 'Tab') return;
    const items = [...box.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (items.length === 0) return;
    const first = items[0]!;
    const last = items[items.length - 1]!;
    if (!box.contains(document.activeElement)) {
      e.preventDefault();
      (e.shiftKey ? last : first).focus();
    } else if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };

  onMount(() => {
    document.addEventListener('keydown', onKey);
    const target = box.querySelector<HTMLElement>('[autofocus]') ?? box.querySelector<HTMLElement>(FOCUSABLE) ?? box;
    target.focus();
  });
  onCleanup(() => {
    document.removeEventListener('keydown', onKey);
    before?.focus?.();
  });

  return (
    <Portal>
      <div class="backdrop" onClick={(e) => { if (e.target === e.currentTarget) props.onClose(); }}>
        <div ref={box} class="modal" role="dialog" aria-modal="true" aria-labelledby={titleId} aria-describedby={props.describedBy} tabIndex={-1}>
          <h2 id={titleId}>{props.title}</h2>
          {props.children}
        </div>
      </div>
    </Portal>
  );
}
