import { h, clear } from './dom.js';
import { t } from './i18n.js';

/**
 * The one drawer (a point, an incident): it takes focus when it opens, Esc or × closes it, and
 * focus goes back to what opened it. Its content comes from app.drawers.get(kind).
 */
let current = null;
let onClose = () => undefined;

/** `close` is what closing from the drawer does (the router drops the drawer from the hash). */
export function drawerRoute(close) {
  onClose = close;
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !current) return;
    // A dialog open over the drawer takes its own Esc.
    if (document.querySelector('dialog[open]')) return;
    event.preventDefault();
    onClose();
  });
}

export function openDrawer(kind, id, app) {
  if (current && current.kind === kind && current.id === id) return;
  const opener = current?.opener ?? (document.activeElement instanceof HTMLElement ? document.activeElement : null);
  closeDrawer({ restoreFocus: false });
  const aside = document.getElementById('drawer');
  const body = h('div', { class: 'drawer-body' });
  const heading = h('h2', { id: 'drawer-title', tabindex: '-1' });
  const close = h('button', { class: 'close', type: 'button', 'aria-label': t('close'), title: t('close'), onclick: () => onClose() }, '×');
  aside.append(h('header', { class: 'drawer-head' }, heading, h('span', { class: 'drawer-badge' }), close), body);
  aside.hidden = false;
  aside.setAttribute('aria-labelledby', 'drawer-title');
  document.body.classList.add('drawer-open');
  const stop = app.drawers.get(kind)(body, id, app, { heading, badge: aside.querySelector('.drawer-badge') });
  current = { kind, id, stop, opener };
  heading.focus();
}

export function closeDrawer({ restoreFocus = true } = {}) {
  if (!current) return;
  const { stop, opener } = current;
  current = null;
  try {
    stop?.();
  } finally {
    const aside = document.getElementById('drawer');
    aside.hidden = true;
    clear(aside);
    document.body.classList.remove('drawer-open');
    if (restoreFocus && opener?.isConnected) opener.focus();
  }
}
