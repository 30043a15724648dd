// The tablet's own zone and language must not move a time shown on screen: this file
// runs in New York (and then elsewhere) with an English locale, before any Date use.
// (Node's process, declared here only: the app's code has no Node types.)
declare const process: { env: Record<string, string | undefined> };
process.env.TZ = "America/New_York";

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TIME_EXAMPLES } from "./bindings/labels";
import { chinaPickerParts, formatChinaDate, formatChinaTime, formatExifTime, fromChinaPicker } from "./time";

/** Zones far from China, with and without daylight saving, both sides of UTC. */
const ZONES = ["America/New_York", "Europe/London", "Pacific/Kiritimati", "America/St_Johns", "UTC"];

function inZone(zone: string) {
  process.env.TZ = zone;
  // Node applies TZ at once; check it did, or the test would prove nothing.
  expect(Intl.DateTimeFormat().resolvedOptions().timeZone).toBe(zone);
}

describe("formatChinaTime", () => {
  beforeEach(() => {
    // Nothing may ask the tablet's locale or zone: these would give its clock.
    for (const m of ["toLocaleString", "toLocaleDateString", "toLocaleTimeString", "getHours", "getDate", "getTimezoneOffset"] as const)
      vi.spyOn(Date.prototype, m).mockImplementation(() => {
        throw new Error(`Date.prototype.${m} used for a time shown on screen`);
      });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    inZone("America/New_York");
  });

  it("runs where the tablet is not in China and does not speak Chinese", () => {
    vi.restoreAllMocks();
    expect(Intl.DateTimeFormat().resolvedOptions().timeZone).toBe("America/New_York");
    expect(new Intl.DateTimeFormat("en-US").resolvedOptions().locale).toBe("en-US");
    // There the first example reads as 1:30 AM on March 5, not 14:30.
    expect(new Date(TIME_EXAMPLES[0][0]).toLocaleString("en-US")).toBe("3/5/2026, 1:30:59 AM");
  });

  it("shows every one of the domain's examples exactly, in every zone", () => {
    expect(TIME_EXAMPLES.length).toBeGreaterThan(0);
    for (const zone of ZONES) {
      inZone(zone);
      for (const [iso, shown] of TIME_EXAMPLES) expect(formatChinaTime(iso), `${iso} in ${zone}`).toBe(shown);
    }
  });

  it("is China time all year, whatever the tablet's daylight saving does", () => {
    // New York moves its clocks at 07:00Z on 8 March 2026; China does not.
    expect(formatChinaTime("2026-03-08T06:59:00Z")).toBe("2026年3月8日 14:59");
    expect(formatChinaTime("2026-03-08T07:01:00Z")).toBe("2026年3月8日 15:01");
    expect(formatChinaTime("2026-07-01T00:00:00-04:00")).toBe("2026年7月1日 12:00");
    expect(formatChinaTime("2028-02-28T16:00:00Z")).toBe("2028年2月29日 00:00");
    // Seconds are dropped, never rounded up into the next minute.
    expect(formatChinaTime("2026-03-05T06:30:59.999Z")).toBe("2026年3月5日 14:30");
  });

  it("gives nothing for an empty or invalid time", () => {
    for (const bad of ["", null, undefined, "not a date", "2026-02-30T10:00:00Z", "2026-13-01T00:00:00Z", "2026-03-05T24:00:00Z", "2026-03-05T10:00:00+25:00", "1772692259000"])
      expect(formatChinaTime(bad), String(bad)).toBe("");
    // Without a zone it is no instant: the tablet's zone would decide it.
    expect(formatChinaTime("2026-03-05T14:30:00")).toBe("");
  });
});

describe("formatChinaDate", () => {
  it("is the day in China of each example", () => {
    for (const zone of ZONES) {
      inZone(zone);
      for (const [iso, shown] of TIME_EXAMPLES) expect(formatChinaDate(iso)).toBe(shown.split(" ")[0]);
    }
    inZone("America/New_York");
  });

  it("takes a calendar date as it is, and nothing for an invalid one", () => {
    expect(formatChinaDate("2026-03-05")).toBe("2026年3月5日");
    expect(formatChinaDate("2026-02-29")).toBe("");
    expect(formatChinaDate("")).toBe("");
    expect(formatChinaDate("yesterday")).toBe("");
  });
});

describe("formatExifTime", () => {
  it("shows a capture time with its offset as China time", () => {
    expect(formatExifTime("2022:08:14 14:12:31", "+08:00")).toEqual({ text: "2022年8月14日 14:12", zoned: true });
    expect(formatExifTime("2022:08:14 20:12:31", "+02:00")).toEqual({ text: "2022年8月15日 02:12", zoned: true });
  });

  it("shows the camera's clock as written when it recorded no zone", () => {
    expect(formatExifTime("2022:08:14 14:12:31", null)).toEqual({ text: "2022年8月14日 14:12", zoned: false });
    expect(formatExifTime("2022:08:14 14:12:31", "garbage")).toEqual({ text: "2022年8月14日 14:12", zoned: false });
  });

  it("gives null for no time or one that is not a time", () => {
    expect(formatExifTime(null, "+08:00")).toBeNull();
    expect(formatExifTime("0000:00:00 00:00:00", null)).toBeNull();
    expect(formatExifTime("yesterday", null)).toBeNull();
  });
});

describe("the form's date and time pickers hold China's wall clock", () => {
  afterEach(() => inZone("America/New_York"));

  it("an instant opens at China's date and time, and a pick is kept at +08:00, in every zone", () => {
    for (const zone of ZONES) {
      inZone(zone);
      // 06:30 UTC is 14:30 in China, whatever the tablet's own clock says.
      expect(chinaPickerParts("2026-03-05T06:30:59Z")).toEqual({ date: ["2026", "03", "05"], time: ["14", "30"] });
      expect(chinaPickerParts("2026-12-31T20:05:00-05:00")).toEqual({ date: ["2027", "01", "01"], time: ["09", "05"] });
      expect(fromChinaPicker(["2026", "03", "05"], ["14", "30"])).toBe("2026-03-05T14:30:00+08:00");
      const picked = fromChinaPicker(["2026", "11", "29"], ["23", "53"])!;
      expect(formatChinaTime(picked)).toBe("2026年11月29日 23:53");
      expect(chinaPickerParts(picked)).toEqual({ date: ["2026", "11", "29"], time: ["23", "53"] });
    }
  });

  it("refuses what is not a date and time", () => {
    expect(chinaPickerParts(null)).toBeNull();
    expect(chinaPickerParts("yesterday")).toBeNull();
    expect(fromChinaPicker(["2026", "02", "29"], ["10", "00"])).toBeNull();
    expect(fromChinaPicker(["2026", "13", "01"], ["10", "00"])).toBeNull();
    expect(fromChinaPicker(["2026", "03", "05"], ["24", "00"])).toBeNull();
  });
});
