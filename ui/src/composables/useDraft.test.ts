import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { defineComponent } from "vue";
import { enableAutoUnmount, flushPromises, mount } from "@vue/test-utils";
import { showFailToast } from "vant";
import { api } from "../api";
import { pendingKey } from "../autosave";
import type { RecordDraft } from "../bindings/RecordDraft";
import type { RecordView } from "../bindings/RecordView";
import { fieldError, useDraft } from "./useDraft";
import { blankDraft } from "../testing";

// The core is the api module; everything below it (Tauri IPC) is out of the picture.
vi.mock("../api", async (original) => ({
  ...(await original<typeof import("../api")>()),
  api: {
    getRecord: vi.fn(),
    updateDraft: vi.fn(),
    sealProblems: vi.fn(),
    checkUscc: vi.fn(),
    seal: vi.fn(),
  },
}));
vi.mock("vant", () => ({ showFailToast: vi.fn() }));

const core = vi.mocked(api);

function draftOf(over: Partial<RecordDraft> = {}): RecordDraft {
  return {
    ...blankDraft(),
    sending_unit: "重庆市某某质量检验检测研究院", task_level: "city", task_year: 2026, task_name: "电线电缆抽查", task_number: "CQ-2026-017",
    product_category: "电线电缆", business_name: "重庆某某五金经营部", business_uscc: "", business_address: "民族路 88 号",
    business_person: "张三", business_phone: "023-63801234", business_role: "seller", product_name: "聚氯乙烯绝缘电线",
    product_brand: "", product_spec_model: "", product_batch: "", production_licence: "", ccc_certificate: "",
    producer_none: true, producer_name: "", producer_address: "", sampler1_name: "李四", sampler1_credential: "CQ50001234",
    sampler2_name: "王五", sampler2_credential: "CQ50005678", place_address: "民族路 88 号门市", place_gps: null,
    started_at: null, ended_at: null, outcome: "terminated", grounds: [{ kind: "no_factory_name" }], situation: "",
    must_not_sample: null, refusal: null, ...over,
  };
}

const UPDATED_AT = "2026-11-20T10:30:00+08:00";
function recordOf(draft: RecordDraft, state: RecordView["state"] = "draft"): RecordView {
  return {
    id: "r1", state, draft, evidence: [], signoffs: [], created_at: "2026-11-20T10:00:00+08:00", updated_at: UPDATED_AT,
    sealed_at: state === "draft" ? null : "2026-11-20T11:00:00+08:00", manifest_hash: state === "draft" ? null : "ab".repeat(32),
  };
}

/** Mounts a component that only uses the draft, and waits for it to load. */
async function open(id = "r1") {
  let form!: ReturnType<typeof useDraft>;
  const w = mount(defineComponent({ setup: () => ((form = useDraft(id)), () => null) }));
  await flushPromises();
  return { form, w };
}

// A form left mounted would keep listening for the page's events.
enableAutoUnmount(afterEach);

const pending = (id = "r1") => window.localStorage.getItem(pendingKey(id));

