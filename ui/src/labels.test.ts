// The tablet says what the domain says, in the notice's words, and nothing in English.
// It runs in New York, so a time shown or picked in the tablet's own zone shows.
declare const process: { env: Record<string, string | undefined> };
process.env.TZ = "America/New_York";
import { afterEach, describe, expect, it, vi } from "vitest";
import { enableAutoUnmount, flushPromises, mount } from "@vue/test-utils";
import Vant from "vant";
import { api } from "./api";
import { BUSINESS_ROLE_LABELS, LEAD_STATE_LABELS, LEAD_STATES, TASK_LEVEL_LABELS, TASK_LEVELS } from "./bindings/labels";
import { blankDraft } from "./testing";
import { reactive, nextTick } from "vue";
import VisitStep from "./views/visit/VisitStep.vue";
import type { RecordSummary } from "./bindings/RecordSummary";
import { i18n } from "./i18n";
import zh from "./locales/zh-CN";
import { STATE_TABS, stateLabelKey } from "./status";
import { formatChinaTime } from "./time";
import RecordsList from "./views/RecordsList.vue";

vi.mock("./api", async (original) => ({
  ...(await original<typeof import("./api")>()),
  api: { listRecords: vi.fn(), newVisit: vi.fn() },
  tellUiReady: vi.fn(),
}));
vi.mock("vue-router", () => ({ useRouter: () => ({ push: vi.fn() }) }));
enableAutoUnmount(afterEach);

/** Every message of a tree, by its dotted key. */
function messages(o: object, prefix = ""): [string, string][] {
  return Object.entries(o).flatMap(([k, v]) =>
    typeof v === "object" && v !== null ? messages(v, `${prefix}${k}.`) : [[`${prefix}${k}`, String(v)] as [string, string]],
  );
}
const ZH = messages(zh);
const t = (key: string) => i18n.global.t(key);

describe("labels come from the domain", () => {
  it("each lead state is said as the domain says it, one wording per state", () => {
    expect(i18n.global.locale.value).toBe("zh-CN");
    for (const s of LEAD_STATES) {
      expect(LEAD_STATE_LABELS[s]).toMatch(/[\u4e00-\u9fff]/);
      expect(zh.state[s]).toBe(LEAD_STATE_LABELS[s]);
      expect(t(stateLabelKey(s))).toBe(LEAD_STATE_LABELS[s]);
    }
    expect(Object.keys(zh.state).sort()).toEqual([...LEAD_STATES].sort());
  });

  it("the records list offers 全部 and then every state, in order", () => {
    expect(STATE_TABS).toEqual(["", ...LEAD_STATES]);
  });

  it("business roles and the outbox's delivered are the domain's words", () => {
    expect(zh.visit.role).toEqual(BUSINESS_ROLE_LABELS);
    for (const r of Object.keys(BUSINESS_ROLE_LABELS)) expect(t(`visit.role.${r}`)).toBe(BUSINESS_ROLE_LABELS[r as keyof typeof BUSINESS_ROLE_LABELS]);
    expect(zh.outbox.delivered).toBe(LEAD_STATE_LABELS.delivered);
  });
});

describe("the visit step asks what an inspector expects", () => {
  it("任务来源 from the domain's levels, 任务文号, 抽样单编号, and the platform for a shop on one", async () => {
    const d = reactive(blankDraft());
    const w = mount(VisitStep, { props: { draft: d, problems: [], uscc: null }, global: { plugins: [i18n, Vant] } });
    const levels = w.get("[data-testid=f-task-level]").findAll(".van-radio").map((x) => x.text());
    expect(levels).toEqual(TASK_LEVELS.map((l) => TASK_LEVEL_LABELS[l]));
    for (const label of ["任务来源", "任务文号", "抽样单编号"]) expect(w.text()).toContain(label);
    await w.get("[data-testid=task-level-city]").trigger("click");
    expect(d.task_level).toBe("city");
    // The platform's name is asked of a shop on a platform only.
    expect(w.find("[data-testid=f-platform]").exists()).toBe(false);
    await w.get("[data-testid=role-ecommerce-shop]").trigger("click");
    await nextTick();
    expect(d.business_role).toBe("ecommerce_shop");
    expect(w.get("[data-testid=f-platform]").text()).toContain("电子商务平台");
  });

  it("抽样时间 reads and is picked in China time, whatever the tablet's zone", async () => {
    const d = reactive({ ...blankDraft(), started_at: "2026-03-05T06:30:00Z" });
    const w = mount(VisitStep, {
      props: { draft: d, problems: [], uscc: null },
      global: { plugins: [i18n, Vant], stubs: { teleport: true } },
    });
    const shown = w.get("[data-testid=f-started] input").element as HTMLInputElement;
    expect(shown.value).toBe("2026年3月5日 14:30");
    await w.get("[data-testid=f-started]").trigger("click");
    await nextTick();
    await w.get("[data-testid=time-popup] .van-picker__confirm").trigger("click");
    // The same wall clock, now kept as China's.
    expect(d.started_at).toBe("2026-03-05T14:30:00+08:00");
  });
});

