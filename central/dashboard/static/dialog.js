import { h } from './dom.js';
import { t } from './i18n.js';

/**
 * A modal confirmation (<dialog>: it takes focus, Esc cancels, focus returns to the button that
 * opened it). `fields` are inputs whose values come back; `run(values)` is the action: while it runs
 * the buttons wait, an error stays in the dialog, success closes it. Resolves with run's result, or
 * null when cancelled.
 */
export function confirmDialog({ title, body = [], fields = [], confirm, danger = false, run }) {
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const error = h('p', { class: 'error', role: 'alert' });
    const inputs = fields.map((field) => {
      const id = `dlg-${field.name}`;
      const input =
        field.type === 'select'
          ? h('select', { id, name: field.name, required: field.required }, field.options.map((o) => h('option', { value: o.value, selected: o.value === field.value }, o.label)))
          : field.type === 'textarea'
            ? h('textarea', { id, name: field.name, required: field.required, rows: 3, maxlength: field.maxlength ?? 500 }, field.value ?? '')
            : h('input', { id, name: field.name, type: field.type ?? 'text', required: field.required, value: field.value ?? '', maxlength: field.maxlength, autocomplete: 'off', list: field.list });
      return { field, input, row: h('div', { class: 'field' }, h('label', { for: id }, field.label), field.hint ? h('small', { class: 'muted' }, field.hint) : null, input) };
    });
    const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', value: 'ok' }, confirm);
    const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, t('cancel'));
    const form = h('form', { method: 'dialog' }, h('h2', { id: 'dialog-title' }, title), h('div', { class: 'dialog-body' }, body), inputs.map((i) => i.row), error, h('div', { class: 'dialog-actions' }, cancel, ok));
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-title' }, form);
    let result = null;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.textContent = '';
      const values = Object.fromEntries(inputs.map(({ field, input }) => [field.name, input.value.trim()]));
      const missing = inputs.find(({ field, input }) => field.required && !input.value.trim());
      if (missing) {
        error.textContent = t('err.required', { field: missing.field.label });
        missing.input.focus();
        return;
      }
      ok.disabled = cancel.disabled = true;
      try {
        result = (await run?.(values)) ?? values;
        dialog.close();
      } catch (e) {
        error.textContent = e.message;
      } finally {
        ok.disabled = cancel.disabled = false;
      }
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    (inputs[0]?.input ?? ok).focus();
  });
}
