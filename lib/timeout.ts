export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`timed out after ${ms} ms waiting for ${what}`);
    this.name = 'TimeoutError';
  }
}

/** Every wait on I/O goes through this, so a hang becomes an error that names what it waited for. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` once, `ms` after the first call of a burst (later calls in the window join it); `cancel` drops a pending run. */
export function coalesce(fn: () => void, ms: number): { trigger(): void; cancel(): void } {
  let pending: NodeJS.Timeout | null = null;
  return {
    trigger() {
      pending ??= setTimeout(() => {
        pending = null;
        fn();
      }, ms);
    },
    cancel() {
      if (pending) clearTimeout(pending);
      pending = null;
    },
  };
}
