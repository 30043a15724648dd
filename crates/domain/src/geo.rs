//! Coordinates as integers (degrees x 1e7) so canonical JSON of a record is stable.

use serde::{Deserialize, Serialize};

/// A WGS-84 point in integer 1e-7 degrees (about 1 cm resolution).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawPoint")]
pub struct GeoPoint {
    lat_e7: i32,
    lon_e7: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeoError {
    #[error("纬度超出范围（-90 到 90 度）")]
    Latitude,
    #[error("经度超出范围（-180 到 180 度）")]
    Longitude,
}

/// The wire form, checked by [`GeoPoint::new`] on the way in: a point from a file
/// or the network is as valid as one built in code.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    lat_e7: i32,
    lon_e7: i32,
}

impl TryFrom<RawPoint> for GeoPoint {
    type Error = GeoError;
    fn try_from(r: RawPoint) -> Result<Self, GeoError> {
        GeoPoint::new(r.lat_e7, r.lon_e7)
    }
}

/// The largest latitude and longitude, in degrees either way.
pub const MAX_LAT_DEG: i32 = 90;
pub const MAX_LON_DEG: i32 = 180;

impl GeoPoint {
    pub fn new(lat_e7: i32, lon_e7: i32) -> Result<Self, GeoError> {
        let lat_max = MAX_LAT_DEG * 10_000_000;
        if !(-lat_max..=lat_max).contains(&lat_e7) {
            return Err(GeoError::Latitude);
        }
        // 180e7 still fits an i32 (2^31 is about 214.7e7).
        let lon_max = MAX_LON_DEG * 10_000_000;
        if !(-lon_max..=lon_max).contains(&lon_e7) {
            return Err(GeoError::Longitude);
        }
        Ok(GeoPoint { lat_e7, lon_e7 })
    }

    /// From degrees, rounding to the nearest 1e-7 degree.
    pub fn from_degrees(lat: f64, lon: f64) -> Result<Self, GeoError> {
        if !lat.is_finite() || lat.abs() > f64::from(MAX_LAT_DEG) {
            return Err(GeoError::Latitude);
        }
        if !lon.is_finite() || lon.abs() > f64::from(MAX_LON_DEG) {
            return Err(GeoError::Longitude);
        }
        GeoPoint::new((lat * 1e7).round() as i32, (lon * 1e7).round() as i32)
    }

    /// Latitude in 1e-7 degrees.
    pub fn lat_e7(&self) -> i32 {
        self.lat_e7
    }
    /// Longitude in 1e-7 degrees.
    pub fn lon_e7(&self) -> i32 {
        self.lon_e7
    }

    pub fn lat(&self) -> f64 {
        self.lat_e7 as f64 / 1e7
    }
    pub fn lon(&self) -> f64 {
        self.lon_e7 as f64 / 1e7
    }

    /// `北纬 29.563012°，东经 106.551634°`, as forms and screens show a point; six
    /// decimals are about 10 cm.
    pub fn label_zh(&self) -> String {
        let (lat, lon) = (self.lat(), self.lon());
        format!(
            "{} {:.6}°，{} {:.6}°",
            if lat >= 0.0 { "北纬" } else { "南纬" },
            lat.abs(),
            if lon >= 0.0 { "东经" } else { "西经" },
            lon.abs()
        )
    }

    /// Great-circle distance in metres (haversine), for "photo taken how far from the site".
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        const R: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat().to_radians(), other.lat().to_radians());
        let dp = p2 - p1;
        let dl = (other.lon() - self.lon()).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().asin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range() {
        assert_eq!(GeoPoint::new(900_000_001, 0), Err(GeoError::Latitude));
        assert_eq!(GeoPoint::new(0, -1_800_000_001), Err(GeoError::Longitude));
        assert!(GeoPoint::from_degrees(f64::NAN, 0.0).is_err());
    }

    #[test]
    fn distance_chongqing_to_chengdu_is_about_270_km() {
        let cq = GeoPoint::from_degrees(29.563, 106.551).unwrap();
        let cd = GeoPoint::from_degrees(30.573, 104.066).unwrap();
        let d = cq.distance_m(&cd);
        assert!((260_000.0..280_000.0).contains(&d), "{d}");
    }
}