describe("useDraft", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-11-20T12:00:00+08:00"));
    window.localStorage.clear();
    vi.clearAllMocks();
    core.getRecord.mockResolvedValue(recordOf(draftOf()));
    core.updateDraft.mockImplementation(async (_id, d) => recordOf(d));
    core.sealProblems.mockResolvedValue([]);
  });
  afterEach(() => vi.useRealTimers());

  it("loads the record into the draft and asks the core what stops sealing; loading is not an edit", async () => {
    core.sealProblems.mockResolvedValue([{ field: "situation", code: "required", message: "请填写现场情况" }]);
    const { form } = await open();
    expect(core.getRecord).toHaveBeenCalledWith("r1");
    expect(form.draft.business_name).toBe("重庆某某五金经营部");
    expect(form.problems.value.map((p) => p.field)).toEqual(["situation"]);
    expect(form.sealed.value).toBe(false);
    await vi.advanceTimersByTimeAsync(2000);
    expect(core.updateDraft).not.toHaveBeenCalled();
    expect(pending()).toBeNull();
  });

  it("saves edits once, 400 ms after the last, keeping a local copy until the core has them", async () => {
    const { form } = await open();
    form.draft.situation = "货架上";
    await vi.advanceTimersByTimeAsync(300);
    form.draft.situation = "货架上的电线无厂名厂址";
    await vi.advanceTimersByTimeAsync(1);
    expect(JSON.parse(pending()!).value.situation).toBe("货架上的电线无厂名厂址");
    await vi.advanceTimersByTimeAsync(398);
    expect(core.updateDraft).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await flushPromises();
    expect(core.updateDraft).toHaveBeenCalledTimes(1);
    expect(core.updateDraft.mock.calls[0][1].situation).toBe("货架上的电线无厂名厂址");
    expect(form.saveState.value).toBe("saved");
    expect(form.record.value?.draft.situation).toBe("货架上的电线无厂名厂址");
    expect(pending()).toBeNull();
  });

  it("asks the core for problems again 300 ms after an edit", async () => {
    const { form } = await open();
    expect(core.sealProblems).toHaveBeenCalledTimes(1);
    core.sealProblems.mockResolvedValue([{ field: "business_phone", code: "phone", message: "电话号码格式不对" }]);
    form.draft.business_phone = "12";
    await vi.advanceTimersByTimeAsync(299);
    expect(core.sealProblems).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await flushPromises();
    expect(core.sealProblems).toHaveBeenCalledTimes(2);
    expect(core.sealProblems.mock.calls[1][1].business_phone).toBe("12");
    expect(fieldError(form.problems.value, "business_phone", form.draft.business_phone)).toBe("电话号码格式不对");
  });

  it("a failed save says so and keeps the local copy; the next edit saves both", async () => {
    const { form } = await open();
    core.updateDraft.mockRejectedValueOnce({ code: "io", message: "磁盘已满", problems: [] });
    form.draft.business_person = "张三丰";
    await vi.advanceTimersByTimeAsync(400);
    await flushPromises();
    expect(form.saveState.value).toBe("error");
    expect(showFailToast).toHaveBeenCalledWith("磁盘已满");
    expect(JSON.parse(pending()!).value.business_person).toBe("张三丰");
    form.draft.business_phone = "023-63800000";
    await vi.advanceTimersByTimeAsync(400);
    await flushPromises();
    expect(core.updateDraft).toHaveBeenCalledTimes(2);
    expect(core.updateDraft.mock.calls[1][1]).toMatchObject({ business_person: "张三丰", business_phone: "023-63800000" });
    expect(form.saveState.value).toBe("saved");
    expect(pending()).toBeNull();
  });

  it("takes back a local copy newer than the core's draft, and saves it", async () => {
    const typed = draftOf({ situation: "应用被关闭前输入的" });
    window.localStorage.setItem(pendingKey("r1"), JSON.stringify({ value: typed, at: Date.parse(UPDATED_AT) + 1000 }));
    const { form } = await open();
    expect(form.draft.situation).toBe("应用被关闭前输入的");
    await vi.advanceTimersByTimeAsync(400);
    await flushPromises();
    expect(core.updateDraft).toHaveBeenCalledWith("r1", typed);
  });

  it("ignores a local copy older than the core's draft", async () => {
    const old = draftOf({ situation: "旧的" });
    window.localStorage.setItem(pendingKey("r1"), JSON.stringify({ value: old, at: Date.parse(UPDATED_AT) - 1000 }));
    const { form } = await open();
    expect(form.draft.situation).toBe("");
    await vi.advanceTimersByTimeAsync(1000);
    expect(core.updateDraft).not.toHaveBeenCalled();
  });

  it("saves at once, without waiting, when the app is hidden or the form is left", async () => {
    const { form, w } = await open();
    form.draft.product_batch = "20261101";
    await flushPromises();
    window.dispatchEvent(new Event("pagehide"));
    await flushPromises();
    expect(core.updateDraft).toHaveBeenCalledTimes(1);
    form.draft.product_batch = "20261102";
    await flushPromises();
    w.unmount();
    await flushPromises();
    expect(core.updateDraft).toHaveBeenCalledTimes(2);
    expect(core.updateDraft.mock.calls[1][1].product_batch).toBe("20261102");
    // Gone: the page's events no longer reach it.
    window.dispatchEvent(new Event("pagehide"));
    await vi.advanceTimersByTimeAsync(1000);
    expect(core.updateDraft).toHaveBeenCalledTimes(2);
  });

  it("neither saves nor checks a sealed record", async () => {
    core.getRecord.mockResolvedValue(recordOf(draftOf(), "sealed"));
    const { form } = await open();
    expect(form.sealed.value).toBe(true);
    expect(core.sealProblems).not.toHaveBeenCalled();
    form.draft.situation = "锁定后";
    await vi.advanceTimersByTimeAsync(1000);
    expect(core.updateDraft).not.toHaveBeenCalled();
    expect(core.sealProblems).not.toHaveBeenCalled();
  });

  it("says why a record could not be loaded", async () => {
    core.getRecord.mockRejectedValue({ code: "not_found", message: "找不到这条记录", problems: [] });
    const { form } = await open();
    expect(form.failure.value).toBe("找不到这条记录");
    expect(form.record.value).toBeNull();
  });

  it("checks the USCC as typed, and forgets the check when it is emptied", async () => {
    core.checkUscc.mockResolvedValue({ ok: false, code: "check_digit", message: "校验位不对", warning: null });
    const { form } = await open();
    form.draft.business_uscc = "914403001922038217";
    await flushPromises();
    expect(core.checkUscc).toHaveBeenCalledWith("914403001922038217");
    expect(form.uscc.value?.message).toBe("校验位不对");
    form.draft.business_uscc = "  ";
    await flushPromises();
    expect(form.uscc.value).toBeNull();
    expect(core.checkUscc).toHaveBeenCalledTimes(1);
  });

  it("sealing takes the sealed record and drops the local copy", async () => {
    const { form } = await open();
    window.localStorage.setItem(pendingKey("r1"), "{}");
    core.seal.mockResolvedValue(recordOf(draftOf(), "sealed"));
    await form.seal();
    expect(form.sealed.value).toBe(true);
    expect(pending()).toBeNull();
  });

  it("a refused seal lists the core's problems and throws", async () => {
    const { form } = await open();
    window.localStorage.setItem(pendingKey("r1"), "{}");
    const problems = [{ field: "evidence[0].caption", code: "required", message: "照片 1 缺少说明" }];
    core.seal.mockRejectedValue({ code: "not_ready", message: "还不能锁定", problems });
    await expect(form.seal()).rejects.toThrow("还不能锁定");
    expect(form.problems.value).toEqual(problems);
    expect(form.sealed.value).toBe(false);
    expect(pending()).toBe("{}");
  });
});

describe("fieldError", () => {
  const problems = [{ field: "task_year", code: "range", message: "年份不对" }];
  it("names a field's problem once the field has content", () => {
    expect(fieldError(problems, "task_year", 1999)).toBe("年份不对");
    expect(fieldError(problems, "task_year", null)).toBeUndefined();
    expect(fieldError(problems, "task_year", "")).toBeUndefined();
    expect(fieldError(problems, "business_name", "x")).toBeUndefined();
  });
});
