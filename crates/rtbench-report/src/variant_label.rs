//! How a variant name reads and sorts: `c64` → "64 conns", and `c64` before `c256`.

/// A variant in words: `c64` → "64 conns", `k10000` → "10k idle conns", `s100` → "100
/// streams", `r10000` → "10k req/s"; other names are shown as they are. Thousands are written `k`, never with a comma
/// that small type turns into a European thousands point.
pub(crate) fn variant_label(variant: &str) -> String {
    let (prefix, rest) = variant.split_at(variant.len().min(1));
    let Ok(n) = rest.parse::<u64>() else {
        return variant.to_string();
    };
    let n = if n >= 1000 && n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    };
    match prefix {
        "c" => format!("{n} conns"),
        "k" => format!("{n} idle conns"),
        "s" => format!("{n} streams"),
        "r" => format!("{n} req/s"),
        _ => variant.to_string(),
    }
}

/// 10000 → "10,000".
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Sort key that orders `c64` before `c256` and `k1000` before `k10000`.
pub(crate) fn natural_key(s: &str) -> (String, u64, String) {
    let digits_at = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
    let (prefix, rest) = s.split_at(digits_at);
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let number = rest[..end].parse().unwrap_or(0);
    (prefix.to_string(), number, rest[end..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_sort_naturally() {
        let mut v = vec!["s10000", "s100", "s1000"];
        v.sort_by_key(|s| natural_key(s));
        assert_eq!(v, ["s100", "s1000", "s10000"]);
    }

    #[test]
    fn variants_in_words() {
        assert_eq!(variant_label("c64"), "64 conns");
        assert_eq!(variant_label("k10000"), "10k idle conns");
        assert_eq!(variant_label("s1500"), "1500 streams");
        assert_eq!(variant_label("s100"), "100 streams");
        assert_eq!(variant_label("r10000"), "10k req/s");
        assert_eq!(variant_label("warm"), "warm");
        assert_eq!(variant_label(""), "");
    }
}
