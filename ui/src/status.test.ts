import { describe, expect, it } from "vitest";
import { formatGps, shortHash, stateLabelKey, stateTagType } from "./status";
import { dataUrlBytes, toAppError, AppError } from "./api";
import { LEAD_STATES } from "./bindings/labels";
import zh from "./locales/zh-CN";
import en from "./locales/en";

describe("status badges", () => {
  it("every state, sealed too, has its own label key", () => {
    expect(stateLabelKey("sealed")).toBe("state.sealed");
    expect(stateLabelKey("case_filed")).toBe("state.case_filed");
    expect(stateTagType("draft")).toBe("default");
    expect(stateTagType("declined")).toBe("danger");
  });

  it("every state has a label in both languages", () => {
    for (const s of LEAD_STATES) {
      const key = stateLabelKey(s).split(".")[1] as keyof typeof zh.state;
      expect(zh.state[key]).toBeTruthy();
      expect(en.state[key]).toBeTruthy();
    }
  });
});

describe("formatting", () => {
  it("GPS from integer 1e-7 degrees", () => {
    expect(formatGps({ lat_e7: 295630000, lon_e7: 1065510000 })).toBe("29.5630000, 106.5510000");
    expect(formatGps({ lat_e7: -338567000, lon_e7: -1512150000 })).toBe("-33.8567000, -151.2150000");
    expect(formatGps(null)).toBeNull();
  });

  it("short hash keeps both ends", () => {
    expect(shortHash("a".repeat(60) + "1234")).toBe("aaaaaaaa…1234");
  });

});

describe("api helpers", () => {
  it("decodes the signature pad's data URL", () => {
    const bytes = dataUrlBytes("data:image/png;base64,iVBORw0KGgo=");
    expect(Array.from(bytes.slice(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(() => dataUrlBytes("data:image/png,raw")).toThrow(AppError);
  });

  it("maps core errors by code, and anything else to an ipc error", () => {
    const e = toAppError({ code: "record_sealed", message: "记录已锁定", problems: [] });
    expect(e.code).toBe("record_sealed");
    expect(e.message).toBe("记录已锁定");
    expect(toAppError("boom").code).toBe("ipc");
  });
});

describe("locales", () => {
  function keys(o: object, prefix = ""): string[] {
    return Object.entries(o).flatMap(([k, v]) => (typeof v === "object" ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
  }
  it("English has exactly the Chinese keys, none empty", () => {
    expect(keys(en).sort()).toEqual(keys(zh).sort());
    for (const k of keys(zh)) {
      const v = k.split(".").reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], zh);
      expect(v, k).not.toBe("");
    }
  });
});
