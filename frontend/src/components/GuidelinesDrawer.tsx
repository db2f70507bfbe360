import { useEffect, useMemo, useRef } from 'react';
import { renderMarkdown } from '../markdown';
import { SHORTCUTS, type ShortcutHelp } from '../keyboard';

interface Props {
  open: boolean;
  title: string;
  markdown: string;
  onClose: () => void;
  /** The keys listed under the guidelines (the rating view's by default). */
  shortcuts?: ShortcutHelp[];
}

export function GuidelinesDrawer({ open, title, markdown, onClose, shortcuts = SHORTCUTS }: Props) {
  // Safe: raw HTML in the source is escaped and the output sanitised (see markdown.ts).
  const html = useMemo(() => renderMarkdown(markdown), [markdown]);
  const closeRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (open) closeRef.current?.focus();
  }, [open]);

  return (
    <aside
      className={`drawer${open ? ' is-open' : ''}`}
      aria-labelledby="guidelines-title"
      aria-hidden={!open}
      hidden={!open}
      data-testid="guidelines-drawer"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onClose();
        }
      }}
    >
      <div className="drawer-head">
        <h2 id="guidelines-title">Guidelines — {title}</h2>
        <button type="button" ref={closeRef} onClick={onClose} data-testid="guidelines-close">
          Close <kbd>Esc</kbd>
        </button>
      </div>
      <div className="drawer-body">
        <div className="markdown" data-testid="guidelines-content" dangerouslySetInnerHTML={{ __html: html }} />
        <h3>Keyboard shortcuts</h3>
        <dl className="shortcuts">
          {shortcuts.map((s) => (
            <div key={s.keys}>
              <dt>
                <kbd>{s.keys}</kbd>
              </dt>
              <dd>{s.action}</dd>
            </div>
          ))}
        </dl>
      </div>
    </aside>
  );
}
