// Saves the draft as it is edited, and keeps a local copy of what has not reached
// the core yet, so nothing typed is lost if the app is closed or killed mid-form.

const KEY = "fieldlead.pending.";

export interface Pending<T> {
  value: T;
  at: number;
}

export function pendingKey(id: string): string {
  return KEY + id;
}

export function loadPending<T>(storage: Storage, id: string): Pending<T> | null {
  const raw = storage.getItem(pendingKey(id));
  if (!raw) return null;
  try {
    const p = JSON.parse(raw) as Pending<T>;
    return typeof p.at === "number" && p.value !== undefined ? p : null;
  } catch {
    storage.removeItem(pendingKey(id));
    return null;
  }
}

/**
 * A debounced saver: `push` records the latest value at once in `storage` and calls
 * `save` after `delayMs` of quiet; `flush` saves immediately. A value that fails to
 * save stays pending and is retried on the next push or flush.
 */
export function createAutosave<T>(opts: {
  id: string;
  storage: Storage;
  save: (value: T) => Promise<void>;
  delayMs?: number;
  onState?: (s: "saving" | "saved" | "error", err?: unknown) => void;
}) {
  const delay = opts.delayMs ?? 400;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let latest: T | null = null;
  let inflight: Promise<void> | null = null;

  async function run(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (inflight) await inflight;
    if (latest === null) return;
    const value = latest;
    latest = null;
    opts.onState?.("saving");
    inflight = opts
      .save(value)
      .then(() => {
        // Only forget the local copy if nothing newer arrived meanwhile.
        if (latest === null) opts.storage.removeItem(pendingKey(opts.id));
        opts.onState?.("saved");
      })
      .catch((e) => {
        if (latest === null) latest = value;
        opts.onState?.("error", e);
      })
      .finally(() => {
        inflight = null;
      });
    await inflight;
  }

  return {
    push(value: T) {
      latest = value;
      const p: Pending<T> = { value, at: Date.now() };
      opts.storage.setItem(pendingKey(opts.id), JSON.stringify(p));
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void run(), delay);
    },
    flush: run,
    hasPending: () => latest !== null || timer !== null,
  };
}
