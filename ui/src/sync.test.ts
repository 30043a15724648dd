import { describe, expect, it } from "vitest";
import { applyProgress, enrolmentRequest, isOffline, percentOf } from "./sync";
import type { SyncRuntime } from "./bindings/SyncRuntime";
import type { SyncStatus } from "./bindings/SyncStatus";

const runtime: SyncRuntime = {
  running: true,
  online: true,
  last_round_at: null,
  last_error: null,
  last_report: null,
  progress: [],
  next_due: null,
};

describe("sync progress", () => {
  it("keeps one entry per lead, the latest", () => {
    let r = applyProgress(runtime, { lead_id: "a", phase: "blobs", bytes_sent: 10, bytes_total: 100 });
    r = applyProgress(r, { lead_id: "b", phase: "manifest", bytes_sent: 0, bytes_total: 50 });
    r = applyProgress(r, { lead_id: "a", phase: "blobs", bytes_sent: 60, bytes_total: 100 });
    expect(r.progress).toHaveLength(2);
    expect(r.progress.find((p) => p.lead_id === "a")?.bytes_sent).toBe(60);
    expect(runtime.progress).toHaveLength(0);
  });

  it("shows percent of bytes, whole once delivered, never over 100", () => {
    expect(percentOf(0, 0, false)).toBe(0);
    expect(percentOf(1, 3, false)).toBe(33);
    expect(percentOf(5, 3, false)).toBe(100);
    expect(percentOf(0, 0, true)).toBe(100);
  });

  it("is offline when the network is gone or the bureau could not be reached", () => {
    const status: SyncStatus = {
      enrolment: {
        bureau_url: "http://x",
        device_id: "d",
        district_code: "yuzhong",
        district_name: "渝中区",
        bureau_key: "k",
        bureau_key_fingerprint: "3F2A-91C0-0000-0000-0000-0000-0000-0000",
        enrolled_at: "2026-11-25T00:00:00Z",
        revoked_at: null,
      },
      outbox: [],
      runtime: { ...runtime, online: false },
    };
    expect(isOffline(status, true)).toBe(true);
    expect(isOffline({ ...status, runtime }, true)).toBe(false);
    expect(isOffline({ ...status, runtime }, false)).toBe(true);
    expect(isOffline({ ...status, enrolment: null }, true)).toBe(false);
    expect(isOffline(null, true)).toBe(false);
  });
});

describe("enrolment from Settings", () => {
  it("takes the QR text alone", () => {
    expect(enrolmentRequest(' {"kind":"fieldlead-enrolment"} ', "", "")).toEqual({
      invite: '{"kind":"fieldlead-enrolment"}',
      code: null,
      fingerprint: null,
    });
  });

  it("needs the bureau key fingerprint when the code is typed from paper", () => {
    expect(enrolmentRequest("https://lead.example.gov.cn", "ABCD-EFGH-JKMN", " ")).toBeNull();
    expect(enrolmentRequest("https://lead.example.gov.cn", "ABCD-EFGH-JKMN", "3f2a 91c0")).toEqual({
      invite: "https://lead.example.gov.cn",
      code: "ABCD-EFGH-JKMN",
      fingerprint: "3f2a 91c0",
    });
  });

  it("needs something to enrol with", () => {
    expect(enrolmentRequest("  ", "", "")).toBeNull();
  });
});
