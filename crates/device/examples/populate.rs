//! Fills a tablet data folder with N draft records, for the cold-start and list
//! benchmarks: `cargo run --release -p fieldlead-device --example populate -- DIR N`.

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next()) else {
        eprintln!("usage: populate DIR N");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N must be a number");
    let mut dev = fieldlead_device::Device::open(std::path::Path::new(&dir))
        .unwrap_or_else(|e| panic!("cannot open {dir}: {e}"));
    for i in 0..n {
        let mut d = fieldlead_domain::sample::terminated_draft();
        d.business_name = format!("重庆某某电器经营部{i}号店");
        dev.create_record(d).expect("create record");
    }
    println!("{n} records in {dir}");
}
