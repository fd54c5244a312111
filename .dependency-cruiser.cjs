/**
 * Architecture rules, checked in CI by `npm run lint:arch` (dependency-cruiser). docs/ARCHITECTURE.md
 * says what each room holds; these rules keep the arrows between rooms pointing one way.
 * Type-only imports vanish from the build, so most rules forbid runtime imports only.
 * @type {import('dependency-cruiser').IConfiguration}
 */

/** The rooms of the code (top-level folders holding TypeScript). */
const ROOMS = ['bin', 'lib', 'sync', 'drivers', 'agent', 'central', 'tools', 'bench', 'test'];
const room = (...names) => `^(${names.join('|')})/`;
const roomsBut = (...allowed) => room(...ROOMS.filter((name) => !allowed.includes(name)));

/** central/ folders that are core, not plugins: every plugin may use them. */
const CENTRAL_CORE = ['incidents', 'store'];
const PLUGIN = `^central/(?!(?:${CENTRAL_CORE.join('|')})/)([^/]+)/`;

module.exports = {
  forbidden: [
    {
      name: 'central-not-into-agent',
      severity: 'error',
      comment: 'central runs without the agent: it may share only lib/, sync/ and drivers/ with it (type-only imports excepted).',
      from: { path: '^central/' },
      to: { path: '^agent/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'agent-not-into-central',
      severity: 'error',
      comment: 'the box runs without central: it talks to central over MQTT (sync/), never by import (type-only imports excepted).',
      from: { path: '^agent/' },
      to: { path: '^central/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'nothing-imports-tools',
      severity: 'error',
      comment: 'tools/ (demo, simulate, provisioning) may use anything; only bin/ (its commands) and tests use tools/.',
      from: { pathNot: room('tools', 'bin', 'test') },
      to: { path: '^tools/' },
    },
    {
      name: 'lib-imports-no-room',
      severity: 'error',
      comment: 'lib/ holds what every room shares: it depends on no room.',
      from: { path: '^lib/' },
      to: { path: roomsBut('lib') },
    },
    {
      name: 'sync-imports-only-lib',
      severity: 'error',
      comment: 'sync/ is the protocol both ends speak: it depends on lib/ only.',
      from: { path: '^sync/' },
      to: { path: roomsBut('lib', 'sync') },
    },
    {
      name: 'drivers-import-only-lib',
      severity: 'error',
      comment: 'drivers/ talk to devices: they depend on lib/ only.',
      from: { path: '^drivers/' },
      to: { path: roomsBut('lib', 'drivers') },
    },
    {
      name: 'no-cycles-between-rooms',
      severity: 'error',
      comment: 'rooms depend on each other one way: lib ← sync, drivers ← agent, central ← tools ← bin.',
      scope: 'folder',
      from: { path: '^[^/]+/?$' },
      to: { path: '^[^/]+/?$', circular: true },
    },
    {
      name: 'central-plugins-apart',
      severity: 'error',
      comment:
        "a central plugin uses core (central/*.ts, incidents/, store/) and what its context hands it, never another plugin's code at runtime (type-only imports are fine). Share through lib/ or core.",
      from: { path: PLUGIN },
      to: { path: `^central/(?!(?:${CENTRAL_CORE.join('|')})/)[^/]+/`, pathNot: '^central/$1/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: room(...ROOMS),
    exclude: { path: '/static/' },
    // Parse the TypeScript itself, so type-only imports are seen (and told apart) rather than compiled away.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