describe("the records list as the sampler sees it", () => {
  const row: RecordSummary = {
    id: "r1", state: "delivered", business_name: "重庆某某五金经营部", business_uscc: "", product_name: "电线",
    task_name: "", evidence_count: 3, updated_at: "2026-03-05T06:30:59Z", received_at: "2026-12-31T16:05:00Z",
    outbox_state: "delivered", sync_error: null,
  };

  it("has a tab for every state, and China times", async () => {
    vi.mocked(api.listRecords).mockResolvedValue([row]);
    const w = mount(RecordsList, { global: { plugins: [i18n, Vant] } });
    await flushPromises();
    const tabs = w.findAll(".van-tab").map((x) => x.text());
    expect(tabs).toEqual(["全部", ...LEAD_STATES.map((s) => LEAD_STATE_LABELS[s])]);
    expect(w.get("[data-testid=state-r1]").text()).toBe("区县局已接收");
    expect(w.text()).toContain(`更新于 ${formatChinaTime(row.updated_at)}`);
    expect(w.get("[data-testid=received-r1]").text()).toBe("区县局接收时间：2027年1月1日 00:05");
  });
});

describe("the Chinese messages use the notice's words", () => {
  // Known codes and names a sampler reads as they are; anything else in ASCII letters
  // is an English word left on a Chinese screen.
  const ALLOWED_ASCII = ["fieldlead", "GPS", "SHA-256", "PDF", "CCC", "HEIC", "https", "EXIF", "XMP"];
  const FORBIDDEN: [RegExp, string][] = [
    [/(?<!县)区局/, "区县局, not 区局"],
    [/封存/, "锁定: 封存 is done to goods"],
    [/送达/, "已报送 / 区县局已接收: 送达 is serving documents"],
    [/收件箱/, "no e-mail words"],
    [/标称生产者/, "标称生产厂家"],
    [/清单哈希/, "存证摘要"],
    [/办案人员/, "执法人员 / 执法办案部门"],
  ];

  it("none of the words the notice does not use", () => {
    for (const [key, text] of ZH)
      for (const [re, why] of FORBIDDEN) expect(re.test(text), `${key}: "${text}" (${why})`).toBe(false);
  });

  it("no English word outside placeholders, save the known codes", () => {
    const used = new Set<string>();
    for (const [key, text] of ZH) {
      const words = text.replace(/\{[^}]*\}/g, "").match(/[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]|[A-Za-z]/g) ?? [];
      for (const w of words.filter((w) => (w.match(/[A-Za-z]/g) ?? []).length >= 3)) {
        expect(ALLOWED_ASCII, `${key}: "${text}"`).toContain(w);
        used.add(w);
      }
    }
    // An allowance no message needs any more goes from the list.
    expect([...used].sort()).toEqual([...ALLOWED_ASCII].sort());
  });

  it("every message key a screen names exists", () => {
    const sources = import.meta.glob("./**/*.vue", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
    const keys = new Set(ZH.map(([k]) => k));
    let named = 0;
    for (const [file, src] of Object.entries(sources))
      for (const m of src.matchAll(/\bt\(\s*["'`]([A-Za-z_][\w.]*)["'`]/g)) {
        named++;
        expect(keys.has(m[1]), `${file}: ${m[1]}`).toBe(true);
      }
    expect(named).toBeGreaterThan(50);
  });
});
