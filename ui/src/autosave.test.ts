import { describe, expect, it, vi, beforeEach, afterEach } from "vitest";
import { createAutosave, loadPending, pendingKey } from "./autosave";

class MemoryStorage implements Storage {
  private m = new Map<string, string>();
  get length() {
    return this.m.size;
  }
  clear() {
    this.m.clear();
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

describe("autosave", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("keeps a local copy at once and saves after a quiet period, once", async () => {
    const storage = new MemoryStorage();
    const saved: string[] = [];
    const a = createAutosave<string>({ id: "r1", storage, delayMs: 400, save: async (v) => void saved.push(v) });
    a.push("重");
    a.push("重庆");
    expect(loadPending<string>(storage, "r1")?.value).toBe("重庆");
    expect(saved).toEqual([]);
    await vi.advanceTimersByTimeAsync(400);
    expect(saved).toEqual(["重庆"]);
    expect(storage.getItem(pendingKey("r1"))).toBeNull();
  });

  it("flush saves immediately, e.g. when the app is hidden", async () => {
    const storage = new MemoryStorage();
    const saved: number[] = [];
    const a = createAutosave<number>({ id: "r2", storage, save: async (v) => void saved.push(v) });
    a.push(1);
    await a.flush();
    expect(saved).toEqual([1]);
    expect(a.hasPending()).toBe(false);
  });

  it("a failed save keeps the value pending and locally, and is retried", async () => {
    const storage = new MemoryStorage();
    let fail = true;
    const saved: string[] = [];
    const states: string[] = [];
    const a = createAutosave<string>({
      id: "r3",
      storage,
      save: async (v) => {
        if (fail) throw new Error("disk full");
        saved.push(v);
      },
      onState: (s) => states.push(s),
    });
    a.push("现场情况");
    await a.flush();
    expect(states).toContain("error");
    expect(saved).toEqual([]);
    expect(loadPending<string>(storage, "r3")?.value).toBe("现场情况");
    expect(a.hasPending()).toBe(true);
    fail = false;
    await a.flush();
    expect(saved).toEqual(["现场情况"]);
    expect(storage.getItem(pendingKey("r3"))).toBeNull();
  });

  it("a corrupt local copy is dropped, not trusted", () => {
    const storage = new MemoryStorage();
    storage.setItem(pendingKey("r4"), "{not json");
    expect(loadPending(storage, "r4")).toBeNull();
    expect(storage.getItem(pendingKey("r4"))).toBeNull();
  });
});
