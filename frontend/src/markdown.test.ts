import { describe, expect, it } from 'vitest';
import { renderMarkdown } from './markdown';

function render(md: string): HTMLElement {
  const d = document.createElement('div');
  d.innerHTML = renderMarkdown(md);
  return d;
}

describe('renderMarkdown', () => {
  it('renders markdown', () => {
    const d = render('# Title\n\n- **bold** item\n- [link](https://example.org)');
    expect(d.querySelector('h1')?.textContent).toBe('Title');
    expect(d.querySelector('strong')?.textContent).toBe('bold');
    const a = d.querySelector('a')!;
    expect(a.getAttribute('href')).toBe('https://example.org');
    expect(a.getAttribute('rel')).toBe('noopener noreferrer');
  });

  it('shows raw HTML as text instead of injecting it', () => {
    const d = render('Hello <script>alert(1)</script> <img src=x onerror="alert(2)"> <b>x</b>\n\n<div onclick="x()">block</div>');
    expect(d.querySelector('script, img, b, div')).toBeNull();
    expect(d.textContent).toContain('<script>alert(1)</script>');
    expect(d.textContent).toContain('<img src=x onerror="alert(2)">');
    expect(d.innerHTML).not.toMatch(/<(img|script|div|b)\b/i);
    for (const node of Array.from(d.querySelectorAll('*'))) {
      expect(node.getAttributeNames().filter((a) => a.startsWith('on'))).toEqual([]);
    }
  });

  it('drops javascript: and data: links and remote images', () => {
    const d = render('[click](javascript:alert(1)) [d](data:text/html,hi) ![a cat](https://x.test/c.png)');
    expect(d.querySelector('a')).toBeNull();
    expect(d.querySelector('img')).toBeNull();
    expect(d.textContent).toContain('click');
    expect(d.textContent).toContain('a cat');
  });
});
