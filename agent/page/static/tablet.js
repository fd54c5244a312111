// Orders kept on this tablet while the box does not answer (IndexedDB: they survive a reload and a
// restart). Each gets the number <pointId>-<deviceTag>-<seq>: the tag is made once per tablet, the
// seq only ever grows, so two tablets never give the same number. Delivered once each (clientRef).

const DB_NAME = 'hotpot-tablet';
const ORDERS = 'orders';
const META = 'meta';
/** Delivered and refused orders stay listed this long, then go. */
const KEEP_DONE_MS = 24 * 3_600_000;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let opened;
function db() {
  opened ??= new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => {
      open.result.createObjectStore(ORDERS, { keyPath: 'deviceSeq' });
      open.result.createObjectStore(META);
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return opened;
}

/** One read-write transaction over both stores; resolves with `work`'s result once it committed. */
async function inTransaction(work) {
  const tx = (await db()).transaction([ORDERS, META], 'readwrite');
  const done = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
  const result = await work(tx.objectStore(ORDERS), tx.objectStore(META));
  await done;
  return result;
}

function newTag() {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => alphabet[b % alphabet.length]).join('');
}

/** Keeps an order on the tablet under its own number; `body` is the POST /api/orders body without the device fields. */
export async function keepOrder(pointId, body, total) {
  return inTransaction(async (orders, meta) => {
    let tag = await request(meta.get('deviceTag'));
    if (!tag) {
      tag = newTag();
      meta.put(tag, 'deviceTag');
    }
    const seq = ((await request(meta.get('deviceSeq'))) ?? 0) + 1;
    meta.put(seq, 'deviceSeq');
    const order = {
      deviceSeq: seq,
      number: `${pointId}-${tag}-${seq}`,
      body: { ...body, takenAt: body.takenAt ?? Date.now(), deviceTag: tag, deviceSeq: seq },
      total,
      state: 'waiting',
      keptAt: Date.now(),
    };
    orders.put(order);
    return order;
  });
}

/** Every order kept here, oldest first, after dropping those done more than a day ago. */
export async function keptOrders() {
  return inTransaction(async (orders) => {
    const all = await request(orders.getAll());
    const now = Date.now();
    for (const order of all) if (order.state !== 'waiting' && now - (order.doneAt ?? now) > KEEP_DONE_MS) orders.delete(order.deviceSeq);
    return all.filter((order) => order.state === 'waiting' || now - (order.doneAt ?? now) <= KEEP_DONE_MS);
  });
}

async function mark(deviceSeq, change) {
  await inTransaction(async (orders) => {
    const order = await request(orders.get(deviceSeq));
    if (order) orders.put({ ...order, ...change, doneAt: Date.now() });
  });
}

let delivering = false;

/**
 * Sends each waiting order to the box, oldest first, once: `post(body)` resolves {status, data} or
 * throws when the box did not answer (then the rest wait for the next try). A refusal (too old, a
 * limit needing the manager) stays on the tablet marked so, for a manager to enter from paper.
 * Resolves true when anything changed.
 */
export async function deliverKept(post, describe) {
  if (delivering) return false;
  delivering = true;
  let changed = false;
  try {
    for (const order of await keptOrders()) {
      if (order.state !== 'waiting') continue;
      let result;
      try {
        result = await post(order.body);
      } catch {
        break;
      }
      const { status, data } = result;
      if (status === 200 || status === 201) await mark(order.deviceSeq, { state: 'delivered', boxNumber: data.number, id: data.id });
      else if (status >= 400 && status < 500 && status !== 401 && status !== 429) await mark(order.deviceSeq, { state: 'refused', reason: describe(status, data) });
      else break;
      changed = true;
    }
  } finally {
    delivering = false;
  }
  return changed;
}
