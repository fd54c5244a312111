import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { Central } from '../../central/central.js';
import { loadCentralConfig } from '../../central/config.js';
import { RouteDeclarationError, startOrder } from '../../central/plugin-host.js';
import type { CentralPlugin, PluginContext } from '../../central/plugin.js';
import { RecoveryPlugin } from '../../central/recovery/index.js';
import { signInSuite } from '../helpers/auth.js';
import { httpJson, tempDir } from '../helpers/hotpot.js';

const plugin = (name: string, extra: Partial<CentralPlugin> = {}): CentralPlugin => ({ name, start() {}, stop() {}, ...extra }) as unknown as CentralPlugin;

describe('central plugins', () => {
  let central: Central | undefined;
  afterEach(async () => {
    await central?.stop();
    central = undefined;
  });

  function make(plugins: CentralPlugin[], extra: Record<string, unknown> = {}): Central {
    const config = loadCentralConfig(undefined, {}, { dataDir: join(tempDir('plugins'), 'central'), http: { port: 0 }, broker: { host: '127.0.0.1', port: 0 }, ...extra });
    central = new Central(config, { log: silentLogger(), plugins });
    return central;
  }

  it('orders plugins after their dependencies, and refuses a cycle or a dependency nobody provides', () => {
    const order = startOrder([plugin('upstream', { dependencies: ['recovery'] } as never), plugin('notify'), plugin('recovery', { dependencies: ['backups'] } as never), plugin('backups')]);
    expect(order.map((p) => p.name)).toEqual(['backups', 'recovery', 'upstream', 'notify']);
    expect(() => startOrder([plugin('recovery', { dependencies: ['backups'] } as never), plugin('backups', { dependencies: ['recovery'] } as never)])).toThrow(/cycle: recovery → backups → recovery/);
    expect(() => startOrder([plugin('recovery', { dependencies: ['backups'] } as never)])).toThrow(/depends on backups, which is not in central's plugin list/);
  });

  it('gives each plugin only its own config slice; a plugin that fails leaves out those that need it, and central still serves', async () => {
    const seen: unknown[] = [];
    const alerts = plugin('alerts', { start: (ctx: PluginContext<'alerts'>) => void seen.push(ctx.config) } as never);
    const backups = plugin('backups', {
      start: () => {
        throw new Error('disk on fire');
      },
    });
    const c = make([alerts, backups, plugin('notify'), plugin('notices'), new RecoveryPlugin() as unknown as CentralPlugin], { alerts: { disconnected: { afterMs: 5000 } } });
    await c.start();
    await signInSuite(c);
    expect(seen).toEqual([c.config.alerts]);
    expect(c.runningPlugins).toEqual(['alerts', 'notify', 'notices']);
    expect((await httpJson(c.httpPort!, 'GET', '/api/health')).status).toBe(200);
    expect((await httpJson(c.httpPort!, 'GET', '/api/runbooks')).status).toBe(404);
  });

  it('refuses to start with a route that declares no access level', async () => {
    const open = plugin('menu', { start: (ctx: PluginContext<'menu'>) => ctx.routes.get('/secret', undefined as never, () => ({ status: 200, body: 'all of it' })) } as never);
    await expect(make([open]).start()).rejects.toThrow(RouteDeclarationError);
  });

  it('drops a stopped plugin’s bus listeners', async () => {
    let heard = 0;
    const listener = plugin('history', {
      start(this: CentralPlugin, ctx: PluginContext<'history'>) {
        ctx.bus.onDashboardPush(this, () => void heard++);
      },
    } as never);
    const c = make([listener]);
    await c.start();
    c.bus.emitDashboardPush({ type: 'x', data: null });
    expect(heard).toBe(1);
    await c.stop();
    central = undefined;
    c.bus.emitDashboardPush({ type: 'x', data: null });
    expect(heard).toBe(1);
  });
});
