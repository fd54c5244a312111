import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createLogger, silentLogger, type Logger } from '../../lib/log.js';
import { packageRoot, sampleMenuFile } from '../../lib/paths.js';
import { Agent, type AgentDeps } from '../../agent/agent.js';
import { loadAgentConfig, type AgentConfig } from '../../agent/config.js';
import type { OrderRecord } from '../../sync/schemas.js';
import { agentMqtt, type BrokerTarget } from '../helpers/logins.js';

export const ARTIFACTS = join(packageRoot(), 'test-artifacts', 'page');

/** Debian's Chromium, headless, with nothing that phones home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 60_000,
  });
}

/** Keeps a screenshot in test-artifacts/page/ (gitignored) for a human to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A pino logger whose lines the test can read. */
export function capturedLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ name: 'agent', level: 'info', destination }), lines };
}

/** A real Agent on a free port with the sample menu; `extra` overrides config keys. */
export async function startPageAgent(
  dataDir: string,
  pointId: string,
  broker: string | BrokerTarget,
  extra: Record<string, unknown> = {},
  deps: (config: AgentConfig) => Partial<AgentDeps> | Promise<Partial<AgentDeps>> = () => ({}),
): Promise<Agent> {
  const { http, ...rest } = extra as { http?: Record<string, unknown> };
  const config = loadAgentConfig(undefined, {}, {
    pointId,
    dataDir: join(dataDir, pointId),
    menuFile: sampleMenuFile(),
    http: { port: 0, ...http },
    mqtt: { keepalive: 5, ackTimeoutMs: 3000, ...agentMqtt(broker, pointId) },
    ...rest,
  });
  const agent = new Agent(config, { log: silentLogger(), ...(await deps(config)) });
  await agent.start();
  return agent;
}

/** The orders committed in an agent's SQLite file, read through a separate connection. */
export function ordersOnDisk(file: string): OrderRecord[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare<[], { record: string }>('SELECT record FROM orders ORDER BY seq')
      .all()
      .map((row) => JSON.parse(row.record) as OrderRecord);
  } finally {
    db.close();
  }
}

/** Opens the staff page and waits until it has loaded the menu and settings. */
export async function openStaffPage(page: Page, port: number, path = '/'): Promise<void> {
  await page.goto(`http://127.0.0.1:${port}${path}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
}
