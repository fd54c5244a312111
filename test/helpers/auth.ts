import type { Central } from '../../central/central.js';
import { authorize, issuedTokens } from './hotpot.js';

/** The suite signs in to an in-process central with an admin token of its own. */
export async function signInSuite(central: Central): Promise<string> {
  const key = central.config.database.url ?? central.config.dataDir;
  let issued = issuedTokens.get(key);
  if (!issued) {
    issued = Promise.resolve(central.access.createToken(`suite-${issuedTokens.size + 1}`, 'admin'));
    issuedTokens.set(key, issued);
  }
  const token = await issued;
  authorize(central.httpPort!, token);
  return token;
}
