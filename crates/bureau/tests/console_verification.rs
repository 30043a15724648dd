//! Console black-box tests of the verification panel a lead's page shows: reused
//! and near-duplicate photos, bytes changed on the server's disk, photos not yet
//! received, and the photos' EXIF time and place against the record.

mod support;

use fieldlead_domain::LeadId;
use support::*;

/// The lead's page once its photos are analysed (up to 30 s).
async fn page_when_analysed(tb: &TestBureau, s: &Console, lead: LeadId) -> String {
    for _ in 0..300 {
        let page = tb.page(s, &format!("/leads/{lead}")).await;
        if !page.contains("分析中") {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("photo analysis did not finish");
}

fn sha_hex(bytes: &[u8]) -> String {
    fieldlead_domain::Sha256::digest(bytes).to_hex()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_panel_flags_reused_photos_tampering_and_missing_blobs() {
    let tb = TestBureau::start().await;
    let a = tb.enrol("yuzhong", 1).await;
    let b = tb.enrol("jiangbei", 2).await;
    let original = photo(4, 95);
    let first = seal(&a.key, &[original.clone(), photo(6, 90)]);
    tb.deliver(&a, &first).await;
    // The same bytes again in a second lead of the same district.
    let reused = seal(&a.key, std::slice::from_ref(&original));
    tb.deliver(&a, &reused).await;
    // The same scene re-encoded, in another district.
    let reencoded = seal(&b.key, &[photo(4, 50)]);
    tb.deliver(&b, &reencoded).await;

    // A near duplicate is found once the other photo is analysed too: wait for
    // every blob, not only this lead's.
    tb.wait_for_analysis().await;
    let s = tb.login("officer_a").await;
    let page = page_when_analysed(&tb, &s, reused.id()).await;
    assert!(
        page.contains("有效</span>（Ed25519 签名"),
        "signature status shown"
    );
    assert!(
        page.contains(&sha_hex(&original)),
        "every blob's hash shown"
    );
    assert!(page.contains("同一文件（SHA-256 相同）"));
    assert!(
        page.contains(&format!("/leads/{}", first.id())),
        "links the other lead"
    );
    assert!(
        page.contains("疑似同一画面"),
        "near duplicate by perceptual hash"
    );
    assert!(
        page.contains("其他区县线索"),
        "other district's lead named but not opened"
    );
    assert!(!page.contains(&format!("/leads/{}\"", reencoded.id())));
    assert!(page.contains("哈希一致"));
    assert!(page.contains("无拍摄时间（EXIF 与 XMP 均未记录）"));

    // The stored bytes changed on the server's disk. Viewing the lead does not
    // re-read every original (the check on arrival is recorded); re-verifying on
    // demand finds it and says so.
    let object = tb
        .object_path(&fieldlead_domain::Sha256::digest(&original))
        .expect("the data folder's blob store");
    let mut bytes = std::fs::read(&object).unwrap();
    bytes[200] ^= 0xff;
    std::fs::write(&object, bytes).unwrap();
    let lead_page = format!("/leads/{}", reused.id());
    let page = tb.page(&s, &lead_page).await;
    assert!(!page.contains("存储内容与哈希不符"));
    let r = tb
        .submit(&s, &format!("/leads/{}/reverify", reused.id()), &[])
        .await;
    assert_eq!(r.status(), 303);
    let page = tb.page(&s, &lead_page).await;
    assert!(page.contains("存储内容与哈希不符"));

    // A lead whose photos have not all arrived.
    let partial = seal(&a.key, &[photo(5, 90)]);
    tb.put_lead(&a, &partial).await;
    let page = tb.page(&s, &format!("/leads/{}", partial.id())).await;
    assert!(page.contains("尚未收到"));
    // The signature images are the same bytes as in the first lead, so held already.
    assert!(page.contains("缺 1 个文件"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_panel_compares_exif_time_and_gps_with_the_record() {
    let tb = TestBureau::start().await;
    let a = tb.enrol("yuzhong", 1).await;
    // The record: 2026-11-20 10:15 +08:00 at 29.5630 N, 106.5510 E.
    let on_site = with_exif(
        &photo(1, 90),
        &[
            "-DateTimeOriginal=2026:11:20 10:21:00",
            "-OffsetTimeOriginal=+08:00",
            "-GPSLatitude=29.5632",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=106.5511",
            "-GPSLongitudeRef=E",
            "-Make=HUAWEI",
        ],
    );
    let elsewhere = with_exif(
        &photo(2, 90),
        &[
            "-DateTimeOriginal=2026:11:18 09:00:00",
            "-GPSLatitude=30.5730",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=104.0660",
            "-GPSLongitudeRef=E",
        ],
    );
    // Time and place only in XMP, as some apps write them.
    let xmp_only = with_exif(
        &photo(3, 90),
        &[
            "-XMP-exif:DateTimeOriginal=2026:11:20 10:24:00+08:00",
            "-XMP-exif:GPSLatitude=29.5631",
            "-XMP-exif:GPSLatitudeRef=N",
            "-XMP-exif:GPSLongitude=106.5512",
            "-XMP-exif:GPSLongitudeRef=E",
        ],
    );
    let lead = seal(&a.key, &[on_site, elsewhere, xmp_only]);
    tb.deliver(&a, &lead).await;
    let s = tb.login("reviewer_a").await;
    let page = page_when_analysed(&tb, &s, lead.id()).await;
    // On site: 6 minutes after the start, about 20 m away; nothing flagged.
    assert!(page.contains("2026年11月20日 10:21"), "{page}");
    assert!(page.contains("与抽样开始相差 6 分钟"));
    // Elsewhere: two days earlier (no offset in the file: the record's is assumed),
    // about 270 km away; both flagged.
    assert!(page.contains("2026年11月18日 09:00"));
    assert!(page.contains("按记录时区推定"));
    assert!(page.contains("与抽样开始相差 -2955 分钟"));
    assert!(page.contains("超出允许范围"));
    assert!(page.contains("距离过远"));
    let metres: Vec<i64> = page
        .split("距申报地点 ")
        .skip(1)
        .map(|p| p.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(metres.len(), 3);
    assert!(metres.iter().any(|m| *m < 50), "{metres:?}");
    assert!(
        metres.iter().any(|m| (250_000..290_000).contains(m)),
        "{metres:?}"
    );
    // Each value says where it was read when that is not EXIF's usual place.
    assert!(page.contains("拍摄时间（来自EXIF 原始拍摄时间）：2026年11月20日 10:21"));
    assert!(
        page.contains("拍摄时间（来自XMP 原始拍摄时间）：2026年11月20日 10:24"),
        "{page}"
    );
    assert!(page.contains("拍摄位置（来自XMP）：距申报地点"));
    assert!(page.contains("与抽样开始相差 9 分钟"));
    // The manifest's EXIF claims match the bytes: no mismatch note.
    assert!(!page.contains("锁定记录所载拍摄时间"));
    assert!(page.contains("HUAWEI"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_exif_entry_costs_that_entry_and_the_reviewer_is_told() {
    let tb = TestBureau::start().await;
    let a = tb.enrol("yuzhong", 1).await;
    // A real file (Pillow's test data): its IFD0 points to the Exif IFD with a
    // value of the wrong type. exiftool warns and reads the rest; so must we.
    let root = std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo");
    let damaged = std::fs::read(
        std::path::Path::new(&root).join("../evidence/tests/corpus/pillow-exif_typeerror.jpg"),
    )
    .unwrap();
    let lead = seal(&a.key, &[damaged]);
    tb.deliver(&a, &lead).await;
    let s = tb.login("reviewer_a").await;
    let page = page_when_analysed(&tb, &s, lead.id()).await;
    assert!(
        page.contains("拍摄时间（来自XMP 原始拍摄时间）：2010年7月11日 19:53"),
        "{page}"
    );
    assert!(
        page.contains("元数据提示：EXIF 中有无法读取的条目，已跳过（目录指针类型或位置错误）"),
        "{page}"
    );
    // In the reviewer's words, not the EXIF library's.
    assert!(!page.contains("Invalid pointer"));
}
