import { z } from 'zod';
import { parseWith, type Reply, type Router } from '../../lib/http.js';
import type { Clock } from '../../lib/clock.js';
import { localDate } from '../../sync/day-summary.js';
import type { Agent } from '../agent.js';
import { receiptLanguage } from '../config.js';
import { clientOf, type StaffSessions } from './access.js';
import type { PageAssets } from './assets.js';
import { pinRefused } from './pin-gate.js';

const LoginBody = z.strictObject({ pin: z.string().min(1, 'enter the staff PIN').max(64) });

export interface PageRouteDeps {
  agent: Agent;
  assets: PageAssets;
  /** Present when the page needs the staff PIN (http.host is not loopback). */
  sessions: StaffSessions | undefined;
  clock: Clock;
}

function redirect(location: string): Reply {
  return { status: 303, headers: { location }, text: '' };
}

/** The staff page, its files, its login, and the settings it starts from. */
export function registerPageRoutes(router: Router, { agent, assets, sessions, clock }: PageRouteDeps): void {
  router.get('/', (req) => assets.reply('index.html', req.headers));
  // The login page speaks the box's language before anyone has chosen one.
  router.get('/login', (req) => (sessions ? assets.inLanguage('login.html', agent.config.language, req.headers) : redirect('/')));
  router.get('/assets/:file', (req) => assets.reply(req.params.file!, req.headers));
  // At the root, so the service worker's scope is the whole page (a worker's scope is its own path at most).
  router.get('/sw.js', (req) => assets.reply('sw.js', req.headers));
  router.get('/manifest.webmanifest', (req) => assets.reply('manifest.webmanifest', req.headers));
  router.post('/api/login', (req) => {
    if (!sessions) return { status: 204 };
    const { pin } = parseWith(LoginBody, req.body);
    const result = sessions.login(clientOf(req), pin);
    if (!result.ok) throw pinRefused(result, 'staff');
    return { status: 204, headers: { 'set-cookie': result.setCookie! } };
  });
  router.post('/api/logout', (req): Reply => (sessions ? { status: 204, headers: { 'set-cookie': sessions.logout(req) } } : { status: 204 }));
  router.get('/api/page', () => {
    const { config } = agent;
    return {
      status: 200,
      body: {
        pointId: config.pointId,
        language: config.language,
        currency: agent.menu.menu.currency,
        timeZone: config.timeZone,
        today: localDate(clock.now(), config.timeZone),
        printer: agent.receipts !== undefined,
        kitchen: agent.kitchen !== undefined,
        drawer: agent.drawer !== undefined,
        receiptLanguage: receiptLanguage(config),
        limits: { maxOrderTotal: config.limits.maxOrderTotal ?? null, maxOfflineTotal: config.limits.maxOfflineTotal ?? null, lateEntryMinutes: config.limits.lateEntryMinutes, voidWithoutPinMinutes: config.limits.voidWithoutPinMinutes },
        managerPin: config.pins.manager !== undefined,
        login: sessions !== undefined,
      },
    };
  });
}
