/**
 * WCAG 2.2 AA contrast of the dashboard's colours, in both themes, read from the style
 * sheet itself: 4.5:1 for text on the backgrounds it is drawn on, 3:1 for what identifies a
 * control or its state (field borders, the focus ring). Changing a colour re-runs this.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';

const css = readFileSync(new URL('../../web/src/styles.css', import.meta.url), 'utf8');

/** The custom properties of the first rule block after `marker`. */
function palette(marker: RegExp): Record<string, string> {
  const at = css.search(marker);
  if (at < 0) throw new Error(`no ${marker} in styles.css`);
  const block = css.slice(css.indexOf('{', css.indexOf(':root', at)) + 1, css.indexOf('}', at));
  return Object.fromEntries([...block.matchAll(/--([\w-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1]!, m[2]!.toLowerCase()]));
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

// [foreground, background, where it is seen]
const TEXT: [string, string, string][] = [
  ['text', 'bg', 'body text'], ['text', 'panel', 'text on cards, tables, dialogs, fields'], ['text', 'code-bg', 'code and JSON'],
  ['muted', 'bg', 'secondary text on the page'], ['muted', 'panel', 'secondary text on cards and tables'], ['muted', 'code-bg', 'secondary text in code blocks'],
  ['accent', 'bg', 'links'], ['accent', 'panel', 'links on cards and tables'], ['accent-text', 'accent', 'primary buttons, the active page'],
  ['ok', 'ok-bg', 'approve buttons, approved badges'], ['bad', 'bad-bg', 'deny buttons, error notes, denied badges'],
  ['warn', 'warn-bg', 'pending and retrying badges'], ['text', 'warn-bg', 'info notes'],
  ['bad', 'panel', 'field errors, expiring soon, delete buttons'], ['bad', 'bg', 'offline indicator, errors on the page'],
  ['crit', 'crit-bg', 'critical badge'], ['high', 'high-bg', 'high badge'], ['normal', 'normal-bg', 'normal badge'], ['low', 'low-bg', 'low badge'],
  ['bg', 'text', 'notices'],
];
const CONTROLS: [string, string, string][] = [
  ['field-line', 'panel', 'the border of text fields, selects and check boxes'],
  ['focus', 'bg', 'the focus ring on the page'], ['focus', 'panel', 'the focus ring on cards and dialogs'],
];

for (const [theme, marker] of [['light', /^:root\s*\{/m], ['dark', /prefers-color-scheme:\s*dark/]] as const) {
  t.test(`${theme} theme`, async (t) => {
    const p = palette(marker);
    for (const [pairs, min] of [[TEXT, 4.5], [CONTROLS, 3]] as const) {
      for (const [fg, bg, where] of pairs) {
        t.ok(p[fg] && p[bg], `--${fg} and --${bg} are defined`);
        const ratio = contrast(p[fg]!, p[bg]!);
        t.ok(ratio >= min, `${where}: --${fg} ${p[fg]} on --${bg} ${p[bg]} is ${ratio.toFixed(2)}:1 (at least ${min}:1)`);
      }
    }
  });
}
