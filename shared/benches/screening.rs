//! OFAC screening: loading the shipped list, and one query over every name and alias.
//! Run: `cargo bench -p shared --bench screening`.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use shared::checks::screening::{Screener, ScreeningQuery};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/ofac");

fn read(file: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}/{file}")).unwrap()
}

fn load(c: &mut Criterion) {
    let (sdn, alt, add) = (read("sdn.csv"), read("alt.csv"), read("add.csv"));
    let mut group = c.benchmark_group("screening");
    group.sample_size(20);
    // Loading happens once per process; freeing the list at exit is not part of it.
    group.bench_function("load_full_list", |b| {
        b.iter_with_large_drop(|| Screener::from_ofac(black_box(&sdn), black_box(&alt), black_box(&add)).unwrap())
    });
    group.finish();
}

fn query(c: &mut Criterion) {
    let screener = Screener::from_dir(DIR).unwrap();
    let dob = NaiveDate::from_ymd_opt(1951, 6, 19);
    let cases = [
        // "AL ZAWAHIRI, Dr. Ayman" (ent_num 2676), as written on a form.
        ("query_hit", ScreeningQuery::person("Ayman al-Zawahiri", dob)),
        ("query_miss", ScreeningQuery::person("Jane Smith", NaiveDate::from_ymd_opt(1990, 1, 31))),
        // "MADURO MOROS, Nicolas" (ent_num 22790), given name first.
        ("query_reordered_hit", ScreeningQuery::person("Nicolas Maduro Moros", None)),
        // The most common words of the list: the widest candidate set.
        ("query_common_words", ScreeningQuery::person("Muhammad Ali", None)),
        (
            "query_entities_too",
            ScreeningQuery { individuals_only: false, ..ScreeningQuery::person("Banco Nacional de Cuba", None) },
        ),
    ];
    let mut group = c.benchmark_group("screening");
    for (name, q) in cases {
        group.bench_function(name, |b| b.iter(|| screener.screen(black_box(&q))));
    }
    group.finish();
}

criterion_group!(benches, load, query);
criterion_main!(benches);
