import { z } from 'zod';

const target = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a recovery target (a procedure name, or its `target`)');

/** Central config key `status`: the public status page. */
export const statusConfigSchema = z.strictObject({
  /** List each point (id, group, condition) on the page; off, the page names no point. */
  showPoints: z.boolean().default(false),
  /** The recovery targets behind each component; one that no procedure watches shows "not monitored". */
  components: z
    .strictObject({
      mainServer: target.default('main-server'),
      database: target.default('database'),
      chain: target.default('chain'),
    })
    .prefault({}),
  /** How long browsers and proxies may keep a page (Cache-Control max-age). */
  cacheSeconds: z.number().int().min(1).max(300).default(15),
  /** The name at the top of the page. */
  title: z.string().trim().min(1).max(100).default('The Hot Pot Spot'),
  /** The page's language when neither `?lang=` nor the browser picks one. */
  language: z.enum(['ru', 'en', 'ka']).default('ka'),
});
export type StatusConfig = z.output<typeof statusConfigSchema>;
