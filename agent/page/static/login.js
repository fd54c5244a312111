// The staff login (only when the page is exposed beyond the box itself).
import { LANGUAGES, rememberLanguage, storedLanguage, translatePage, translator } from './i18n.js';

const $ = (id) => document.getElementById(id);
// The box serves this page with <html lang> set to its configured language: the default until someone picks one.
let lang = storedLanguage(document.documentElement.lang);
let t = translator(lang);

function setLanguage(next) {
  if (!LANGUAGES.includes(next)) return;
  lang = next;
  t = translator(lang);
  rememberLanguage(lang);
  translatePage(document, t, lang);
}

async function login(pin) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 8000);
  try {
    const response = await fetch('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pin }),
      signal: controller.signal,
      credentials: 'same-origin',
    });
    const text = await response.text();
    return { status: response.status, data: text ? JSON.parse(text) : null };
  } finally {
    clearTimeout(timer);
  }
}

for (const button of document.querySelectorAll('[data-lang]')) button.addEventListener('click', () => setLanguage(button.dataset.lang));
$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const message = $('login-message');
  message.textContent = '';
  login($('pin').value)
    .then(({ status, data }) => {
      if (status === 204) return location.assign('/');
      $('pin').value = '';
      $('pin').focus();
      message.textContent = status === 429 ? t('err.locked', { minutes: Math.max(1, Math.ceil((data?.retryAfterSec ?? 60) / 60)) }) : t('login.wrong');
    })
    .catch(() => {
      message.textContent = t('banner.noBox');
    });
});
setLanguage(lang);
document.body.dataset.ready = 'true';
