import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { effectScope, nextTick, ref, type EffectScope } from "vue";
import type { GeoPoint } from "../bindings/GeoPoint";
import { useGps } from "./useGps";

type Success = (pos: GeolocationPosition) => void;
type Failure = (err: GeolocationPositionError) => void;

/** A device position source that answers when the test says so. */
function fakeGeolocation() {
  const calls: { ok: Success; fail: Failure; options?: PositionOptions }[] = [];
  const geolocation = {
    getCurrentPosition: vi.fn((ok: Success, fail: Failure, options?: PositionOptions) => {
      calls.push({ ok, fail, options });
    }),
  };
  Object.defineProperty(navigator, "geolocation", { value: geolocation, configurable: true });
  return {
    calls,
    fix(latitude: number, longitude: number) {
      calls[calls.length - 1].ok({ coords: { latitude, longitude } } as GeolocationPosition);
    },
    deny() {
      calls[calls.length - 1].fail({ code: 1, message: "denied" } as GeolocationPositionError);
    },
  };
}

describe("useGps", () => {
  let scope: EffectScope;
  beforeEach(() => {
    scope = effectScope();
  });
  afterEach(() => {
    scope.stop();
    delete (navigator as { geolocation?: unknown }).geolocation;
  });

  function gps(start: GeoPoint | null = null) {
    const point = ref<GeoPoint | null>(start);
    const g = scope.run(() => useGps(point))!;
    return { point, ...g };
  }

  it("shows the point it starts with, and follows it", async () => {
    const { point, latText, lonText } = gps({ lat_e7: 295630000, lon_e7: 1065510000 });
    expect([latText.value, lonText.value]).toEqual(["29.5630000", "106.5510000"]);
    point.value = null;
    await nextTick();
    expect([latText.value, lonText.value]).toEqual(["", ""]);
  });

  it("is locating until the device's fix, then holds it in 1e-7 degrees", async () => {
    const geo = fakeGeolocation();
    const { point, locating, failed, latText, locate } = gps();
    locate();
    expect(locating.value).toBe(true);
    expect(point.value).toBeNull();
    expect(geo.calls[0].options).toEqual({ enableHighAccuracy: true, timeout: 15000 });
    geo.fix(29.56300004, 106.55100006);
    expect(locating.value).toBe(false);
    expect(failed.value).toBe(false);
    expect(point.value).toEqual({ lat_e7: 295630000, lon_e7: 1065510001 });
    await nextTick();
    expect(latText.value).toBe("29.5630000");
  });

  it("fails, keeping the point, when the device gives no fix", () => {
    const geo = fakeGeolocation();
    const before = { lat_e7: 1, lon_e7: 2 };
    const { point, locating, failed, locate } = gps(before);
    locate();
    geo.deny();
    expect(locating.value).toBe(false);
    expect(failed.value).toBe(true);
    expect(point.value).toEqual(before);
  });

  it("fails at once, without locating, on a device with no position source", () => {
    expect("geolocation" in navigator).toBe(false);
    const { locating, failed, locate } = gps();
    locate();
    expect(failed.value).toBe(true);
    expect(locating.value).toBe(false);
  });

  it("takes a typed position, and clears it when both are emptied", () => {
    const { point, latText, lonText, manual } = gps();
    latText.value = "29.563";
    lonText.value = "106.551";
    manual();
    expect(point.value).toEqual({ lat_e7: 295630000, lon_e7: 1065510000 });
    latText.value = "";
    lonText.value = "";
    manual();
    expect(point.value).toBeNull();
  });

  it("ignores what is not a position: out of range, not a number", () => {
    const start = { lat_e7: 295630000, lon_e7: 1065510000 };
    const { point, latText, lonText, manual } = gps(start);
    for (const [lat, lon] of [
      ["91", "106"],
      ["29", "-180.5"],
      ["abc", "106"],
    ]) {
      latText.value = lat;
      lonText.value = lon;
      manual();
      expect(point.value).toEqual(start);
    }
  });
});
