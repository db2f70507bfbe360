// Keyboard shortcuts of the task view, as a pure mapping from a key event to an action.
// While the person types in a text field only Ctrl/⌘+Enter (submit) and Escape (back to the
// dimension) act; everything else is left to the field.

export type Action =
  | { type: 'submit' }
  | { type: 'leaveField' }
  | { type: 'togglePlay' }
  | { type: 'step'; frames: number }
  | { type: 'speed'; delta: number }
  | { type: 'rate'; level: number }
  | { type: 'moveDimension'; delta: number }
  | { type: 'moveLevel'; delta: number }
  | { type: 'toggleGuidelines' }
  | { type: 'fullscreen' }
  | { type: 'toggleLink' }
  | { type: 'closeOverlay' };

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
  repeat?: boolean;
  target?: EventTarget | null;
}

export interface ShortcutHelp {
  keys: string;
  action: string;
}

export const SHORTCUTS: ShortcutHelp[] = [
  { keys: 'Space', action: 'Play / pause' },
  { keys: ', and .', action: 'One frame back / forward' },
  { keys: '[ and ]', action: 'Slower / faster' },
  { keys: '1 2 3', action: 'Rate the focused dimension (Good, Normal, Bad)' },
  { keys: '↑ ↓ or Tab', action: 'Previous / next dimension' },
  { keys: '← →', action: 'Previous / next level' },
  { keys: 'Ctrl/⌘ + Enter', action: 'Submit' },
  { keys: 'Esc', action: 'Leave the text box' },
  { keys: 'F', action: 'Fullscreen' },
  { keys: 'G', action: 'Guidelines' },
];

/** The pair view's keys: the rating view's, with the three options of a dimension being left, tie and right,
 *  and L to link or unlink the two players (both play, pause, seek, step and change speed together when linked). */
export const PAIR_SHORTCUTS: ShortcutHelp[] = [
  { keys: 'Space', action: 'Play / pause both videos' },
  { keys: ', and .', action: 'One frame back / forward, both videos' },
  { keys: '[ and ]', action: 'Slower / faster, both videos' },
  { keys: '1 2 3', action: 'Choose for the focused dimension: left better, tie, right better' },
  { keys: '↑ ↓ or Tab', action: 'Previous / next dimension' },
  { keys: '← →', action: 'Move the choice towards left / right' },
  { keys: 'L', action: 'Link / unlink the two videos' },
  { keys: 'Ctrl/⌘ + Enter', action: 'Submit' },
  { keys: 'Esc', action: 'Leave the text box' },
  { keys: 'F', action: 'Fullscreen' },
  { keys: 'G', action: 'Guidelines' },
];

/** True for elements where keys are text input (textarea, text inputs, select, contenteditable). */
export function isTypingTarget(target: EventTarget | null | undefined): boolean {
  if (!target || typeof (target as Element).tagName !== 'string') return false;
  const el = target as HTMLElement;
  const tag = el.tagName.toLowerCase();
  if (tag === 'textarea' || tag === 'select') return true;
  if (tag === 'input') {
    const type = ((el as HTMLInputElement).type || 'text').toLowerCase();
    return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file', 'image'].includes(type);
  }
  return el.isContentEditable === true;
}

/** Buttons and links handle Space/Enter themselves. */
function isActivatable(target: EventTarget | null | undefined): boolean {
  if (!target || typeof (target as Element).tagName !== 'string') return false;
  const tag = (target as Element).tagName.toLowerCase();
  return tag === 'button' || tag === 'a' || tag === 'summary' || tag === 'input' || tag === 'select';
}

function isRadio(target: EventTarget | null | undefined): boolean {
  return !!target && typeof (target as Element).getAttribute === 'function' && (target as Element).getAttribute('role') === 'radio';
}

/** The scrubber (range input) uses the arrow keys itself. */
function isNativeArrows(target: EventTarget | null | undefined): boolean {
  return !!target && (target as Element).tagName?.toLowerCase?.() === 'input';
}

export function resolveShortcut(e: KeyLike): Action | null {
  const mod = !!(e.ctrlKey || e.metaKey);
  if (mod && e.key === 'Enter') return { type: 'submit' };
  const typing = isTypingTarget(e.target);
  if (typing) return e.key === 'Escape' ? { type: 'leaveField' } : null;
  if (e.key === 'Escape') return { type: 'closeOverlay' };
  if (mod || e.altKey) return null; // leave browser shortcuts alone
  switch (e.key) {
    case ' ':
    case 'Spacebar':
      return isActivatable(e.target) ? null : { type: 'togglePlay' };
    case ',':
    case '<':
      return { type: 'step', frames: -1 };
    case '.':
    case '>':
      return { type: 'step', frames: 1 };
    case '[':
      return { type: 'speed', delta: -1 };
    case ']':
      return { type: 'speed', delta: 1 };
    case '1':
    case '2':
    case '3':
      return { type: 'rate', level: Number(e.key) - 1 };
    case 'ArrowUp':
      return isNativeArrows(e.target) ? null : { type: 'moveDimension', delta: -1 };
    case 'ArrowDown':
      return isNativeArrows(e.target) ? null : { type: 'moveDimension', delta: 1 };
    case 'ArrowLeft':
      return isRadio(e.target) ? { type: 'moveLevel', delta: -1 } : null;
    case 'ArrowRight':
      return isRadio(e.target) ? { type: 'moveLevel', delta: 1 } : null;
    case 'f':
    case 'F':
      return e.repeat ? null : { type: 'fullscreen' };
    case 'l':
    case 'L':
      return e.repeat ? null : { type: 'toggleLink' };
    case 'g':
    case 'G':
      return e.repeat ? null : { type: 'toggleGuidelines' };
    default:
      return null;
  }
}
