// The visit's GPS point: the device's fix when it has one; otherwise typed by hand.
import { ref, watch, type Ref } from "vue";
import type { GeoPoint } from "../bindings/GeoPoint";
import { MAX_LAT_DEG, MAX_LON_DEG } from "../bindings/labels";

/**
 * Fills `point` (the draft's `place_gps`) from the device, or from the latitude and
 * longitude typed into `latText` / `lonText`, which always show the point as it is.
 */
export function useGps(point: Ref<GeoPoint | null>) {
  /** Waiting for the device's fix. */
  const locating = ref(false);
  /** The device has no position source, or gave no fix: the sampler types it. */
  const failed = ref(false);
  const latText = ref("");
  const lonText = ref("");

  watch(
    point,
    (p) => {
      latText.value = p ? (p.lat_e7 / 1e7).toFixed(7) : "";
      lonText.value = p ? (p.lon_e7 / 1e7).toFixed(7) : "";
    },
    { immediate: true },
  );

  /** Takes what was typed: both empty clears the point; anything not a position is ignored. */
  function manual() {
    const lat = Number(latText.value);
    const lon = Number(lonText.value);
    if (latText.value === "" && lonText.value === "") point.value = null;
    else if (Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= MAX_LAT_DEG && Math.abs(lon) <= MAX_LON_DEG)
      point.value = { lat_e7: Math.round(lat * 1e7), lon_e7: Math.round(lon * 1e7) };
  }

  function locate() {
    if (!("geolocation" in navigator)) {
      failed.value = true;
      return;
    }
    locating.value = true;
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        locating.value = false;
        point.value = {
          lat_e7: Math.round(pos.coords.latitude * 1e7),
          lon_e7: Math.round(pos.coords.longitude * 1e7),
        };
      },
      () => {
        locating.value = false;
        failed.value = true;
      },
      { enableHighAccuracy: true, timeout: 15000 },
    );
  }

  return { locating, failed, latText, lonText, manual, locate };
}
