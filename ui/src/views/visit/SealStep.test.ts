// The seal step offers the form's 预览 before locking, for a lead only, saving
// pending edits first so the preview shows what was just typed.
import { afterEach, describe, expect, it, vi } from "vitest";
import { enableAutoUnmount, flushPromises, mount } from "@vue/test-utils";
import Vant from "vant";
import { api } from "../../api";
import { i18n } from "../../i18n";
import SealStep from "./SealStep.vue";

vi.mock("../../api", async (original) => ({
  ...(await original<typeof import("../../api")>()),
  api: { draftFormPreview: vi.fn() },
}));
enableAutoUnmount(afterEach);

function mountStep(isLead: boolean, flush = vi.fn().mockResolvedValue(undefined)) {
  return mount(SealStep, {
    props: { id: "r1", isLead, problems: [], flush, seal: vi.fn() },
    global: { plugins: [i18n, Vant], stubs: { teleport: true } },
  });
}

describe("the form's 预览 before locking", () => {
  it("saves pending edits, then shows the watermarked pages and says it is not the form", async () => {
    const order: string[] = [];
    const flush = vi.fn(async () => void order.push("flush"));
    vi.mocked(api.draftFormPreview).mockImplementation(async () => {
      order.push("preview");
      return { pages_svg: ["<svg>1</svg>", "<svg>2</svg>"], pdf_path: null };
    });
    const w = mountStep(true, flush);
    await w.get("[data-testid=draft-form-preview]").trigger("click");
    await flushPromises();
    expect(order).toEqual(["flush", "preview"]);
    expect(api.draftFormPreview).toHaveBeenCalledWith("r1");
    expect(w.findAll("[data-testid=form-page]")).toHaveLength(2);
    expect(w.get("[data-testid=form-draft-notice]").text()).toContain("尚未锁定");
    expect(w.text()).not.toContain("PDF 已保存");
  });

  it("is offered for a terminated sampling only", () => {
    expect(mountStep(false).find("[data-testid=draft-form-preview]").exists()).toBe(false);
  });
});
