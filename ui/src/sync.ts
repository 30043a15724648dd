// The sync state every screen shares: the outbox, the enrolment and what the core's
// sync task is doing, kept fresh by its events. The core does the syncing; this
// only listens, and asks for a round when the network comes back.
import { reactive } from "vue";
import { listen } from "@tauri-apps/api/event";
import { api, toAppError } from "./api";
import type { SyncStatus } from "./bindings/SyncStatus";
import type { SyncProgress } from "./bindings/SyncProgress";
import type { SyncRuntime } from "./bindings/SyncRuntime";

export const sync = reactive<{ status: SyncStatus | null; failure: string | null }>({
  status: null,
  failure: null,
});

export async function refreshSync() {
  try {
    sync.status = await api.syncStatus();
    sync.failure = null;
  } catch (e) {
    sync.failure = toAppError(e).message;
  }
}

/** Applies a progress event to the shown runtime. Pure, for tests. */
export function applyProgress(runtime: SyncRuntime, p: SyncProgress): SyncRuntime {
  const progress = runtime.progress.filter((x) => x.lead_id !== p.lead_id);
  progress.push(p);
  return { ...runtime, progress };
}

/** Percent of a lead's bytes the bureau has; 100 once delivered. */
export function percentOf(sent: number, total: number, delivered: boolean): number {
  if (delivered) return 100;
  if (total <= 0) return 0;
  return Math.min(100, Math.floor((sent * 100) / total));
}

/** Offline as the sync task last saw it, or as the web view sees the network. */
export function isOffline(status: SyncStatus | null, navigatorOnline: boolean): boolean {
  if (!navigatorOnline) return true;
  return status?.enrolment != null && status.runtime.online === false;
}

/**
 * How the Settings screen enrols: with the scanned QR text alone, or, when a code
 * is typed, with the address, the code and the bureau key's fingerprint, all three
 * required (the core refuses the typed path without a fingerprint too). `null`
 * while something required is missing. Pure, for tests.
 */
export function enrolmentRequest(
  invite: string,
  code: string,
  fingerprint: string,
): { invite: string; code: string | null; fingerprint: string | null } | null {
  const i = invite.trim();
  const c = code.trim();
  const f = fingerprint.trim();
  if (!i) return null;
  if (!c) return { invite: i, code: null, fingerprint: null };
  if (!f) return null;
  return { invite: i, code: c, fingerprint: f };
}

let started = false;
export function startSyncListeners() {
  if (started) return;
  started = true;
  void refreshSync();
  void listen<SyncProgress>("sync://progress", (e) => {
    if (sync.status) sync.status.runtime = applyProgress(sync.status.runtime, e.payload);
  });
  // A round started or ended: the outbox changed, fetch it whole.
  void listen<SyncRuntime>("sync://status", () => void refreshSync());
  window.addEventListener("online", () => {
    void api.syncNow().catch(() => undefined);
  });
}
