// Typed calls to the Rust core. Types come from ui/src/bindings (generated from the
// Rust types by ts-rs); nothing here holds a business rule.
import { invoke, convertFileSrc } from "@tauri-apps/api/core";
import type { CommandError } from "./bindings/CommandError";
import type { DeviceInfo } from "./bindings/DeviceInfo";
import type { EvidenceItem } from "./bindings/EvidenceItem";
import type { FieldProblem } from "./bindings/FieldProblem";
import type { ListQuery } from "./bindings/ListQuery";
import type { Party } from "./bindings/Party";
import type { RecordDraft } from "./bindings/RecordDraft";
import type { RecordSummary } from "./bindings/RecordSummary";
import type { RecordView } from "./bindings/RecordView";
import type { Settings } from "./bindings/Settings";
import type { SignoffView } from "./bindings/SignoffView";
import type { UsccCheck } from "./bindings/UsccCheck";
import type { Enrolment } from "./bindings/Enrolment";
import type { FormPreview } from "./bindings/FormPreview";
import type { SyncStatus } from "./bindings/SyncStatus";

/** An error from the core, or from the IPC layer itself, as {code, message}. */
export class AppError extends Error {
  readonly code: string;
  readonly problems: FieldProblem[];
  constructor(e: CommandError) {
    super(e.message);
    this.code = e.code;
    this.problems = e.problems;
  }
}

export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const c = e as CommandError;
    return new AppError({ code: String(c.code), message: String(c.message), problems: c.problems ?? [] });
  }
  return new AppError({ code: "ipc", message: String(e), problems: [] });
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toAppError(e);
  }
}

async function callRaw<T>(cmd: string, bytes: Uint8Array, headers: Record<string, string>): Promise<T> {
  try {
    return await invoke<T>(cmd, bytes, { headers });
  } catch (e) {
    throw toAppError(e);
  }
}

export const api = {
  deviceInfo: () => call<DeviceInfo>("device_info"),
  getSettings: () => call<Settings>("get_settings"),
  saveSettings: (settings: Settings) => call<Settings>("save_settings", { settings }),
  listRecords: (query: ListQuery) => call<RecordSummary[]>("list_records", { query }),
  getRecord: (id: string) => call<RecordView>("get_record", { id }),
  newVisit: () => call<RecordView>("new_visit"),
  updateDraft: (id: string, draft: RecordDraft) => call<RecordView>("update_draft", { id, draft }),
  validateDraft: (id: string, draft: RecordDraft) => call<FieldProblem[]>("validate_draft", { id, draft }),
  checkUscc: (text: string) => call<UsccCheck>("check_uscc", { text }),
  attachPhoto: (id: string, bytes: Uint8Array, fileName: string, caption: string) =>
    callRaw<EvidenceItem>("attach_photo", bytes, {
      "x-lead-id": id,
      "x-caption": encodeURIComponent(caption),
      "x-file-name": encodeURIComponent(fileName),
    }),
  setCaption: (id: string, sha256: string, caption: string) => call<null>("set_caption", { id, sha256, caption }),
  removePhoto: (id: string, sha256: string) => call<null>("remove_photo", { id, sha256 }),
  sign: (id: string, party: Party, png: Uint8Array) =>
    callRaw<SignoffView>("sign", png, { "x-lead-id": id, "x-party": party }),
  recordRefusal: (id: string, witness: string) => call<SignoffView>("record_refusal", { id, witness }),
  clearSignoff: (id: string, party: Party) => call<null>("clear_signoff", { id, party }),
  sealProblems: (id: string, draft: RecordDraft) => call<FieldProblem[]>("seal_problems", { id, draft }),
  seal: (id: string) => call<RecordView>("seal", { id }),
  formPreview: (id: string) => call<FormPreview>("form_preview", { id }),
  /** A draft's form as it would print if locked now, watermarked 预览; never saved. */
  draftFormPreview: (id: string) => call<FormPreview>("draft_form_preview", { id }),
  uiReady: () => call<null>("ui_ready"),
  syncStatus: () => call<SyncStatus>("sync_status"),
  syncNow: () => call<null>("sync_now"),
  /**
   * `invite` is the QR text, or the bureau's address when `code` and the bureau's
   * key `fingerprint` are typed from paper.
   */
  enrol: (invite: string, code: string | null, fingerprint: string | null, label: string) =>
    call<Enrolment>("enrol", { invite, code, fingerprint, label }),
};

/** URL of a stored blob (thumbnail, signature image) served by the core. */
export function blobUrl(sha256: string): string {
  return convertFileSrc(sha256, "evidence");
}

/** The bytes of a data: URL, as the signature pad produces. */
export function dataUrlBytes(dataUrl: string): Uint8Array {
  const comma = dataUrl.indexOf(",");
  if (!dataUrl.startsWith("data:") || comma < 0 || !dataUrl.slice(0, comma).endsWith(";base64")) {
    throw new AppError({ code: "signature_image", message: "签名图片格式无效", problems: [] });
  }
  const bin = atob(dataUrl.slice(comma + 1));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let readyTold = false;
/** Tells the core, once per start, that the first screen is in place and the page
 * is idle: in the task after the render. (Not after an animation frame: WebKitGTK
 * does not run frame callbacks for a page that has nothing to repaint.) */
export function tellUiReady() {
  if (readyTold) return;
  readyTold = true;
  setTimeout(() => void api.uiReady().catch(() => undefined), 0);
}
