// One record being filled in: loaded from the core, saved as it is edited (with a
// local copy of what has not reached the core yet), checked by the core as it
// changes, and sealed.
import { computed, onBeforeUnmount, onMounted, reactive, ref, watch } from "vue";
import { showFailToast } from "vant";
import { api, toAppError } from "../api";
import { createAutosave, loadPending, pendingKey } from "../autosave";
import type { FieldProblem } from "../bindings/FieldProblem";
import type { RecordDraft } from "../bindings/RecordDraft";
import type { RecordView } from "../bindings/RecordView";
import type { UsccCheck } from "../bindings/UsccCheck";

export type SaveState = "saving" | "saved" | "error" | "";

/** A field's error, shown once the field has content (empty ones show on the seal step). */
export function fieldError(problems: FieldProblem[], field: string, value?: unknown): string | undefined {
  if (value === "" || value === null || value === undefined) return undefined;
  return problems.find((p) => p.field === field)?.message;
}

function plain(d: RecordDraft): RecordDraft {
  return JSON.parse(JSON.stringify(d)) as RecordDraft;
}

/**
 * The record `id` for the form. Loads when the component is mounted; saves what is
 * pending when the app is hidden or the form is left.
 */
export function useDraft(id: string) {
  const storage = window.localStorage;
  const record = ref<RecordView | null>(null);
  /** The form's model: the steps write into it; every change is saved and checked. */
  const draft = reactive({} as RecordDraft);
  /** Why the record could not be loaded. */
  const failure = ref<string | null>(null);
  const saveState = ref<SaveState>("");
  /** What the core says still stops sealing. */
  const problems = ref<FieldProblem[]>([]);
  /** The core's check of the USCC as typed; null while it is empty. */
  const uscc = ref<UsccCheck | null>(null);

  const sealed = computed(() => record.value !== null && record.value.state !== "draft");

  const autosave = createAutosave<RecordDraft>({
    id,
    storage,
    save: async (d) => {
      record.value = await api.updateDraft(id, d);
    },
    onState: (s, err) => {
      saveState.value = s;
      if (s === "error") showFailToast(toAppError(err).message);
    },
  });

  /** Saves what is pending now. */
  function flush(): Promise<void> {
    return autosave.flush();
  }
  function flushNow() {
    void autosave.flush();
  }

  async function load() {
    try {
      const r = await api.getRecord(id);
      record.value = r;
      let d = r.draft;
      if (r.state === "draft") {
        // A draft typed before the app was killed and never saved: take it back.
        const pending = loadPending<RecordDraft>(storage, id);
        if (pending && pending.at > Date.parse(r.updated_at)) {
          d = pending.value;
          autosave.push(d);
        }
      }
      Object.assign(draft, d);
      await refreshProblems();
    } catch (e) {
      failure.value = toAppError(e).message;
    }
  }

  let loaded = false;
  onMounted(async () => {
    await load();
    loaded = true;
    document.addEventListener("visibilitychange", flushNow);
    window.addEventListener("pagehide", flushNow);
  });
  onBeforeUnmount(() => {
    flushNow();
    document.removeEventListener("visibilitychange", flushNow);
    window.removeEventListener("pagehide", flushNow);
  });

  watch(
    draft,
    () => {
      if (!loaded || sealed.value) return;
      autosave.push(plain(draft));
      void refreshProblemsSoon();
    },
    { deep: true },
  );

  let problemTimer: ReturnType<typeof setTimeout> | undefined;
  function refreshProblemsSoon() {
    clearTimeout(problemTimer);
    problemTimer = setTimeout(refreshProblems, 300);
  }
  async function refreshProblems() {
    if (sealed.value) return;
    try {
      problems.value = await api.sealProblems(id, plain(draft));
    } catch {
      // Shown again when sealing.
    }
  }

  watch(
    () => draft.business_uscc,
    async (v) => {
      uscc.value = v && v.trim() ? await api.checkUscc(v) : null;
    },
  );

  /** After a photo or signoff changed in the core: the record as it is now, and its problems. */
  async function reload() {
    record.value = await api.getRecord(id);
    await refreshProblems();
  }

  /**
   * Seals the record (call `flush` first). On refusal the core's problems replace
   * the listed ones, and the error is thrown on.
   */
  async function seal() {
    try {
      record.value = await api.seal(id);
      storage.removeItem(pendingKey(id));
    } catch (e) {
      const x = toAppError(e);
      if (x.problems.length) problems.value = x.problems;
      throw x;
    }
  }

  return { record, draft, failure, saveState, problems, uscc, sealed, flush, reload, seal };
}
