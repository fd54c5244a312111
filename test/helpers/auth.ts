import type { Central } from '../../central/central.js';
import { authorize, issuedTokens } from './hotpot.js';

/** The suite signs in to an in-process central with an admin token of its own. */
export async function signInSuite(central: Central): Promise<string> {
  const key = central.config.database.url ?? central.config.dataDir;
  let token = issuedTokens.get(key);
  if (!token) {
    token = await central.access.createToken(`suite-${issuedTokens.size + 1}`, 'admin');
    issuedTokens.set(key, token);
  }
  authorize(central.httpPort!, token);
  return token;
}
