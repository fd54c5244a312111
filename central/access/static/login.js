// Central's login and first-admin pages: plain module, no dependencies, texts in ru/en/ka.
const TEXTS = {
  en: {
    'login.title': 'hotpot central — log in',
    'login.heading': 'Central: log in',
    'login.submit': 'Log in',
    'setup.title': 'hotpot central — first admin',
    'setup.heading': 'Create the first admin',
    'setup.hint': "The setup token is in the file setup-token in central's data folder (readable by its service user only).",
    'setup.submit': 'Create and log in',
    'field.username': 'User name',
    'field.password': 'Password',
    'field.token': 'Setup token',
    'field.newPassword': 'New password (at least 10 characters)',
    'field.again': 'The password again',
    'err.LOGIN_FAILED': 'Wrong user name or password.',
    'err.LOGIN_THROTTLED': 'Too many wrong passwords. Try again in {seconds} s.',
    'err.SETUP_REFUSED': 'Wrong setup token.',
    'err.SETUP_DONE': 'Central has users already: log in instead.',
    'err.WEAK_PASSWORD': 'The password needs at least 10 characters.',
    'err.BAD_NAME': 'A user name is 1–64 of a-z, 0-9, ".", "_" and "-".',
    'err.mismatch': 'The two passwords differ.',
    'err.unreachable': 'Central does not answer. Check the connection and try again.',
    'err.other': 'Central refused: {error}',
  },
  ru: {
    'login.title': 'hotpot central — вход',
    'login.heading': 'Центр: вход',
    'login.submit': 'Войти',
    'setup.title': 'hotpot central — первый администратор',
    'setup.heading': 'Создайте первого администратора',
    'setup.hint': 'Токен настройки — в файле setup-token в папке данных центра (его может прочитать только служебный пользователь).',
    'setup.submit': 'Создать и войти',
    'field.username': 'Имя пользователя',
    'field.password': 'Пароль',
    'field.token': 'Токен настройки',
    'field.newPassword': 'Новый пароль (не короче 10 символов)',
    'field.again': 'Пароль ещё раз',
    'err.LOGIN_FAILED': 'Неверное имя пользователя или пароль.',
    'err.LOGIN_THROTTLED': 'Слишком много неверных паролей. Повторите через {seconds} с.',
    'err.SETUP_REFUSED': 'Неверный токен настройки.',
    'err.SETUP_DONE': 'Пользователи уже есть: войдите.',
    'err.WEAK_PASSWORD': 'Пароль должен быть не короче 10 символов.',
    'err.BAD_NAME': 'Имя: от 1 до 64 символов a-z, 0-9, «.», «_» и «-».',
    'err.mismatch': 'Пароли не совпадают.',
    'err.unreachable': 'Центр не отвечает. Проверьте связь и повторите.',
    'err.other': 'Центр отказал: {error}',
  },
  ka: {
    'login.title': 'hotpot central — შესვლა',
    'login.heading': 'ცენტრი: შესვლა',
    'login.submit': 'შესვლა',
    'setup.title': 'hotpot central — პირველი ადმინისტრატორი',
    'setup.heading': 'შექმენით პირველი ადმინისტრატორი',
    'setup.hint': 'დაყენების ტოკენი არის ფაილში setup-token ცენტრის მონაცემთა საქაღალდეში (მხოლოდ სერვისის მომხმარებლისთვის).',
    'setup.submit': 'შექმნა და შესვლა',
    'field.username': 'მომხმარებლის სახელი',
    'field.password': 'პაროლი',
    'field.token': 'დაყენების ტოკენი',
    'field.newPassword': 'ახალი პაროლი (მინიმუმ 10 სიმბოლო)',
    'field.again': 'პაროლი კიდევ ერთხელ',
    'err.LOGIN_FAILED': 'მომხმარებლის სახელი ან პაროლი არასწორია.',
    'err.LOGIN_THROTTLED': 'ძალიან ბევრი არასწორი პაროლი. სცადეთ {seconds} წამში.',
    'err.SETUP_REFUSED': 'დაყენების ტოკენი არასწორია.',
    'err.SETUP_DONE': 'მომხმარებლები უკვე არსებობს: შედით.',
    'err.WEAK_PASSWORD': 'პაროლი მინიმუმ 10 სიმბოლო უნდა იყოს.',
    'err.BAD_NAME': 'სახელი: 1–64 სიმბოლო a-z, 0-9, „.“, „_“ და „-“.',
    'err.mismatch': 'პაროლები არ ემთხვევა.',
    'err.unreachable': 'ცენტრი არ პასუხობს. შეამოწმეთ კავშირი და სცადეთ თავიდან.',
    'err.other': 'ცენტრმა უარი თქვა: {error}',
  },
};
const LANGUAGES = Object.keys(TEXTS);
const STORE_KEY = 'hotpot.central.lang';

const saved = (() => {
  try {
    return localStorage.getItem(STORE_KEY);
  } catch {
    return null;
  }
})();
let lang = LANGUAGES.find((l) => l === saved) ?? LANGUAGES.find((l) => l === navigator.language?.slice(0, 2)) ?? 'en';
const t = (key, vars = {}) => (TEXTS[lang][key] ?? TEXTS.en[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));

function applyLanguage(next) {
  lang = next;
  try {
    localStorage.setItem(STORE_KEY, lang);
  } catch {
    // private mode: the choice lasts this page only
  }
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const button of document.querySelectorAll('[data-lang]')) button.setAttribute('aria-pressed', String(button.dataset.lang === lang));
}

/** Where to go after logging in: a path on this site only. */
function nextPath() {
  const next = new URLSearchParams(location.search).get('next') ?? '/';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
    signal: AbortSignal.timeout(15000),
  });
  const text = await response.text();
  return { status: response.status, data: text ? JSON.parse(text) : null };
}

const $ = (id) => document.getElementById(id);
const form = document.body.dataset.form;

function explain(data) {
  const code = data?.code;
  if (code && TEXTS.en[`err.${code}`]) return t(`err.${code}`, { seconds: data.retryAfterSeconds ?? 60 });
  return t('err.other', { error: data?.error ?? '?' });
}

async function submit() {
  const message = $('message');
  message.textContent = '';
  const username = $('username').value.trim().toLowerCase();
  const password = $('password').value;
  if (form === 'setup') {
    if (password !== $('again').value) return void (message.textContent = t('err.mismatch'));
    const created = await post('/api/setup', { token: $('token').value.trim(), username, password });
    if (created.status !== 201) return void (message.textContent = explain(created.data));
  }
  const login = await post('/api/login', { username, password });
  if (login.status === 200) return location.assign(nextPath());
  $('password').value = '';
  $('password').focus();
  message.textContent = explain(login.data);
}

for (const button of document.querySelectorAll('[data-lang]')) button.addEventListener('click', () => applyLanguage(button.dataset.lang));
$('form').addEventListener('submit', (event) => {
  event.preventDefault();
  submit().catch(() => {
    $('message').textContent = t('err.unreachable');
  });
});
applyLanguage(lang);
document.body.dataset.ready = 'true';
