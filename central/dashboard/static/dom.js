/** Small DOM helpers shared by the dashboard's modules. Text always goes in as text, never as HTML. */

/** h('li', {class: 'x', dataset: {point: 'a'}, onclick: fn}, 'text', childNode, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replaces an element's children, unless what it would show is what it shows (keeps focus and selection). */
export function fill(el, ...children) {
  const next = h('div', {}, ...children);
  if (next.innerHTML === el.innerHTML) return el;
  clear(el).append(...next.childNodes);
  return el;
}

/**
 * Keeps `container`'s children in step with `items` by key: existing elements are updated in place
 * and never moved unless the order changed, so a live refresh keeps focus and scroll.
 */
export function keyed(container, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of [...container.children]) if (child.dataset.key !== undefined) existing.set(child.dataset.key, child);
  const wanted = new Set(items.map(keyOf));
  for (const [key, el] of existing) if (!wanted.has(key)) el.remove();
  let cursor = container.firstElementChild;
  while (cursor && cursor.dataset.key === undefined) cursor = cursor.nextElementSibling;
  for (const item of items) {
    const key = keyOf(item);
    let el = existing.get(key);
    if (!el) {
      el = create(item);
      el.dataset.key = key;
    }
    update(el, item);
    if (el === cursor) cursor = cursor.nextElementSibling;
    else container.insertBefore(el, cursor);
  }
}

/** fn at most once per `ms`, trailing: a burst of live updates renders once. */
export function throttle(fn, ms) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}

export const CONDITIONS = ['offline', 'down', 'manual', 'degraded', 'ok'];
export const CHECKS = ['internet', 'printer', 'camera', 'system'];
/** Hardware health: in a point's detail where its agent reports them; in the fleet's rows only while degraded or down. */
export const HARDWARE_CHECKS = ['temperature', 'disk'];
