//! The binary is linked with `functions/link-layout.ld`: the code no cold start runs (here the
//! check providers, the biggest part) sits in `.text.later`, apart from the start-up path.
#![cfg(target_os = "linux")]

use std::collections::BTreeMap;

/// Section name → size, from the ELF64 little-endian section headers.
fn sections(elf: &[u8]) -> BTreeMap<String, u64> {
    let u16_at = |at: usize| u64::from(u16::from_le_bytes(elf[at..at + 2].try_into().unwrap()));
    let u32_at = |at: usize| u64::from(u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()));
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap());
    assert_eq!(&elf[..6], b"\x7fELF\x02\x01", "an ELF64 little-endian binary");
    let (table, entry, count, names_index) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |i: u64| (table + i * entry) as usize;
    let names = u64_at(header(names_index) + 24) as usize;
    (0..count)
        .map(|i| {
            let name = names + u32_at(header(i)) as usize;
            let end = elf[name..].iter().position(|&b| b == 0).unwrap();
            (String::from_utf8_lossy(&elf[name..name + end]).into_owned(), u64_at(header(i) + 32))
        })
        .collect()
}

#[test]
fn the_code_no_start_runs_is_linked_apart_from_the_rest() {
    let elf = std::fs::read(env!("CARGO_BIN_EXE_process-step")).unwrap();
    let sections = sections(&elf);
    let (text, later) = (sections[".text"], sections.get(".text.later").copied().unwrap_or_default());
    let share = later as f64 / (text + later) as f64;
    assert!(share > 0.2, ".text.later holds {later} bytes against .text's {text}");
}
