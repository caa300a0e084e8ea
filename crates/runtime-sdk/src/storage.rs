//! Storage layout: each module's keys live under its name, so modules cannot collide.

/// The state key `module ‖ 0x00 ‖ parts…`.
pub fn module_key(module: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut key =
        Vec::with_capacity(module.len() + 1 + parts.iter().map(|p| p.len()).sum::<usize>());
    key.extend_from_slice(module.as_bytes());
    key.push(0);
    for part in parts {
        key.extend_from_slice(part);
    }
    key
}
