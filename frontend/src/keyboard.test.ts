import { describe, expect, it } from 'vitest';
import { isTypingTarget, resolveShortcut } from './keyboard';

const el = (html: string) => {
  const d = document.createElement('div');
  d.innerHTML = html;
  return d.firstElementChild as HTMLElement;
};

describe('resolveShortcut', () => {
  const body = document.body;
  it('maps the task keys', () => {
    expect(resolveShortcut({ key: ' ', target: body })).toEqual({ type: 'togglePlay' });
    expect(resolveShortcut({ key: ',', target: body })).toEqual({ type: 'step', frames: -1 });
    expect(resolveShortcut({ key: '.', target: body })).toEqual({ type: 'step', frames: 1 });
    expect(resolveShortcut({ key: '[', target: body })).toEqual({ type: 'speed', delta: -1 });
    expect(resolveShortcut({ key: ']', target: body })).toEqual({ type: 'speed', delta: 1 });
    expect(resolveShortcut({ key: ']', target: el('<textarea></textarea>') })).toBeNull();
    expect(resolveShortcut({ key: '1', target: body })).toEqual({ type: 'rate', level: 0 });
    expect(resolveShortcut({ key: '3', target: body })).toEqual({ type: 'rate', level: 2 });
    expect(resolveShortcut({ key: 'ArrowDown', target: body })).toEqual({ type: 'moveDimension', delta: 1 });
    expect(resolveShortcut({ key: 'ArrowUp', target: body })).toEqual({ type: 'moveDimension', delta: -1 });
    expect(resolveShortcut({ key: 'Enter', ctrlKey: true, target: body })).toEqual({ type: 'submit' });
    expect(resolveShortcut({ key: 'Enter', metaKey: true, target: body })).toEqual({ type: 'submit' });
  });

  it('maps L to linking the pair view\'s players, once per press and never while typing', () => {
    expect(resolveShortcut({ key: 'l', target: body })).toEqual({ type: 'toggleLink' });
    expect(resolveShortcut({ key: 'L', target: body })).toEqual({ type: 'toggleLink' });
    expect(resolveShortcut({ key: 'l', repeat: true, target: body })).toBeNull();
    expect(resolveShortcut({ key: 'l', target: el('<textarea></textarea>') })).toBeNull();
  });

  it('stays out of the way while typing, except Ctrl/⌘+Enter and Escape', () => {
    const ta = el('<textarea></textarea>');
    for (const key of [' ', ',', '.', '1', '2', '3', 'ArrowUp', 'ArrowDown', 'g', 'f']) {
      expect(resolveShortcut({ key, target: ta })).toBeNull();
    }
    expect(resolveShortcut({ key: 'Enter', ctrlKey: true, target: ta })).toEqual({ type: 'submit' });
    expect(resolveShortcut({ key: 'Enter', target: ta })).toBeNull();
    expect(resolveShortcut({ key: 'Escape', target: ta })).toEqual({ type: 'leaveField' });
    expect(isTypingTarget(el('<input type="text">'))).toBe(true);
    expect(isTypingTarget(el('<input type="range">'))).toBe(false);
    expect(isTypingTarget(el('<select></select>'))).toBe(true);
  });

  it('leaves Space to focused buttons and arrows to the scrubber', () => {
    expect(resolveShortcut({ key: ' ', target: el('<button>x</button>') })).toBeNull();
    expect(resolveShortcut({ key: ' ', target: el('<div role="radio"></div>') })).toEqual({ type: 'togglePlay' });
    expect(resolveShortcut({ key: 'ArrowUp', target: el('<input type="range">') })).toBeNull();
    expect(resolveShortcut({ key: 'ArrowRight', target: el('<div role="radio"></div>') })).toEqual({ type: 'moveLevel', delta: 1 });
    expect(resolveShortcut({ key: 'ArrowRight', target: body })).toBeNull();
  });

  it('ignores browser shortcuts', () => {
    expect(resolveShortcut({ key: '1', ctrlKey: true, target: document.body })).toBeNull();
    expect(resolveShortcut({ key: 'f', metaKey: true, target: document.body })).toBeNull();
  });
});
