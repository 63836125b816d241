//! One colour per target across every chart and table.

/// An RGB colour.
pub(crate) type Rgb = (u8, u8, u8);

/// One colour per runtime across every chart (Okabe–Ito, readable with colour-blindness).
pub(crate) const TARGET_COLOURS: [(&str, Rgb); 10] = [
    ("axum", (0xD5, 0x5E, 0x00)),
    ("go-nethttp", (0x56, 0xB4, 0xE9)),
    ("bun", (0xCC, 0x79, 0xA7)),
    ("node-uws", (0x00, 0x9E, 0x73)),
    ("node-http", (0x00, 0x72, 0xB2)),
    ("fastapi", (0xE6, 0x9F, 0x00)),
    ("node-cluster", (0x33, 0x22, 0x88)),
    ("deno", (0x22, 0x22, 0x22)),
    ("workerd", (0x88, 0x22, 0x55)),
    ("hono-bun", (0x99, 0x99, 0x33)),
];
/// For targets beyond the ten reference servers, in order of appearance.
pub(crate) const SPARE_COLOURS: [Rgb; 3] =
    [(0x44, 0xAA, 0x99), (0x55, 0x55, 0x55), (0xAA, 0x44, 0x99)];
