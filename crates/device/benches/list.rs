//! The records list with 10,000 records on the tablet: opening it (the newest 200,
//! as the list screen asks) and filtering it by text and by state, each including
//! the JSON encoding the IPC layer does. Run: `cargo bench -p fieldlead-device --bench list`.

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use fieldlead_device::{Device, ListQuery};
use fieldlead_domain::LeadState;

const RECORDS: usize = 10_000;
const SHOPS: [&str; 10] = [
    "重庆某某电器经营部",
    "渝中区百货商店",
    "江北区五金建材店",
    "南岸区儿童用品店",
    "沙坪坝区家居广场",
    "九龙坡区灯饰城",
    "大渡口区服装店",
    "北碚区电动车行",
    "渝北区文具批发部",
    "巴南区日用品超市",
];
const PRODUCTS: [&str; 8] = [
    "移动式插座",
    "电热水壶",
    "儿童玩具",
    "电线电缆",
    "LED 灯具",
    "电动自行车头盔",
    "学生用品",
    "燃气灶具",
];

fn tablet(dir: &std::path::Path) -> Device {
    let mut dev = Device::open(dir).unwrap();
    let started = Instant::now();
    for i in 0..RECORDS {
        let mut d = fieldlead_domain::sample::terminated_draft();
        d.business_name = format!("{}{}号店", SHOPS[i % SHOPS.len()], i / SHOPS.len());
        d.product_name = PRODUCTS[i % PRODUCTS.len()].to_string();
        d.task_number = format!("CQ-2026-{i:05}");
        dev.create_record(d).unwrap();
    }
    eprintln!(
        "created {RECORDS} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    dev
}

fn list(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let dev = tablet(dir.path());
    let run = |q: &ListQuery| {
        let rows = dev.list(q).unwrap();
        serde_json::to_vec(&rows).unwrap().len()
    };
    let open = ListQuery {
        text: String::new(),
        state: None,
        limit: Some(200),
    };
    let by_text = ListQuery {
        text: "灯饰城".into(),
        ..open.clone()
    };
    let rare = ListQuery {
        text: "灯饰城999号店".into(),
        ..open.clone()
    };
    let by_state = ListQuery {
        state: Some(LeadState::Draft),
        ..open.clone()
    };
    let none = ListQuery {
        text: "不存在的单位".into(),
        ..open.clone()
    };
    assert_eq!(dev.list(&open).unwrap().len(), 200);
    assert_eq!(dev.list(&by_text).unwrap().len(), 200);
    assert!(dev.list(&none).unwrap().is_empty());
    assert_eq!(dev.list(&rare).unwrap().len(), 1);

    let mut g = c.benchmark_group("records_list_10k");
    g.bench_function("open (newest 200)", |b| b.iter(|| run(&open)));
    g.bench_function("filter by text (many hits)", |b| b.iter(|| run(&by_text)));
    g.bench_function("filter by name (one hit)", |b| b.iter(|| run(&rare)));
    g.bench_function("filter by text (no hit)", |b| b.iter(|| run(&none)));
    g.bench_function("filter by state", |b| b.iter(|| run(&by_state)));
    g.finish();
}

criterion_group!(benches, list);
criterion_main!(benches);
